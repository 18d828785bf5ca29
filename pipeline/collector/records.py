"""Reading client JSON strictly, and building ClickEvent / ProfileUpdate records from it.

Every field the collector uses is type-checked: a wrong type is a
:class:`~pipeline.collector.errors.BadPayload` naming the field, never a crash.
``null`` counts as absent. Numbers may arrive as numeric strings (some SDKs send
``"349.00"``). Free-form maps (custom event properties, identify traits) keep
scalar values as strings and drop nested values and personal data (the
deny-list of :mod:`pipeline.profiles.privacy`).

>>> number({"price": "349.00"}, "price", "properties")
349.0
>>> text({"url": 5}, "url", "properties")
Traceback (most recent call last):
...
pipeline.collector.errors.BadPayload: properties.url must be a string (got int)
>>> public_map({"plan": "pro", "email": "a@b.example", "seats": 5, "nested": {"x": 1}})
{'plan': 'pro', 'seats': '5'}
>>> number({"price": 10**400}, "price", "properties")
Traceback (most recent call last):
...
pipeline.collector.errors.BadPayload: properties.price is out of range
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.collector.errors import BadPayload
from pipeline.profiles.privacy import sanitize_traits
from pipeline.web.untrusted import MAX_NUMBER, finite_number

__all__ = [
    "MAX_ID_CHARS",
    "MAX_TEXT_CHARS",
    "MAX_URL_CHARS",
    "MappedRecord",
    "awaited_flag",
    "click_event",
    "integer",
    "mapping",
    "number",
    "profile_update",
    "public_map",
    "text",
]

MAX_ID_CHARS = 256
MAX_URL_CHARS = 2048
MAX_TEXT_CHARS = 512
#: Longest number sent as a string ("349.00").
MAX_NUMBER_CHARS = 64
#: Longest key kept in a free-form map.
MAX_KEY_CHARS = 64
#: Entries kept from a free-form map (custom properties, traits).
MAX_MAP_ENTRIES = 32

_INT32 = (-(2**31), 2**31 - 1)


@dataclass(frozen=True)
class MappedRecord:
    """A record ready to validate and produce.

    Attributes
    ----------
    name
        ``ClickEvent`` or ``ProfileUpdate``.
    record
        The record, shaped like its Avro schema.
    dedup_id
        The client's message id (Segment ``messageId``, tracker event id).

    >>> MappedRecord("ClickEvent", {"visitor_id": "v1"}, "m1").visitor_id
    'v1'
    """

    name: str
    record: dict[str, Any]
    dedup_id: str
    #: The ``userHash`` sent with the record's user id (as sent; None when absent), checked
    #: by :mod:`pipeline.collector.identity` before the user id is kept.
    user_hash: object = None
    #: A client waits for this event's decision (the tracker's page view, ``wait: 1``): it is
    #: produced with the ``rtp-wait`` header (:mod:`pipeline.engine.answers`).
    awaited: bool = False
    #: The visitor token sent for the record's visitor (as sent; None when absent), checked
    #: by :mod:`pipeline.collector.devices` for a browser's request.
    visitor_token: object = None

    @property
    def visitor_id(self) -> str:
        """The visitor the record is about (rate limits and de-duplication are per visitor)."""
        return str(self.record["visitor_id"])


def _kind(value: object) -> str:
    return type(value).__name__


def mapping(container: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    """``container[key]`` as an object; absent or null -> ``{}``.

    >>> mapping({"context": []}, "context", "message")
    Traceback (most recent call last):
    ...
    pipeline.collector.errors.BadPayload: message.context must be an object (got list)
    """
    value = container.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadPayload(f"{where}.{key} must be an object (got {_kind(value)})")
    return value


def text(container: Mapping[str, Any], key: str, where: str, *, required: bool = False,
         max_chars: int = MAX_TEXT_CHARS) -> str | None:
    """``container[key]`` as a string (None when absent and not ``required``).

    >>> text({"a": "x"}, "a", "p"), text({}, "a", "p")
    ('x', None)
    >>> text({}, "a", "p", required=True)
    Traceback (most recent call last):
    ...
    pipeline.collector.errors.BadPayload: p.a is required
    """
    value = container.get(key)
    if value is None:
        if required:
            raise BadPayload(f"{where}.{key} is required")
        return None
    if not isinstance(value, str):
        raise BadPayload(f"{where}.{key} must be a string (got {_kind(value)})")
    if len(value) > max_chars:
        raise BadPayload(f"{where}.{key} is longer than {max_chars} characters")
    if required and not value.strip():
        raise BadPayload(f"{where}.{key} must not be empty")
    return value


def _numeric(value: object, where: str) -> float:
    if isinstance(value, str):
        if len(value) > MAX_NUMBER_CHARS:
            raise BadPayload(f"{where} must be a number (got a string of {len(value)} characters)")
        try:
            value = float(value.strip())
        except ValueError:
            raise BadPayload(f"{where} must be a number (got {str(value)[:30]!r})") from None
    try:
        return finite_number(value, where)
    except ValueError as exc:
        raise BadPayload(str(exc)) from None


def number(container: Mapping[str, Any], key: str, where: str, *, low: float = 0.0,
           high: float = 1e12) -> float | None:
    """``container[key]`` as a float within ``[low, high]`` (None when absent).

    >>> number({"v": -1}, "v", "p")
    Traceback (most recent call last):
    ...
    pipeline.collector.errors.BadPayload: p.v must be within 0..1000000000000 (got -1.0)
    """
    value = container.get(key)
    if value is None:
        return None
    result = _numeric(value, f"{where}.{key}")
    if not low <= result <= high:
        raise BadPayload(f"{where}.{key} must be within {low:g}..{high:.0f} (got {result})")
    return result


def integer(container: Mapping[str, Any], key: str, where: str, *, low: int = 0,
            high: int = _INT32[1]) -> int | None:
    """``container[key]`` as a whole number within ``[low, high]`` (None when absent).

    >>> integer({"x": 12.0}, "x", "e"), integer({"x": "7"}, "x", "e")
    (12, 7)
    """
    value = container.get(key)
    if value is None:
        return None
    result = _numeric(value, f"{where}.{key}")
    if not result.is_integer():
        raise BadPayload(f"{where}.{key} must be a whole number (got {result})")
    if not low <= result <= high:
        raise BadPayload(f"{where}.{key} must be within {low}..{high} (got {result:.0f})")
    return int(result)


def public_map(values: Mapping[str, Any]) -> dict[str, str]:
    """Scalar entries as strings, without nested values or personal data (bounded).

    >>> public_map({"tier": "gold", "vip": True, "workEmail": "x@y.example", "tags": ["a"]})
    {'tier': 'gold', 'vip': 'true'}
    """
    flat: dict[str, str] = {}
    for key, value in values.items():
        if len(flat) >= MAX_MAP_ENTRIES:
            break
        if not isinstance(key, str) or value is None or isinstance(value, dict | list) \
                or len(key) > MAX_KEY_CHARS:
            continue
        if isinstance(value, bool):
            flat[key] = "true" if value else "false"
        elif isinstance(value, int | float | str):
            kept = str(value) if not isinstance(value, int) or abs(value) <= MAX_NUMBER \
                else None
            if kept is not None and len(kept) <= MAX_TEXT_CHARS:
                flat[key] = kept
    return sanitize_traits(flat).kept


def click_event(*, event_id: str, event_type: str, visitor_id: str, user_id: str | None,
                session_hint: str | None, event_time: int, page: dict[str, Any],
                context: dict[str, Any], **parts: dict[str, Any] | None) -> dict[str, Any]:
    """A ClickEvent record; ``parts`` sets the type's sub-record (``click=...``).

    >>> e = click_event(event_id="e", event_type="scroll", visitor_id="v", user_id=None,
    ...                 session_hint=None, event_time=1, page={}, context={},
    ...                 scroll={"depth_pct": 50.0})
    >>> e["scroll"], e["click"]
    ({'depth_pct': 50.0}, None)
    """
    record: dict[str, Any] = {
        "event_id": event_id, "event_type": event_type, "visitor_id": visitor_id,
        "user_id": user_id, "session_hint": session_hint, "event_time": event_time,
        "page": page, "context": context,
        "click": None, "scroll": None, "mouse": None, "search": None, "cart": None,
        "purchase": None, "form": None, "custom": None,
    }
    record.update(parts)
    return record


def profile_update(*, update_id: str, kind: str, visitor_id: str, user_id: str | None,
                   event_time: int, traits: dict[str, str] | None = None,
                   consent: dict[str, bool] | None = None) -> dict[str, Any]:
    """A ProfileUpdate record.

    >>> profile_update(update_id="u", kind="identify", visitor_id="v", user_id="42",
    ...                event_time=1)["traits"]
    {}
    """
    return {"update_id": update_id, "kind": kind, "visitor_id": visitor_id, "user_id": user_id,
            "event_time": event_time, "traits": dict(traits or {}), "consent": consent}


def awaited_flag(value: object, field: str, *, page_view: bool,
                 only_for: str = "page_view events") -> bool:
    """Whether a client waits for this event's decision: ``value`` (the tracker event's
    ``wait``, a Segment call's ``context.rtpWait``) is 1 or true; absent, 0 or false: no.
    Only a page view is awaited (``page_view`` says whether the event is one).

    >>> awaited_flag(1, "e.wait", page_view=True), awaited_flag(None, "e.wait", page_view=True)
    (True, False)
    >>> awaited_flag(True, "events[0].wait", page_view=False)
    Traceback (most recent call last):
    ...
    pipeline.collector.errors.BadPayload: events[0].wait is only for page_view events
    >>> awaited_flag("yes", "m.context.rtpWait", page_view=True)
    Traceback (most recent call last):
    ...
    pipeline.collector.errors.BadPayload: m.context.rtpWait must be 1 or true (got 'yes')
    """
    if value is None or value is False or (type(value) is int and value == 0):
        return False
    if not (value is True or (type(value) is int and value == 1)):
        raise BadPayload(f"{field} must be 1 or true (got {str(value)[:20]!r})")
    if not page_view:
        raise BadPayload(f"{field} is only for {only_for}")
    return True
