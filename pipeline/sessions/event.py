"""The ClickEvent fields the sessionizer reads, extracted (and checked) once per event.

>>> ev = read_session_event({"event_id": "e1", "event_type": "page_view", "visitor_id": "v1",
...     "event_time": 1_700_000_000_000, "page": {"url": "/", "page_type": "home"},
...     "context": {"traffic_source": "ads", "device": "mobile", "timezone": "Europe/Paris",
...                 "sector": "travel"}})
>>> ev.page_type, ev.traffic_source, ev.timezone, ev.country
('home', 'ads', 'Europe/Paris', None)
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from pipeline.sessions.errors import InvalidSessionEventError
from pipeline.sessions.pages import normalize_page_type

__all__ = ["SessionEvent", "event_fingerprint", "read_session_event"]


class SessionEvent(NamedTuple):
    """One ClickEvent as the sessionizer sees it.

    >>> SessionEvent("e", "click", "v", None, 0, "home").sector
    'ecommerce'
    """

    event_id: str
    event_type: str
    visitor_id: str
    user_id: str | None
    time: int
    page_type: str
    category: str | None = None
    product_id: str | None = None
    traffic_source: str = "direct"
    device: str = "desktop"
    country: str | None = None
    timezone: str | None = None
    sector: str = "ecommerce"
    industry: str | None = None
    scroll_pct: float | None = None
    cart_value: float | None = None
    purchase_value: float | None = None
    purchase_kind: str | None = None
    custom_name: str | None = None


_new_event = SessionEvent._make


def event_fingerprint(event_id: str) -> int:
    """48-bit BLAKE2b of an event id, remembered to drop redelivered duplicates.

    >>> event_fingerprint("e1") == event_fingerprint("e1") < 2 ** 48
    True
    """
    return int.from_bytes(hashlib.blake2b(event_id.encode("utf-8", "surrogatepass"),
                                          digest_size=6).digest(), "big")


def _str(value: Any, default: str | None = None) -> str | None:
    return value[:128] if isinstance(value, str) and value else default


def _num(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


#: Returned for an absent sub-record; only ever read.
_NONE: Mapping[str, Any] = {}


def _record(event: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = event.get(name)
    # Decoded events hold dicts or None: both are answered before the (slow) ABC check.
    if value is None:
        return _NONE
    if type(value) is dict or isinstance(value, Mapping):
        return value
    return _NONE


def read_session_event(event: Mapping[str, Any]) -> SessionEvent:
    """Extract a :class:`SessionEvent`; :class:`InvalidSessionEventError` if unusable.

    Absent optional sub-records are simply not used; strings are cut to 128 chars.

    >>> read_session_event({"event_id": "e1", "event_type": "click", "visitor_id": "v1",
    ...                     "event_time": "yesterday", "page": {"url": "/"}})
    Traceback (most recent call last):
    ...
    pipeline.sessions.errors.InvalidSessionEventError: ClickEvent.event_time must be epoch \
milliseconds, got 'yesterday'
    """
    if type(event) is not dict and not isinstance(event, Mapping):  # dict: skip the ABC check
        raise InvalidSessionEventError(f"ClickEvent must be a dict, got {type(event).__name__}")
    for key in ("event_id", "event_type", "visitor_id"):
        value = event.get(key)
        if not isinstance(value, str) or not value:
            raise InvalidSessionEventError(f"ClickEvent.{key} is missing or empty")
    time = event.get("event_time")
    if not isinstance(time, int) or isinstance(time, bool):
        raise InvalidSessionEventError(
            f"ClickEvent.event_time must be epoch milliseconds, got {time!r}"
        )
    page = event.get("page")
    if (type(page) is not dict and not isinstance(page, Mapping)) or not isinstance(
            page.get("url"), str):
        raise InvalidSessionEventError("ClickEvent.page.url is missing")
    context = _record(event, "context")
    scroll = _record(event, "scroll")
    cart = _record(event, "cart")
    purchase = _record(event, "purchase")
    custom = _record(event, "custom")
    user_id = event.get("user_id")
    depth = _num(scroll.get("depth_pct"))
    # Positional, in field order (binding 19 keywords costs more than the rest of the tuple).
    return _new_event((
        event["event_id"],  # event_id
        event["event_type"],  # event_type
        event["visitor_id"],  # visitor_id
        user_id if isinstance(user_id, str) and user_id else None,  # user_id
        time,  # time
        normalize_page_type(page.get("page_type")),  # page_type
        _str(page.get("category")),  # category
        _str(page.get("product_id")),  # product_id
        _str(context.get("traffic_source"), "direct") or "direct",  # traffic_source
        _str(context.get("device"), "desktop") or "desktop",  # device
        _str(context.get("country")),  # country
        _str(context.get("timezone")),  # timezone
        _str(context.get("sector"), "ecommerce") or "ecommerce",  # sector
        _str(context.get("industry")),  # industry
        None if depth is None else min(100.0, max(0.0, depth)),  # scroll_pct
        _num(cart.get("value")),  # cart_value
        _num(purchase.get("value")),  # purchase_value
        _str(purchase.get("kind"), "purchase") if purchase else None,  # purchase_kind
        _str(custom.get("name")),  # custom_name
    ))
