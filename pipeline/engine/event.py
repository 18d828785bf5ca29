"""A ClickEvent read once per event, into the records the sessionizer and the detectors use.

:func:`read_click_event` is :func:`~pipeline.sessions.read_session_event` and
:func:`~pipeline.signals.read_signal_event` in one pass: the event is checked once
(as the sessionizer checks it, which is the stricter of the two) and each field is
looked up once, then both records are built. The two readers stay what the
sessionizer and the signal engine use when given a dict; this one gives the same
records (property test) for :meth:`Engine.on_event <pipeline.engine.Engine.on_event>`.

>>> session, signal = read_click_event({"event_id": "e1", "event_type": "click",
...     "visitor_id": "v1", "event_time": 5,
...     "page": {"url": "/p/1?q=x", "page_type": "product"},
...     "click": {"x": 1, "y": 2, "target": "#buy", "interactive": True}})
>>> session.visitor_id, session.page_type, signal.url, signal.click_interactive
('v1', 'product', '/p/1', True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pipeline.sessions import InvalidSessionEventError, SessionEvent
from pipeline.sessions.pages import normalize_page_type
from pipeline.signals import SignalEvent, strip_url

__all__ = ["read_click_event"]

_new_session_event = SessionEvent._make
_new_signal_event = SignalEvent._make
#: Returned for an absent sub-record; only ever read.
_NONE: Mapping[str, Any] = {}
_NO_PROPERTIES: Mapping[str, str] = SignalEvent._field_defaults["custom_properties"]


def _record(event: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = event.get(name)
    # Decoded events hold dicts or None: both are answered before the (slow) ABC check.
    if value is None:
        return None
    if type(value) is dict or isinstance(value, Mapping):
        return value
    return None


def _cut(value: Any, default: str | None = None) -> str | None:
    """The sessionizer's strings: non-empty, at most 128 characters."""
    return value[:128] if isinstance(value, str) and value else default


def _str(value: Any) -> str | None:
    """The detectors' strings: non-empty, uncut."""
    return value if isinstance(value, str) and value else None


def _num(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def read_click_event(event: Mapping[str, Any]) -> tuple[SessionEvent, SignalEvent]:
    """The event's :class:`SessionEvent` and :class:`SignalEvent`, read in one pass.

    Raises :class:`~pipeline.sessions.InvalidSessionEventError`, with the
    sessionizer's message, when the event is unusable.

    >>> read_click_event({"event_id": "e1", "event_type": "click", "event_time": 5})
    Traceback (most recent call last):
    ...
    pipeline.sessions.errors.InvalidSessionEventError: ClickEvent.visitor_id is missing or empty
    """
    # The checks of read_session_event, in its order and with its messages.
    if type(event) is not dict and not isinstance(event, Mapping):  # dict: skip the ABC check
        raise InvalidSessionEventError(f"ClickEvent must be a dict, got {type(event).__name__}")
    event_id = event.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        raise InvalidSessionEventError("ClickEvent.event_id is missing or empty")
    event_type = event.get("event_type")
    if not isinstance(event_type, str) or not event_type:
        raise InvalidSessionEventError("ClickEvent.event_type is missing or empty")
    visitor_id = event.get("visitor_id")
    if not isinstance(visitor_id, str) or not visitor_id:
        raise InvalidSessionEventError("ClickEvent.visitor_id is missing or empty")
    time = event.get("event_time")
    if not isinstance(time, int) or isinstance(time, bool):
        raise InvalidSessionEventError(
            f"ClickEvent.event_time must be epoch milliseconds, got {time!r}"
        )
    page = event.get("page")
    if (type(page) is not dict and not isinstance(page, Mapping)) or not isinstance(
            page.get("url"), str):
        raise InvalidSessionEventError("ClickEvent.page.url is missing")
    page_type = page.get("page_type")
    # Strings both records keep: the detectors whole, the sessionizer cut to 128 chars.
    category = _str(page.get("category"))
    product_id = _str(page.get("product_id"))
    # Sub-records: a dict or None as decoded (any other value: _record decides).
    custom = event.get("custom")
    if custom is not None and type(custom) is not dict:
        custom = _record(event, "custom")
    custom_name = None if custom is None else _str(custom.get("name"))

    # The SessionEvent (read_session_event), first: normalize_page_type is what may raise.
    context = event.get("context")
    if type(context) is not dict:
        context = _record(event, "context") or _NONE
    scroll = event.get("scroll")
    if scroll is not None and type(scroll) is not dict:
        scroll = _record(event, "scroll")
    cart = event.get("cart")
    if cart is not None and type(cart) is not dict:
        cart = _record(event, "cart")
    purchase = event.get("purchase")
    if purchase is not None and type(purchase) is not dict:
        purchase = _record(event, "purchase")
    user_id = event.get("user_id")
    depth = None if scroll is None else _num(scroll.get("depth_pct"))
    # The context's strings (_cut, inline: every event has them).
    source, device, country, zone, sector, industry = (
        context.get("traffic_source"), context.get("device"), context.get("country"),
        context.get("timezone"), context.get("sector"), context.get("industry"))
    session = _new_session_event((
        event_id, event_type, visitor_id,
        user_id if isinstance(user_id, str) and user_id else None,
        time, normalize_page_type(page_type),
        None if category is None else category[:128],
        None if product_id is None else product_id[:128],
        source[:128] if isinstance(source, str) and source else "direct",
        device[:128] if isinstance(device, str) and device else "desktop",
        country[:128] if isinstance(country, str) and country else None,
        zone[:128] if isinstance(zone, str) and zone else None,
        sector[:128] if isinstance(sector, str) and sector else "ecommerce",
        industry[:128] if isinstance(industry, str) and industry else None,
        None if depth is None else min(100.0, max(0.0, depth)),
        None if cart is None else _num(cart.get("value")),
        None if purchase is None else _num(purchase.get("value")),
        _cut(purchase.get("kind"), "purchase") if purchase else None,
        None if custom_name is None else custom_name[:128],
    ))

    # The SignalEvent (read_signal_event).
    click_x = click_y = search_results = 0
    click_target = search_query = form_id = form_field = None
    click_interactive: bool | None = None
    custom_properties = _NO_PROPERTIES
    click = event.get("click")
    if click is not None and type(click) is not dict:
        click = _record(event, "click")
    if click is not None:
        x, y = click.get("x"), click.get("y")
        click_x = x if isinstance(x, int) else 0
        click_y = y if isinstance(y, int) else 0
        click_target = _str(click.get("target"))
        click_interactive = bool(click.get("interactive", True))
    search = event.get("search")
    if search is not None and type(search) is not dict:
        search = _record(event, "search")
    if search is not None:
        query = search.get("query")
        search_query = query if isinstance(query, str) else None
        results = search.get("results")
        search_results = results if isinstance(results, int) else 0
    form = event.get("form")
    if form is not None and type(form) is not dict:
        form = _record(event, "form")
    if form is not None:
        form_id = _str(form.get("form_id"))
        form_field = _str(form.get("field"))
    if custom is not None:
        props = custom.get("properties")
        if isinstance(props, Mapping):
            custom_properties = props
    signal = _new_signal_event((
        event_id, event_type, time, strip_url(page["url"]),
        page_type if isinstance(page_type, str) and page_type else "other",
        category, product_id,
        click_x, click_y, click_target, click_interactive, search_query, search_results,
        form_id, form_field, custom_name, custom_properties,
    ))
    return session, signal
