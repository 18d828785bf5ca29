"""The few ClickEvent fields the detectors read, extracted once per event.

URLs are kept without query string and fragment (they may carry personal data)
and cut to :data:`MAX_URL_CHARS`; search queries are only ever hashed.

>>> ev = read_signal_event({"event_id": "e1", "event_type": "click", "event_time": 5,
...     "page": {"url": "https://shop.example/p/1?email=a@b.example#top", "page_type": "product"},
...     "click": {"x": 1, "y": 2, "target": "#buy", "interactive": True}})
>>> ev.url, ev.click_x, ev.click_interactive
('https://shop.example/p/1', 1, True)
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any, NamedTuple

from pipeline.signals.errors import InvalidSignalEventError

__all__ = ["MAX_URL_CHARS", "SignalEvent", "key_hash", "read_signal_event", "strip_url"]

#: Longest page URL kept in detector state and signals.
MAX_URL_CHARS = 256
_EMPTY: Mapping[str, str] = {}


def strip_url(url: str) -> str:
    """Drop query string and fragment, and cut to :data:`MAX_URL_CHARS`.

    >>> strip_url("https://x.example/a?b=1#c")
    'https://x.example/a'
    """
    return url.split("#", 1)[0].split("?", 1)[0][:MAX_URL_CHARS]


def key_hash(text: str) -> int:
    """A small stable hash (CRC-32) used to keep keys compact in state.

    >>> key_hash("pricing") == key_hash("pricing"), key_hash("a") != key_hash("b")
    (True, True)
    """
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


class SignalEvent(NamedTuple):
    """One ClickEvent as the detectors see it.

    >>> SignalEvent("e1", "page_view", 0, "/", "home").page_type
    'home'
    """

    event_id: str
    event_type: str
    time: int
    url: str
    page_type: str
    category: str | None = None
    product_id: str | None = None
    click_x: int = 0
    click_y: int = 0
    click_target: str | None = None
    click_interactive: bool | None = None
    search_query: str | None = None
    search_results: int = 0
    form_id: str | None = None
    form_field: str | None = None
    custom_name: str | None = None
    custom_properties: Mapping[str, str] = _EMPTY

    @property
    def is_click(self) -> bool:
        """A click event that carries its click record.

        >>> SignalEvent("e", "click", 0, "/", "home", click_interactive=False).is_click
        True
        """
        return self.event_type == "click" and self.click_interactive is not None


_new_event = SignalEvent._make


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _record(event: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = event.get(name)
    # Decoded events hold dicts or None: both are answered before the (slow) ABC check.
    if value is None:
        return None
    if type(value) is dict or isinstance(value, Mapping):
        return value
    return None


def read_signal_event(event: Mapping[str, Any]) -> SignalEvent:
    """Extract a :class:`SignalEvent` from a ClickEvent dict (as fastavro decodes it).

    Raises :class:`InvalidSignalEventError` when the id, type, time or page is
    missing; optional sub-records that are absent are simply not used.

    >>> read_signal_event({"event_type": "click"})
    Traceback (most recent call last):
    ...
    pipeline.signals.errors.InvalidSignalEventError: ClickEvent.event_id is missing or empty
    """
    if type(event) is not dict and not isinstance(event, Mapping):  # dict: skip the ABC check
        raise InvalidSignalEventError(f"ClickEvent must be a dict, got {type(event).__name__}")
    event_id = event.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        raise InvalidSignalEventError("ClickEvent.event_id is missing or empty")
    event_type = event.get("event_type")
    if not isinstance(event_type, str) or not event_type:
        raise InvalidSignalEventError("ClickEvent.event_type is missing or empty")
    time = event.get("event_time")
    if not isinstance(time, int) or isinstance(time, bool):
        raise InvalidSignalEventError(f"ClickEvent.event_time must be epoch ms, got {time!r}")
    page = _record(event, "page")
    if page is None or not isinstance(page.get("url"), str):
        raise InvalidSignalEventError("ClickEvent.page.url is missing")
    # Plain locals, then one positional tuple: a keyword dict per event cost more than the rest.
    click_x = click_y = search_results = 0
    click_target = search_query = form_id = form_field = custom_name = None
    click_interactive: bool | None = None
    custom_properties: Mapping[str, str] = _EMPTY
    click = _record(event, "click")
    if click is not None:
        x, y = click.get("x"), click.get("y")
        click_x = x if isinstance(x, int) else 0
        click_y = y if isinstance(y, int) else 0
        click_target = _opt_str(click.get("target"))
        click_interactive = bool(click.get("interactive", True))
    search = _record(event, "search")
    if search is not None:
        search_query = search.get("query") if isinstance(search.get("query"), str) else None
        results = search.get("results")
        search_results = results if isinstance(results, int) else 0
    form = _record(event, "form")
    if form is not None:
        form_id = _opt_str(form.get("form_id"))
        form_field = _opt_str(form.get("field"))
    custom = _record(event, "custom")
    if custom is not None:
        custom_name = _opt_str(custom.get("name"))
        props = custom.get("properties")
        if isinstance(props, Mapping):
            custom_properties = props
    page_type = page.get("page_type")
    return _new_event((
        event_id, event_type, time, strip_url(page["url"]),
        page_type if isinstance(page_type, str) and page_type else "other",
        _opt_str(page.get("category")), _opt_str(page.get("product_id")),
        click_x, click_y, click_target, click_interactive, search_query, search_results,
        form_id, form_field, custom_name, custom_properties,
    ))
