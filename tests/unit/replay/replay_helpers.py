"""Shared builders for the replay tests: schema validation, records, rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastavro
from fastavro.validation import validate

from pipeline.replay.join import JoinedRow

REPO = Path(__file__).resolve().parents[3]
SCHEMA_DIR = REPO / "schemas"


def _parse(names: list[str]) -> Any:
    named: dict[str, Any] = {}
    parsed: Any = None
    for name in names:
        parsed = fastavro.parse_schema(
            json.loads((SCHEMA_DIR / f"{name}.avsc").read_text()), named_schemas=named
        )
    return parsed


DECISION_LOG_SCHEMA = _parse(["Decision", "DecisionLog"])
OUTCOME_SCHEMA = _parse(["Outcome"])


def assert_valid_log(record: dict[str, Any]) -> None:
    """Raise unless ``record`` is a valid rtp.DecisionLog."""
    assert validate(record, DECISION_LOG_SCHEMA, raise_errors=True)


def assert_valid_outcome(record: dict[str, Any]) -> None:
    """Raise unless ``record`` is a valid rtp.Outcome."""
    assert validate(record, OUTCOME_SCHEMA, raise_errors=True)


def decision_log(
    decision_id: str = "d1",
    action_id: str = "banner",
    propensity: Any = 0.5,
    eligible: list[tuple[str, float]] | None = None,
    arm: str = "personalized",
    served: bool = True,
    visitor_id: str = "v1",
    created_at: int = 1_700_000_000_000,
    categorical: dict[str, str] | None = None,
    intent_class: str = "browsing",
    control_share: float = 0.1,
) -> dict[str, Any]:
    """A valid rtp.DecisionLog dict (when ``propensity`` is a float)."""
    pairs = eligible if eligible is not None else [("banner", 0.5), ("none", 0.5)]
    return {
        "decision": {
            "decision_id": decision_id,
            "visitor_id": visitor_id,
            "session_id": f"{visitor_id}-s",
            "action_id": action_id,
            "slot": "hero",
            "payload": {},
            "propensity": propensity,
            "policy": "test",
            "policy_version": "1",
            "model_version": "1",
            "experiment_arm": arm,
            "ttl_ms": 1000,
            "trigger_event_id": f"e-{decision_id}",
            "created_at": created_at,
            "reason": "",
            "channel": "web",
        },
        "numeric_features": {"pages_seen": 1.0},
        "categorical_features": categorical if categorical is not None else {"device": "mobile"},
        "eligible": [{"action_id": a, "probability": p, "score": 0.0} for a, p in pairs],
        "guardrails_fired": [],
        "intent_probability": 0.2,
        "intent_class": intent_class,
        "served": served,
        "control_share": control_share,
        "model_version": 0,
        "config_version": 0,
        "experiment_unit": "",
    }


def outcome(
    decision_id: str = "d1", kind: str = "clicked", value: float = 0.0, visitor_id: str = "v1",
    outcome_id: str | None = None,
) -> dict[str, Any]:
    """A valid rtp.Outcome dict."""
    return {
        "outcome_id": outcome_id or f"{decision_id}:{kind}",
        "decision_id": decision_id,
        "visitor_id": visitor_id,
        "kind": kind,
        "value": value,
        "event_time": 1_700_000_001_000,
        "reported_by": "server",
    }


def row(
    decision_id: str = "d1",
    action_id: str = "a",
    propensity: float | None = 0.5,
    eligible: dict[str, float] | None = None,
    reward: float = 0.0,
    served: bool = True,
    **extra: Any,
) -> JoinedRow:
    """A JoinedRow with defaults for the fields a test does not care about."""
    return JoinedRow(
        decision_id=decision_id,
        visitor_id=extra.pop("visitor_id", "v1"),
        session_id="s1",
        created_at=extra.pop("created_at", 0),
        action_id=action_id,
        propensity=propensity,
        eligible=eligible if eligible is not None else {"a": 0.5, "b": 0.5},
        reward=reward,
        served=served,
        **extra,
    )
