"""Decision records for delivery tests (valid against the Decision schema and its meaning)."""

from __future__ import annotations

from typing import Any

NOW_MS = 1_800_000_000_000


def decision(visitor_id: str = "v1", slot: str = "hero", *, decision_id: str | None = None,
             created_at: int = NOW_MS, ttl_ms: int = 20 * 60 * 1000,
             action_id: str = "free_express_shipping", arm: str = "personalized",
             payload: dict[str, str] | None = None) -> dict[str, Any]:
    """A Decision for ``visitor_id``'s ``slot`` (the free express shipping banner by default)."""
    return {
        "decision_id": decision_id or f"dec-{visitor_id}-{slot}-{created_at}",
        "visitor_id": visitor_id,
        "session_id": f"s-{visitor_id}",
        "action_id": action_id,
        "slot": slot,
        "payload": payload if payload is not None else {
            "variant": "banner", "headline": "Free express shipping for the next 20 minutes",
            "expires_at_ms": str(created_at + ttl_ms)},
        "propensity": 0.8,
        "policy": "linucb",
        "policy_version": "1",
        "model_version": "m1",
        "experiment_arm": arm,
        "ttl_ms": ttl_ms,
        "trigger_event_id": f"e-{visitor_id}",
        "created_at": created_at,
    }
