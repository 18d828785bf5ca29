"""Outcome records (dicts shaped like ``schemas/Outcome.avsc``) the simulated visitors produce.

>>> outcome("d1", "v1", "clicked", 1_700_000_000_000)["outcome_id"]
'd1:clicked'
"""

from __future__ import annotations

from typing import Any

__all__ = ["OUTCOME_KINDS", "outcome"]

OUTCOME_KINDS: tuple[str, ...] = ("shown", "clicked", "dismissed", "converted", "ignored")
"""Outcome.kind values."""


def outcome(decision_id: str, visitor_id: str, kind: str, event_time: int,
            value: float = 0.0) -> dict[str, Any]:
    """An Outcome; its id is deterministic (``{decision_id}:{kind}``), one per kind and decision.

    >>> outcome("d1", "v1", "converted", 1_700_000_000_000, 349)["value"]
    349.0
    >>> outcome("d1", "v1", "bored", 1)
    Traceback (most recent call last):
    ...
    ValueError: unknown outcome kind 'bored'; known: shown, clicked, dismissed, converted, ignored
    """
    if kind not in OUTCOME_KINDS:
        raise ValueError(f"unknown outcome kind {kind!r}; known: {', '.join(OUTCOME_KINDS)}")
    return {"outcome_id": f"{decision_id}:{kind}", "decision_id": decision_id,
            "visitor_id": visitor_id, "kind": kind, "value": float(value),
            "event_time": int(event_time)}
