"""Segment HTTP Tracking API payloads -> ClickEvent / ProfileUpdate records (pure).

Web tiers instrumented with Segment or RudderStack SDKs point their endpoint at
the collector and keep their code. Supported calls, and what they become:

=========================================  =============================================
Segment call                               rtp record
=========================================  =============================================
``page``                                   ClickEvent ``page_view``
``track "Product Added"``                  ClickEvent ``add_to_cart`` (product_id/sku,
                                           quantity, price x quantity or value, currency)
``track "Order Completed"``                ClickEvent ``purchase`` (order_id, total /
                                           revenue / value, currency)
``track "Signed Up"``                      ClickEvent ``purchase`` of kind ``signup``
``track "Products Searched"``              ClickEvent ``search`` (query, results)
``track`` (any other event)                ClickEvent ``custom`` (name = event, scalar
                                           properties without personal data)
``identify`` with ``userId``               ProfileUpdate ``identify`` + traits (applied
                                           to the profile, like ``traits``)
``identify`` with only ``anonymousId``     ProfileUpdate ``traits``
``alias`` (``previousId``, ``userId``)     ProfileUpdate ``identify`` of visitor
                                           ``previousId`` as ``userId``: stitches the two
                                           (``previousId`` may be an anonymous id or an
                                           earlier user id, whose profile is merged in)
``group`` (``groupId``, ``traits``)        ProfileUpdate ``traits`` of the account:
                                           ``industry`` (a profile trait that features and
                                           rules use), ``plan``, and ``group_id``
``screen``                                 ClickEvent ``page_view`` of an app screen (url
                                           ``app://screen/<name>`` unless
                                           ``properties.url`` is given)
anything else                              400 with the reason; nothing is produced
=========================================  =============================================

Fields: ``anonymousId`` (else ``userId``) is the visitor and the Kafka key;
``userId``; ``messageId`` (the event id, de-duplicated); ``timestamp`` (or
``originalTimestamp``; ISO 8601) corrected for client clock skew with ``sentAt``;
``properties``; ``context`` (``page.url``/``referrer``, ``campaign``,
``userAgent`` -> device class, ``timezone``, ``location.country``/``region``;
``ip`` and other identifiers are never read). The page type comes from
``properties.page_type`` or the URL (:mod:`pipeline.collector.page_types`).
Traits drop personal data (email, phone, ip, name, address...).

>>> mapped = map_segment_message(
...     {"type": "track", "event": "Product Added", "anonymousId": "v1",
...      "messageId": "m1", "timestamp": "2027-01-15T08:30:00Z",
...      "properties": {"product_id": "nc700", "price": 349, "quantity": 1},
...      "context": {"page": {"url": "https://shop.example/p/nc700"}}},
...     received_ms=1_800_001_800_000, sector="ecommerce")
>>> mapped.record["event_type"], mapped.record["cart"]["value"], mapped.record["page"]["page_type"]
('add_to_cart', 349.0, 'product')
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote

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

__all__ = [
    "GROUP_TRAITS",
    "IGNORED_TYPES",
    "NO_PAGE_URL",
    "SCREEN_URL",
    "SEGMENT_TYPES",
    "TRACK_EVENTS",
    "map_segment_batch",
    "map_segment_message",
]

#: Segment calls that become records (every call of the Segment spec).
SEGMENT_TYPES: tuple[str, ...] = ("page", "track", "identify", "screen", "group", "alias")
#: Segment calls acknowledged without a record: none any more (an unsupported call is a 400).
IGNORED_TYPES: tuple[str, ...] = ()
#: Account traits of a ``group`` call that are kept (others are not used by rtp).
GROUP_TRAITS: tuple[str, ...] = ("industry", "plan")
#: ``page.url`` of a ``screen`` call without ``properties.url``.
SCREEN_URL = "app://screen/"
#: Track event names (Segment's e-commerce and B2B specs) with their own ClickEvent type.
TRACK_EVENTS: dict[str, str] = {
    "Product Added": "add_to_cart",
    "Order Completed": "purchase",
    "Signed Up": "purchase",
    "Products Searched": "search",
}
#: ``page.url`` of events sent without a page (server-side SDKs).
NO_PAGE_URL = "about:blank"


def _ids(message: Mapping[str, Any], where: str) -> tuple[str, str | None, str]:
    anonymous = text(message, "anonymousId", where, max_chars=MAX_ID_CHARS)
    user = text(message, "userId", where, max_chars=MAX_ID_CHARS)
    anonymous = anonymous if anonymous and anonymous.strip() else None
    user = user if user and user.strip() else None
    visitor = anonymous or user
    if visitor is None:
        raise BadPayload(f"{where} needs an anonymousId or a userId")
    message_id = text(message, "messageId", where, max_chars=MAX_ID_CHARS)
    if message_id is not None and not message_id.strip():
        raise BadPayload(f"{where}.messageId must not be empty")
    return visitor, user, message_id or str(uuid.uuid4())


def _event_time(message: Mapping[str, Any], where: str, received_ms: int,
                sent_at: object) -> int:
    raw = message.get("timestamp")
    if raw is None:
        raw = message.get("originalTimestamp")
    if raw is None:
        return received_ms
    timestamp = parse_time(raw, f"{where}.timestamp")
    sent = message.get("sentAt", sent_at)
    sent_ms = parse_time(sent, f"{where}.sentAt") if sent is not None else None
    return corrected(timestamp, sent_ms, received_ms)


def _session(context: Mapping[str, Any], where: str) -> str | None:
    value = context.get("sessionId")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadPayload(f"{where}.context.sessionId must be a string or a number")
    session = str(value)
    if len(session) > MAX_ID_CHARS:
        raise BadPayload(f"{where}.context.sessionId is longer than {MAX_ID_CHARS} characters")
    return session or None


def _page_and_context(message: Mapping[str, Any], props: Mapping[str, Any], where: str,
                      batch_context: Mapping[str, Any], sector: str, *, url_required: bool,
                      ) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    context = {**batch_context, **mapping(message, "context", where)}
    cwhere = f"{where}.context"
    cpage = mapping(context, "page", cwhere)
    url = (text(props, "url", f"{where}.properties", max_chars=MAX_URL_CHARS)
           or text(cpage, "url", f"{cwhere}.page", max_chars=MAX_URL_CHARS))
    if not url or not url.strip():
        if url_required:
            raise BadPayload(f"{where} needs properties.url or context.page.url")
        url = NO_PAGE_URL
    referrer = (text(props, "referrer", f"{where}.properties", max_chars=MAX_URL_CHARS)
                or text(cpage, "referrer", f"{cwhere}.page", max_chars=MAX_URL_CHARS)) or None
    declared = text(props, "page_type", f"{where}.properties")
    category = text(props, "category", f"{where}.properties") or text(message, "category", where)
    product = text(props, "product_id", f"{where}.properties", max_chars=MAX_ID_CHARS)
    campaign = mapping(context, "campaign", cwhere)
    medium = text(campaign, "medium", f"{cwhere}.campaign")
    location = mapping(context, "location", cwhere)
    device = mapping(context, "device", cwhere)
    declared_sector = text(context, "sector", cwhere)
    page = {"url": url, "page_type": page_type_for(url, declared), "category": category,
            "product_id": product, "referrer": referrer}
    visit = {
        "traffic_source": traffic_source(url, referrer, medium),
        "campaign": text(campaign, "name", f"{cwhere}.campaign") or campaign_of(url),
        "device": device_class(text(context, "userAgent", cwhere, max_chars=1024),
                               text(device, "type", f"{cwhere}.device")),
        "country": text(location, "country", f"{cwhere}.location", max_chars=64),
        "region": text(location, "region", f"{cwhere}.location", max_chars=64),
        "timezone": text(context, "timezone", cwhere, max_chars=64),
        "sector": declared_sector if declared_sector in SECTORS else sector,
        "industry": None,
    }
    return page, visit, _session(context, where)


def _track_parts(event: str, props: Mapping[str, Any], where: str, message_id: str,
                 page: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    pw = f"{where}.properties"
    kind = TRACK_EVENTS.get(event)
    currency = text(props, "currency", pw, max_chars=8) or "EUR"
    if kind == "add_to_cart":
        product = (text(props, "product_id", pw, max_chars=MAX_ID_CHARS)
                   or text(props, "sku", pw, max_chars=MAX_ID_CHARS)
                   or text(props, "id", pw, max_chars=MAX_ID_CHARS))
        if not product:
            raise BadPayload(f"{pw}: Product Added needs product_id (or sku)")
        quantity = integer(props, "quantity", pw, high=100_000)
        quantity = 1 if quantity is None else quantity
        price = number(props, "price", pw)
        value = price * quantity if price is not None else number(props, "value", pw)
        page["product_id"] = page["product_id"] or product
        return kind, {"cart": {"product_id": product, "quantity": quantity,
                               "value": value or 0.0, "currency": currency}}
    if kind == "purchase":
        order = (text(props, "order_id", pw, max_chars=MAX_ID_CHARS)
                 or text(props, "checkout_id", pw, max_chars=MAX_ID_CHARS) or message_id)
        value = next((v for v in (number(props, k, pw) for k in ("total", "revenue", "value"))
                      if v is not None), 0.0)
        return kind, {"purchase": {"order_id": order, "value": value, "currency": currency,
                                   "kind": "signup" if event == "Signed Up" else "purchase"}}
    if kind == "search":
        query = text(props, "query", pw) or ""
        results = integer(props, "results", pw)
        return kind, {"search": {"query": query, "results": results or 0}}
    return "custom", {"custom": {"name": event, "properties": public_map(props)}}


def _alias(message: Mapping[str, Any], where: str, event_time: int,
           message_id: str) -> MappedRecord:
    previous = text(message, "previousId", where, max_chars=MAX_ID_CHARS)
    user = text(message, "userId", where, max_chars=MAX_ID_CHARS)
    if not previous or not previous.strip() or not user or not user.strip():
        raise BadPayload(f"{where}: alias needs previousId and userId (the ids to stitch)")
    record = profile_update(update_id=message_id, kind="identify", visitor_id=previous,
                            user_id=user, event_time=event_time, traits={})
    return MappedRecord("ProfileUpdate", record, message_id)


def _group(message: Mapping[str, Any], where: str, visitor: str, user: str | None,
           event_time: int, message_id: str) -> MappedRecord:
    group = message.get("groupId")
    if isinstance(group, bool) or not isinstance(group, str | int):
        raise BadPayload(f"{where}: group needs a groupId")
    # An integer of thousands of digits cannot even be turned into text (ValueError).
    if isinstance(group, int) and group.bit_length() > 4 * MAX_ID_CHARS:
        raise BadPayload(f"{where}.groupId is longer than {MAX_ID_CHARS} characters")
    if not str(group).strip():
        raise BadPayload(f"{where}: group needs a groupId")
    if len(str(group)) > MAX_ID_CHARS:
        raise BadPayload(f"{where}.groupId is longer than {MAX_ID_CHARS} characters")
    given = public_map(mapping(message, "traits", where))
    traits = {k: given[k] for k in GROUP_TRAITS if k in given}
    traits["group_id"] = str(group)
    record = profile_update(update_id=message_id, kind="traits", visitor_id=visitor,
                            user_id=user, event_time=event_time, traits=traits)
    return MappedRecord("ProfileUpdate", record, message_id)


def map_segment_message(message: object, *, received_ms: int, sector: str,
                        call: str | None = None, batch_context: Mapping[str, Any] | None = None,
                        sent_at: object = None, where: str = "message") -> MappedRecord | None:
    """One Segment call as a record (None only for a call in :data:`IGNORED_TYPES`: none),
    with the ``context.userHash`` sent for its ``userId`` and the ``context.visitorToken``
    sent for its visitor (each the message's context's, else the batch's;
    :mod:`pipeline.collector.identity` and :mod:`pipeline.collector.devices` check them).
    A ``page`` or ``screen`` call whose own context has ``rtpWait: true`` is awaited: a page
    asks delivery for its decision with ``trigger=<messageId>`` (produced with the
    ``rtp-wait`` header, as the tracker's ``wait: 1``).

    ``call`` is the endpoint's type (``/v1/track`` -> ``track``); a message's own
    ``type`` must agree with it. Raises :class:`BadPayload` naming the field at fault.

    >>> map_segment_message({"type": "identify", "userId": "u1", "anonymousId": "v",
    ...                      "context": {"userHash": "ab" * 32}}, received_ms=0,
    ...                     sector="saas").user_hash == "ab" * 32
    True
    >>> map_segment_message({"type": "page", "anonymousId": "v", "messageId": "pv-1",
    ...                      "properties": {"url": "https://shop.example/"},
    ...                      "context": {"rtpWait": True}}, received_ms=0,
    ...                     sector="retail").awaited
    True
    """
    mapped = _map_message(message, received_ms=received_ms, sector=sector, call=call,
                          batch_context=batch_context, sent_at=sent_at, where=where)
    if mapped is None or not isinstance(message, dict):
        return mapped
    context = message.get("context")
    own = context if isinstance(context, dict) else {}
    signed, token = own.get("userHash"), own.get("visitorToken")
    if signed is None and batch_context:
        signed = batch_context.get("userHash")
    if token is None and batch_context:
        token = batch_context.get("visitorToken")
    # the message's own context only: a page waits for its own page view, not a batch's
    awaited = awaited_flag(own.get("rtpWait"), f"{where}.context.rtpWait",
                           page_view=message.get("type", call) in ("page", "screen"),
                           only_for="page and screen calls")
    return replace(mapped, user_hash=signed, visitor_token=token, awaited=awaited)


def _map_message(message: object, *, received_ms: int, sector: str,
                 call: str | None = None, batch_context: Mapping[str, Any] | None = None,
                 sent_at: object = None, where: str = "message") -> MappedRecord | None:
    """One Segment call as a record (None only for a call in :data:`IGNORED_TYPES`: none).

    ``call`` is the endpoint's type (``/v1/track`` -> ``track``); a message's own
    ``type`` must agree with it. Raises :class:`BadPayload` naming the field at fault.

    >>> map_segment_message({"type": "group", "anonymousId": "v", "groupId": "acme",
    ...                      "traits": {"industry": "retail", "plan": "pro"}}, received_ms=0,
    ...                     sector="saas").record["traits"]
    {'industry': 'retail', 'plan': 'pro', 'group_id': 'acme'}
    >>> map_segment_message({"type": "alias", "previousId": "anon-1", "userId": "u1"},
    ...     received_ms=0, sector="saas").record["visitor_id"]
    'anon-1'
    >>> map_segment_message({"type": "identify", "userId": "u1", "messageId": "m",
    ...                      "traits": {"email": "a@b.example", "industry": "retail"}},
    ...                     received_ms=1_800_000_000_000, sector="saas").record["traits"]
    {'industry': 'retail'}
    """
    if not isinstance(message, dict):
        raise BadPayload(f"{where} must be a JSON object (got {type(message).__name__})")
    kind = text(message, "type", where, max_chars=32) or call
    if kind is None:
        raise BadPayload(f"{where}.type is required in a batch")
    if call is not None and kind != call:
        raise BadPayload(f"{where}.type is {kind!r} but was sent to /v1/{call}")
    if kind in IGNORED_TYPES:
        return None
    if kind not in SEGMENT_TYPES:
        raise BadPayload(f"{where}.type {kind!r:.40} is not a Segment call "
                         f"({', '.join(SEGMENT_TYPES + IGNORED_TYPES)})")
    if kind == "alias":
        text(message, "anonymousId", where, max_chars=MAX_ID_CHARS)  # checked, not used
        mapping(message, "context", where)
        given = text(message, "messageId", where, max_chars=MAX_ID_CHARS)
        if given is not None and not given.strip():
            raise BadPayload(f"{where}.messageId must not be empty")
        return _alias(message, where, _event_time(message, where, received_ms, sent_at),
                      given or str(uuid.uuid4()))
    visitor, user, message_id = _ids(message, where)
    event_time = _event_time(message, where, received_ms, sent_at)
    if kind == "group":
        mapping(message, "context", where)
        return _group(message, where, visitor, user, event_time, message_id)
    if kind == "identify":
        traits = {**mapping(mapping(message, "context", where), "traits", f"{where}.context"),
                  **mapping(message, "traits", where)}
        record = profile_update(update_id=message_id, kind="identify" if user else "traits",
                                visitor_id=visitor, user_id=user, event_time=event_time,
                                traits=public_map(traits))
        return MappedRecord("ProfileUpdate", record, message_id)
    props = mapping(message, "properties", where)
    if kind == "screen":
        name = (text(message, "name", where) or text(props, "name", f"{where}.properties")
                or "").strip()
        if not text(props, "url", f"{where}.properties", max_chars=MAX_URL_CHARS):
            props = {**props, "url": SCREEN_URL + quote(name, safe="")}
    page, visit, session = _page_and_context(message, props, where, batch_context or {},
                                             sector, url_required=kind == "page")
    parts: dict[str, Any]
    if kind in ("page", "screen"):
        event_type, parts = "page_view", {}
    else:
        event = text(message, "event", where, required=True, max_chars=200)
        assert event is not None
        event_type, parts = _track_parts(event.strip(), props, where, message_id, page)
    record = click_event(event_id=message_id, event_type=event_type, visitor_id=visitor,
                         user_id=user, session_hint=session, event_time=event_time, page=page,
                         context=visit, **parts)
    return MappedRecord("ClickEvent", record, message_id)


def map_segment_batch(body: object, *, received_ms: int, sector: str, max_batch: int,
                      ) -> tuple[list[MappedRecord], int]:
    """``/v1/batch``: every message mapped (all or none); returns the records and how many
    calls were ignored.

    >>> map_segment_batch({"batch": []}, received_ms=0, sector="ecommerce", max_batch=10)
    Traceback (most recent call last):
    ...
    pipeline.collector.errors.BadPayload: batch is empty
    """
    if not isinstance(body, dict):
        raise BadPayload(f"the body must be a JSON object (got {type(body).__name__})")
    batch = body.get("batch")
    if not isinstance(batch, list):
        raise BadPayload("batch must be a list of messages")
    if not batch:
        raise BadPayload("batch is empty")
    if len(batch) > max_batch:
        raise BadPayload(f"batch has {len(batch)} messages; at most {max_batch} are accepted")
    context = mapping(body, "context", "body")
    if context.get("rtpWait") is not None:  # a page waits for one page view, not a batch
        raise BadPayload("body.context.rtpWait is not for a batch: put it on the context of "
                         "the awaited page call")
    records: list[MappedRecord] = []
    ignored = 0
    for i, message in enumerate(batch):
        mapped = map_segment_message(message, received_ms=received_ms, sector=sector,
                                     batch_context=context, sent_at=body.get("sentAt"),
                                     where=f"batch[{i}]")
        if mapped is None:
            ignored += 1
        else:
            records.append(mapped)
    return records, ignored
