"""Meaning checks after the schema: what Avro cannot say about a record.

A record that decodes but makes no sense (no visitor id, an event time far in
the future, a negative value, a click without coordinates) raises
:class:`~pipeline.serde.errors.InvalidEvent` with the reason.

>>> check_meaning("Outcome", {"decision_id": "d", "visitor_id": "v", "value": -1.0,
...     "event_time": 1_700_000_000_000}, now_ms=1_700_000_000_000)
Traceback (most recent call last):
...
pipeline.serde.errors.InvalidEvent: Outcome.value must not be negative (got -1.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.serde.errors import InvalidEvent

__all__ = ["MeaningRules", "check_meaning"]

#: Which optional sub-record each ClickEvent type must carry.
_PAYLOAD_OF = {
    "click": "click",
    "scroll": "scroll",
    "mouse_move": "mouse",
    "search": "search",
    "add_to_cart": "cart",
    "purchase": "purchase",
    "form_error": "form",
    "form_submit": "form",
    "custom": "custom",
}

#: Event times before 2001-09-09 are seconds or garbage, not milliseconds.
_MIN_EVENT_TIME_MS = 1_000_000_000_000


@dataclass(frozen=True)
class MeaningRules:
    """Bounds for :func:`check_meaning`.

    >>> MeaningRules().max_future_skew_ms
    300000
    """

    #: How far past ``now`` an event time may be (clock skew between browser and server).
    max_future_skew_ms: int = 5 * 60 * 1000
    max_id_length: int = 256


def _require_id(name: str, record: dict[str, Any], key: str, rules: MeaningRules) -> None:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent(f"{name}.{key} is missing or empty")
    if len(value) > rules.max_id_length:
        raise InvalidEvent(f"{name}.{key} is longer than {rules.max_id_length} characters")


def _require_time(name: str, record: dict[str, Any], key: str, now_ms: int,
                  rules: MeaningRules) -> None:
    value = record.get(key)
    if not isinstance(value, int) or value < _MIN_EVENT_TIME_MS:
        raise InvalidEvent(f"{name}.{key} must be epoch milliseconds (got {value!r})")
    if value > now_ms + rules.max_future_skew_ms:
        ahead = (value - now_ms) / 1000
        raise InvalidEvent(f"{name}.{key} is {ahead:.0f} s in the future")


def _non_negative(name: str, key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidEvent(f"{name}.{key} must be a finite number (got {value!r})")
    if value < 0:
        raise InvalidEvent(f"{name}.{key} must not be negative (got {value!r})")


def _click_event(r: dict[str, Any], now_ms: int, rules: MeaningRules) -> None:
    for key in ("event_id", "visitor_id"):
        _require_id("ClickEvent", r, key, rules)
    _require_time("ClickEvent", r, "event_time", now_ms, rules)
    if not (r.get("page") or {}).get("url"):
        raise InvalidEvent("ClickEvent.page.url is missing or empty")
    kind = r.get("event_type")
    part = _PAYLOAD_OF.get(str(kind))
    if part is not None and r.get(part) is None:
        raise InvalidEvent(f"ClickEvent of type {kind} must carry its '{part}' record")
    click = r.get("click")
    if click is not None:
        _non_negative("ClickEvent", "click.x", click["x"])
        _non_negative("ClickEvent", "click.y", click["y"])
    scroll = r.get("scroll")
    if scroll is not None:
        depth = scroll["depth_pct"]
        if not (isinstance(depth, int | float) and 0 <= depth <= 100):
            raise InvalidEvent(f"ClickEvent.scroll.depth_pct must be within 0..100 (got {depth})")
    cart = r.get("cart")
    if cart is not None:
        _non_negative("ClickEvent", "cart.value", cart["value"])
        _non_negative("ClickEvent", "cart.quantity", cart["quantity"])
    purchase = r.get("purchase")
    if purchase is not None:
        _non_negative("ClickEvent", "purchase.value", purchase["value"])
    search = r.get("search")
    if search is not None:
        _non_negative("ClickEvent", "search.results", search["results"])


def _profile_update(r: dict[str, Any], now_ms: int, rules: MeaningRules) -> None:
    _require_id("ProfileUpdate", r, "update_id", rules)
    _require_id("ProfileUpdate", r, "visitor_id", rules)
    _require_time("ProfileUpdate", r, "event_time", now_ms, rules)
    if r.get("kind") in ("identify", "claim") and not r.get("user_id"):
        raise InvalidEvent(f"ProfileUpdate of kind {r['kind']} must carry a user_id")
    if r.get("kind") == "consent" and r.get("consent") is None:
        raise InvalidEvent("ProfileUpdate of kind consent must carry a consent record")


def _outcome(r: dict[str, Any], now_ms: int, rules: MeaningRules) -> None:
    _require_id("Outcome", r, "decision_id", rules)
    _require_id("Outcome", r, "visitor_id", rules)
    _non_negative("Outcome", "value", r.get("value"))
    _require_time("Outcome", r, "event_time", now_ms, rules)


def _decision(r: dict[str, Any], now_ms: int, rules: MeaningRules) -> None:
    for key in ("decision_id", "visitor_id", "action_id"):
        _require_id("Decision", r, key, rules)
    p = r.get("propensity")
    if not isinstance(p, float | int) or not 0 < p <= 1:
        raise InvalidEvent(f"Decision.propensity must be within (0, 1] (got {p!r})")
    _non_negative("Decision", "ttl_ms", r.get("ttl_ms"))


def _decision_log(r: dict[str, Any], now_ms: int, rules: MeaningRules) -> None:
    _decision(r.get("decision") or {}, now_ms, rules)


def _signal(r: dict[str, Any], now_ms: int, rules: MeaningRules) -> None:
    for key in ("signal_id", "visitor_id", "rule"):
        _require_id("StruggleSignal", r, key, rules)


def _answer(r: dict[str, Any], now_ms: int, rules: MeaningRules) -> None:
    for key in ("visitor_id", "trigger_event_id"):
        _require_id("Answer", r, key, rules)


_CHECKS: dict[str, Callable[[dict[str, Any], int, MeaningRules], None]] = {
    "Answer": _answer,
    "ClickEvent": _click_event,
    "ProfileUpdate": _profile_update,
    "Outcome": _outcome,
    "Decision": _decision,
    "DecisionLog": _decision_log,
    "StruggleSignal": _signal,
}


def check_meaning(name: str, record: dict[str, Any], now_ms: int,
                  rules: MeaningRules | None = None) -> None:
    """Raise :class:`InvalidEvent` if ``record`` (of schema ``name``) makes no sense.

    >>> check_meaning("StruggleSignal", {"signal_id": "s", "visitor_id": "v",
    ...     "rule": "rage_click"}, now_ms=0)
    """
    check = _CHECKS.get(name)
    if check is not None:
        check(record, now_ms, rules or MeaningRules())
