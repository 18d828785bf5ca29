"""The tracker's compact format -> ClickEvent / ProfileUpdate records (pure).

``POST /v1/t`` carries one envelope per batch: who, where, and a list of small
events. It is sent with ``navigator.sendBeacon`` or ``fetch(keepalive)`` as
``text/plain`` (no CORS preflight), so the write key travels in the body, and so does the
visitor's signed token (``token``: the collector's own, issued with the visitor id; see
:mod:`pipeline.collector.devices`)::

    {"writeKey": "…", "visitor": "v-…", "token": "…", "user": null, "userHash": null,
     "session": "s-…", "sentAt": 1800000000000,
     "context": {"device": "desktop", "timezone": "Europe/Berlin", "sector": "ecommerce",
                 "landing": "https://…/?utm_medium=email", "landingReferrer": null},
     "page": {"url": "https://…/p/nc700", "type": "product", "product": "nc700",
              "category": "audio", "referrer": null},
     "events": [{"id": "e1", "type": "page_view", "time": 1800000000000}, …]}

Event fields by ``type`` (every event has ``id``, ``type``, ``time`` in epoch
ms of the client clock, corrected with ``sentAt``; an event may carry its own
``page``):

==============  =====================================================  ==================
type            fields                                                 becomes
==============  =====================================================  ==================
page_view       wait (1: the tracker waits for its decision)           ClickEvent
click           x, y (page px), target, interactive                    ClickEvent
scroll          depth (0..100, deepest point reached)                  ClickEvent
mouse_move      samples: [[x, y, dt_ms], …] (≤ 50)                     ClickEvent
form_error      form, field, error (a validity code, never the value)  ClickEvent
form_submit     form                                                   ClickEvent
search          query, results                                         ClickEvent
add_to_cart     product, quantity, value, currency                     ClickEvent
purchase        order, value, currency, kind                           ClickEvent
custom          name, props (scalar values)                            ClickEvent custom
rage_click      x, y, target, clicks                                   ClickEvent custom
consent         personalization, analytics (booleans)                  ProfileUpdate
identify        user, userHash, traits                                 ProfileUpdate
==============  =====================================================  ==================

>>> records = map_native({"visitor": "v1", "page": {"url": "https://shop.example/shipping"},
...     "events": [{"id": "e1", "type": "page_view", "time": 1_800_000_000_000}]},
...     received_ms=1_800_000_000_100, sector="ecommerce", max_batch=10)
>>> records[0].record["page"]["page_type"], records[0].record["event_id"]
('shipping_returns', 'e1')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pipeline.collector.errors import BadPayload
from pipeline.collector.options import SECTORS
from pipeline.collector.page_types import page_type_for
from pipeline.collector.records import (
    MAX_ID_CHARS,
    MAX_URL_CHARS,
    MappedRecord,
    awaited_flag,
    click_event,
    integer,
    mapping,
    number,
    profile_update,
    public_map,
    text,
)
from pipeline.collector.timestamps import corrected, parse_time
from pipeline.collector.visit_context import campaign_of, device_class, traffic_source

__all__ = ["MAX_MOUSE_SAMPLES", "NATIVE_TYPES", "map_native"]

#: Event types of the native format.
NATIVE_TYPES: tuple[str, ...] = (
    "page_view", "click", "scroll", "mouse_move", "form_error", "form_submit", "search",
    "add_to_cart", "purchase", "custom", "rage_click", "consent", "identify",
)
#: Mouse samples per mouse_move event.
MAX_MOUSE_SAMPLES = 50
_COORD = 1_000_000


def _page(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    url = text(raw, "url", where, required=True, max_chars=MAX_URL_CHARS)
    assert url is not None
    return {"url": url,
            "page_type": page_type_for(url, text(raw, "type", where, max_chars=64)),
            "category": text(raw, "category", where),
            "product_id": text(raw, "product", where, max_chars=MAX_ID_CHARS),
            "referrer": text(raw, "referrer", where, max_chars=MAX_URL_CHARS)}


def _context(raw: Mapping[str, Any], page: Mapping[str, Any], sector: str,
             user_agent: str | None) -> dict[str, Any]:
    where = "context"
    landing = text(raw, "landing", where, max_chars=MAX_URL_CHARS) or page["url"]
    referrer = (text(raw, "landingReferrer", where, max_chars=MAX_URL_CHARS)
                if raw.get("landing") is not None else page["referrer"])
    declared = text(raw, "sector", where, max_chars=32)
    return {
        "traffic_source": traffic_source(landing, referrer),
        "campaign": campaign_of(landing),
        "device": device_class(user_agent, text(raw, "device", where, max_chars=32)),
        "country": None,
        "region": None,
        "timezone": text(raw, "timezone", where, max_chars=64),
        "sector": declared if declared in SECTORS else sector,
        "industry": text(raw, "industry", where, max_chars=64),
    }


def _coordinate(event: Mapping[str, Any], key: str, where: str) -> int:
    value = integer(event, key, where, high=_COORD)
    if value is None:
        raise BadPayload(f"{where}.{key} is required")
    return value


def _samples(event: Mapping[str, Any], where: str) -> list[dict[str, int]]:
    raw = event.get("samples")
    if not isinstance(raw, list) or not raw:
        raise BadPayload(f"{where}.samples must be a non-empty list of [x, y, dt_ms]")
    if len(raw) > MAX_MOUSE_SAMPLES:
        raise BadPayload(f"{where}.samples has more than {MAX_MOUSE_SAMPLES} samples")
    out = []
    for i, sample in enumerate(raw):
        if not isinstance(sample, list) or len(sample) != 3:
            raise BadPayload(f"{where}.samples[{i}] must be [x, y, dt_ms]")
        values = dict(zip(("x", "y", "dt_ms"), sample, strict=True))
        out.append({k: _coordinate(values, k, f"{where}.samples[{i}]") for k in values})
    return out


def _parts(kind: str, event: Mapping[str, Any], where: str,
           event_id: str) -> tuple[str, dict[str, Any]]:
    if kind == "page_view":
        return kind, {}
    if kind == "click":
        target = text(event, "target", where, max_chars=256) or ""
        interactive = event.get("interactive", False)
        if not isinstance(interactive, bool):
            raise BadPayload(f"{where}.interactive must be true or false")
        return kind, {"click": {"x": _coordinate(event, "x", where),
                                "y": _coordinate(event, "y", where),
                                "target": target, "interactive": interactive}}
    if kind == "scroll":
        depth = number(event, "depth", where, high=100.0)
        if depth is None:
            raise BadPayload(f"{where}.depth is required")
        return kind, {"scroll": {"depth_pct": depth}}
    if kind == "mouse_move":
        return kind, {"mouse": {"samples": _samples(event, where)}}
    if kind in ("form_error", "form_submit"):
        form = text(event, "form", where, required=True, max_chars=MAX_ID_CHARS)
        return kind, {"form": {"form_id": form,
                               "field": text(event, "field", where, max_chars=128),
                               "error": text(event, "error", where, max_chars=64)}}
    if kind == "search":
        return kind, {"search": {"query": text(event, "query", where) or "",
                                 "results": integer(event, "results", where) or 0}}
    if kind == "add_to_cart":
        product = text(event, "product", where, required=True, max_chars=MAX_ID_CHARS)
        quantity = integer(event, "quantity", where, high=100_000)
        return kind, {"cart": {"product_id": product,
                               "quantity": 1 if quantity is None else quantity,
                               "value": number(event, "value", where) or 0.0,
                               "currency": text(event, "currency", where, max_chars=8) or "EUR"}}
    if kind == "purchase":
        return kind, {"purchase": {
            "order_id": text(event, "order", where, max_chars=MAX_ID_CHARS) or event_id,
            "value": number(event, "value", where) or 0.0,
            "currency": text(event, "currency", where, max_chars=8) or "EUR",
            "kind": text(event, "kind", where, max_chars=32) or "purchase"}}
    if kind == "rage_click":
        props = {"target": text(event, "target", where, max_chars=256) or "",
                 "clicks": str(integer(event, "clicks", where, high=1000) or 3),
                 "x": str(_coordinate(event, "x", where)),
                 "y": str(_coordinate(event, "y", where))}
        return "custom", {"custom": {"name": "rage_click", "properties": props}}
    name = text(event, "name", where, required=True, max_chars=128)
    return "custom", {"custom": {"name": name, "properties": public_map(
        mapping(event, "props", where))}}


def _profile(kind: str, event: Mapping[str, Any], where: str, event_id: str, visitor: str,
             user: str | None, event_time: int, signed: object) -> MappedRecord:
    if kind == "consent":
        consent = {}
        for key, default in (("personalization", None), ("analytics", True)):
            value = event.get(key, default)
            if not isinstance(value, bool):
                raise BadPayload(f"{where}.{key} must be true or false")
            consent[key] = value
        record = profile_update(update_id=event_id, kind="consent", visitor_id=visitor,
                                user_id=user, event_time=event_time, consent=consent)
    else:
        own = text(event, "user", where, max_chars=MAX_ID_CHARS)
        if own:
            # The event's own user id comes with its own userHash; the batch's vouches only
            # for the batch's user (rtp.js sends the identify with the hash on the batch).
            signed = event.get("userHash") if "userHash" in event or own != user else signed
            user = own
        traits = public_map(mapping(event, "traits", where))
        record = profile_update(update_id=event_id, kind="identify" if user else "traits",
                                visitor_id=visitor, user_id=user, event_time=event_time,
                                traits=traits)
    return MappedRecord("ProfileUpdate", record, event_id, signed)


def map_native(body: object, *, received_ms: int, sector: str,
               max_batch: int, user_agent: str | None = None) -> list[MappedRecord]:
    """Every event of a native envelope as a record (all or none).

    ``user_agent`` (the request's ``User-Agent``) gives the device class when the batch's
    ``context.device`` does not (the tracker leaves it to the collector); only the class
    is kept.

    >>> map_native({"visitor": "v1", "events": []}, received_ms=0, sector="ecommerce",
    ...            max_batch=5)
    Traceback (most recent call last):
    ...
    pipeline.collector.errors.BadPayload: events must be a non-empty list
    """
    if not isinstance(body, dict):
        raise BadPayload(f"the body must be a JSON object (got {type(body).__name__})")
    visitor = text(body, "visitor", "body", required=True, max_chars=MAX_ID_CHARS)
    assert visitor is not None
    user = text(body, "user", "body", max_chars=MAX_ID_CHARS) or None
    signed = body.get("userHash")  # checked with the user id (pipeline.collector.identity)
    session = text(body, "session", "body", max_chars=MAX_ID_CHARS) or None
    sent_raw = body.get("sentAt")
    sent_at = parse_time(sent_raw, "body.sentAt") if sent_raw is not None else None
    events = body.get("events")
    if not isinstance(events, list) or not events:
        raise BadPayload("events must be a non-empty list")
    if len(events) > max_batch:
        raise BadPayload(f"{len(events)} events in one request; at most {max_batch}")
    base_page = mapping(body, "page", "body")
    raw_context = mapping(body, "context", "body")
    records: list[MappedRecord] = []
    for i, event in enumerate(events):
        where = f"events[{i}]"
        if not isinstance(event, dict):
            raise BadPayload(f"{where} must be an object (got {type(event).__name__})")
        kind = text(event, "type", where, required=True, max_chars=32)
        if kind not in NATIVE_TYPES:
            raise BadPayload(f"{where}.type {kind!r:.40} is not one of {', '.join(NATIVE_TYPES)}")
        event_id = text(event, "id", where, required=True, max_chars=MAX_ID_CHARS)
        assert event_id is not None
        raw_time = event.get("time")
        if raw_time is None:
            raise BadPayload(f"{where}.time is required (epoch milliseconds)")
        event_time = corrected(parse_time(raw_time, f"{where}.time"), sent_at, received_ms)
        if kind in ("consent", "identify"):
            records.append(_profile(kind, event, where, event_id, visitor, user, event_time,
                                    signed))
            continue
        page_raw = mapping(event, "page", where) or base_page
        if not page_raw:
            raise BadPayload(f"{where} has no page (body.page or {where}.page with a url)")
        page = _page(page_raw, f"{where}.page" if event.get("page") else "body.page")
        event_type, parts = _parts(kind, event, where, event_id)
        record = click_event(event_id=event_id, event_type=event_type, visitor_id=visitor,
                             user_id=user, session_hint=session, event_time=event_time,
                             page=page, context=_context(raw_context, page, sector,
                                                         (user_agent or "")[:1024]), **parts)
        records.append(MappedRecord("ClickEvent", record, event_id, signed,
                                    awaited=awaited_flag(event.get("wait"), f"{where}.wait",
                                                         page_view=kind == "page_view")))
    token = body.get("token")  # checked with the visitor id (pipeline.collector.devices)
    return [replace(mapped, visitor_token=token) for mapped in records]
