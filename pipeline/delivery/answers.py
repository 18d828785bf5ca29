"""The JSON the delivery API answers with: decisions as the page needs them.

Every requested slot is present: a decision, or ``null`` when there is nothing
to show — an unknown visitor gets every slot ``null``, never an error.

>>> d = {"decision_id": "d1", "visitor_id": "v1", "session_id": "s1", "action_id": "a",
...      "slot": "hero", "payload": {"headline": "Hi"}, "propensity": 0.5, "policy": "p",
...      "policy_version": "1", "model_version": "m", "experiment_arm": "personalized",
...      "ttl_ms": 100, "trigger_event_id": "e", "created_at": 1000}
>>> decisions_answer("v1", {"hero": d}, ["hero", "overlay"], now_ms=1050)["decisions"]["overlay"]
>>> decisions_answer("v9", {}, ["hero"], now_ms=0)
{'visitor_id': 'v9', 'decisions': {'hero': None}, 'served_at': 0}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.delivery.errors import BadRequest
from pipeline.delivery.store import expires_at

__all__ = ["MAX_ID_CHARS", "MAX_SLOTS", "decision_view", "decisions_answer", "parse_slots",
           "parse_visitor"]

#: Longest visitor id accepted (matches the meaning checks of the contracts).
MAX_ID_CHARS = 256
#: Most slots one request may ask for.
MAX_SLOTS = 16


def decision_view(decision: Mapping[str, Any]) -> dict[str, Any]:
    """What the page gets for one decision (no model internals beyond the ids).

    >>> decision_view({"decision_id": "d", "action_id": "a", "slot": "hero", "payload": {},
    ...                "created_at": 5, "ttl_ms": 5, "policy": "p"})["expires_at"]
    10
    """
    return {
        "decision_id": decision["decision_id"],
        "action_id": decision["action_id"],
        "slot": decision["slot"],
        "payload": dict(decision.get("payload") or {}),
        "expires_at": expires_at(decision),
        "policy": decision.get("policy"),
    }


def decisions_answer(visitor_id: str, held: Mapping[str, Mapping[str, Any]],
                     slots: Sequence[str] | None, now_ms: int) -> dict[str, Any]:
    """The body of ``GET /v1/decisions``: requested slots (or all held) -> decision or None.

    >>> decisions_answer("v1", {}, None, now_ms=5)
    {'visitor_id': 'v1', 'decisions': {}, 'served_at': 5}
    """
    wanted = list(slots) if slots is not None else sorted(held)
    return {
        "visitor_id": visitor_id,
        "decisions": {s: decision_view(held[s]) if s in held else None for s in wanted},
        "served_at": now_ms,
    }


def parse_visitor(value: str | None) -> str:
    """The ``visitor`` query parameter, checked.

    >>> parse_visitor(" v1 ")
    'v1'
    >>> parse_visitor("")
    Traceback (most recent call last):
    ...
    pipeline.delivery.errors.BadRequest: query parameter 'visitor' is missing or empty
    """
    visitor = (value or "").strip()
    if not visitor:
        raise BadRequest("query parameter 'visitor' is missing or empty")
    if len(visitor) > MAX_ID_CHARS:
        raise BadRequest(f"query parameter 'visitor' is longer than {MAX_ID_CHARS} characters")
    return visitor


def parse_slots(value: str | None) -> list[str] | None:
    """The ``slots`` query parameter (comma-separated), or None for every held slot.

    >>> parse_slots("hero, overlay,hero"), parse_slots(None)
    (['hero', 'overlay'], None)
    """
    if value is None or not value.strip():
        return None
    slots = list(dict.fromkeys(s.strip() for s in value.split(",") if s.strip()))
    if len(slots) > MAX_SLOTS:
        raise BadRequest(f"at most {MAX_SLOTS} slots per request (got {len(slots)})")
    for slot in slots:
        if len(slot) > 64 or not slot.replace("_", "").replace("-", "").isalnum():
            raise BadRequest(f"slot {slot[:64]!r} is not a slot name (letters, digits, _ and -)")
    return slots
