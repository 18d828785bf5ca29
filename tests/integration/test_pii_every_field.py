"""An e-mail address and a name through every field of every collector endpoint: where do they land?

The collector (in this process) and a real worker with its profile side, on the real
broker. Each case puts a marker into one field of one request: an e-mail address
(``ann<run>c<i>e@…``), in a second request a full name (``Zorabel<run>c<i>n Quimby``) and
in a third a one-word name (``Okonkwo<letters>``: a surname alone, capitalised, no digit),
unique per case so that a leak names its field. Every request must be accepted (200): a
refused request would pass trivially. Then every topic under the test's prefix (events,
profile updates, decisions, the decision log, signals, outcomes, dead letters, the
worker's and profile side's changelogs and internal topics) is read to its end, and the
worker's log and what the collector logged too, in raw bytes, lower-cased.

Asserted: no e-mail marker and no name marker (full or one-word) anywhere (topics and
logs), except for full names in the
fields of :data:`KNOWN_NAME_LEAKS`, which is empty since ids and vocabulary fields keep only
one-word values (README "Names in ids and vocabulary fields"); a field listed there that
stops leaking fails the test too, so the list stays true. A one-word name passes in no
field (``pipeline.collector.minimise.is_machine_word``); one written in lower case would.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
from structlog.testing import capture_logs

from pipeline.collector import CollectorOptions, CollectorService
from pipeline.settings import Settings
from pipeline.topics import EVENTS, PROFILES
from pipeline.web.visitor_token import VisitorTokens
from tests.integration.kafka_reader import read_prefix_topics
from tests.integration.worker_process import WorkerProcess, wait_caught_up

WRITE_KEY = "pii-write-key"
#: The collector's visitor token key: each request carries its visitor's token (a browser's
#: request without one is refused, and a refused request would pass this test trivially).
TOKEN_KEY = "pii-visitor-token-key-0123456789"
SEGMENT_AUTH = {"Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode(),
                "Content-Type": "application/json"}

Body = dict[str, Any]
#: (label, route, body of a request carrying marker ``m`` for visitor ``v``)
Case = tuple[str, str, Callable[[str, str, int], Body]]


def _with_token(body: Body, tokens: VisitorTokens) -> Body:
    """``body`` with the token of each visitor it names (the tracker's ``token``, a Segment
    message's ``context.visitorToken``)."""
    if "events" in body:
        return {**body, "token": tokens.issue(body["visitor"])}
    if "batch" in body:
        return {**body, "batch": [_with_token(m, tokens) for m in body["batch"]]}
    visitor = body["previousId"] if body.get("type") == "alias" else (
        body.get("anonymousId") or body["userId"])
    return {**body, "context": {**body.get("context", {}),
                                "visitorToken": tokens.issue(visitor)}}


def _native(v: str, now: int, events: list[Body], **envelope: Any) -> Body:
    body: Body = {"writeKey": WRITE_KEY, "visitor": v, "session": f"s-{v}", "sentAt": now,
                  "context": {"device": "desktop", "timezone": "Europe/Berlin",
                              "sector": "ecommerce"},
                  "page": {"url": "https://shop.example/p/nc700", "type": "product",
                           "product": "nc700", "category": "audio"},
                  "events": events}
    for key, value in envelope.items():
        if isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    return body


def _ev(kind: str, v: str, now: int, /, **fields: Any) -> Body:
    return {"id": f"{v}-{kind}", "type": kind, "time": now, **fields}


def _url(m: str) -> str:
    return f"https://shop.example/p/{m}/x?utm_campaign={m}&who={m}#{m}"


def _native_cases() -> list[Case]:
    pv = "page_view"
    return [
        ("native body.visitor", "/v1/t", lambda m, v, t: _native(m, t, [_ev(pv, v, t)])),
        ("native body.user", "/v1/t", lambda m, v, t: _native(v, t, [_ev(pv, v, t)], user=m)),
        ("native body.session", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev(pv, v, t)], session=m)),
        ("native context.landing", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev(pv, v, t)], context={"landing": _url(m)})),
        ("native context.landingReferrer", "/v1/t", lambda m, v, t: _native(
            v, t, [_ev(pv, v, t)], context={"landing": "https://shop.example/",
                                            "landingReferrer": _url(m)})),
        ("native context.device", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev(pv, v, t)], context={"device": m})),
        ("native context.timezone", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev(pv, v, t)], context={"timezone": m})),
        ("native context.sector", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev(pv, v, t)], context={"sector": m})),
        ("native context.industry", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev(pv, v, t)], context={"industry": m})),
        ("native page.url", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev(pv, v, t)], page={"url": _url(m)})),
        ("native page.type", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev(pv, v, t)], page={"type": m})),
        ("native page.product", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev(pv, v, t)], page={"product": m})),
        ("native page.category", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev(pv, v, t)], page={"category": m})),
        ("native page.referrer", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev(pv, v, t)], page={"referrer": _url(m)})),
        ("native event.id", "/v1/t",
         lambda m, v, t: _native(v, t, [{"id": m, "type": pv, "time": t}])),
        ("native event.page.url", "/v1/t", lambda m, v, t: _native(
            v, t, [_ev(pv, v, t, page={"url": _url(m)})])),
        ("native click.target", "/v1/t", lambda m, v, t: _native(
            v, t, [_ev("click", v, t, x=1, y=2, target=m, interactive=True)])),
        ("native form_error.form", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev("form_error", v, t, form=m, field="f", error="e")])),
        ("native form_error.field", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev("form_error", v, t, form="f", field=m, error="e")])),
        ("native form_error.error", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev("form_error", v, t, form="f", field="f", error=m)])),
        ("native form_submit.form", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev("form_submit", v, t, form=m)])),
        ("native search.query", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev("search", v, t, query=m, results=3)])),
        ("native add_to_cart.product", "/v1/t", lambda m, v, t: _native(
            v, t, [_ev("add_to_cart", v, t, product=m, quantity=1, value=9.5)])),
        ("native purchase.order", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev("purchase", v, t, order=m, value=9.5)])),
        ("native purchase.kind", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev("purchase", v, t, order="o", value=9.5, kind=m)])),
        ("native custom.name", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev("custom", v, t, name=m)])),
        ("native custom.props allowed key", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev("custom", v, t, name="listing_refresh",
                                            props={"listing": m})])),
        ("native custom.props other key", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev("custom", v, t, name="c", props={"note": m})])),
        ("native custom.props key", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev("custom", v, t, name="c",
                                            props={m.split()[0]: "1"})])),
        ("native rage_click.target", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev("rage_click", v, t, x=1, y=2, target=m)])),
        ("native identify.user", "/v1/t",
         lambda m, v, t: _native(v, t, [_ev("identify", v, t, user=m)])),
        ("native identify.traits allowed key", "/v1/t", lambda m, v, t: _native(
            v, t, [_ev("identify", v, t, user="u-1", traits={"industry": m})])),
        ("native identify.traits other key", "/v1/t", lambda m, v, t: _native(
            v, t, [_ev("identify", v, t, user="u-1", traits={"nickname": m})])),
        ("native consent.id", "/v1/t", lambda m, v, t: _native(
            v, t, [{"id": m, "type": "consent", "time": t, "personalization": True}])),
    ]


def _seg(kind: str, v: str, t: int, /, **fields: Any) -> Body:
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t / 1000)) + "Z"
    base: Body = {"type": kind, "anonymousId": v, "messageId": f"{v}-{kind}", "timestamp": iso,
                  "context": {"page": {"url": "https://shop.example/p/nc700"}}}
    for key, value in fields.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


def _track(v: str, t: int, event: str = "Clicked", /, **props: Any) -> Body:
    return _seg("track", v, t, event=event, properties=props)


def _segment_cases() -> list[Case]:
    page = "/v1/page"
    url = "https://shop.example/p/nc700"
    return [
        ("segment anonymousId", page, lambda m, v, t: _seg("page", m, t)),
        ("segment userId", page, lambda m, v, t: _seg("page", v, t, userId=m)),
        ("segment messageId", page, lambda m, v, t: _seg("page", v, t, messageId=m)),
        ("segment page properties.url", page,
         lambda m, v, t: _seg("page", v, t, properties={"url": _url(m)})),
        ("segment page properties.referrer", page,
         lambda m, v, t: _seg("page", v, t, properties={"url": url, "referrer": _url(m)})),
        ("segment page properties.category", page,
         lambda m, v, t: _seg("page", v, t, properties={"url": url, "category": m})),
        ("segment page properties.product_id", page,
         lambda m, v, t: _seg("page", v, t, properties={"url": url, "product_id": m})),
        ("segment page properties.page_type", page,
         lambda m, v, t: _seg("page", v, t, properties={"url": url, "page_type": m})),
        ("segment page properties.title", page,
         lambda m, v, t: _seg("page", v, t, properties={"url": url, "title": m})),
        ("segment page name", page, lambda m, v, t: _seg("page", v, t, name=m)),
        ("segment context.page.url", page,
         lambda m, v, t: _seg("page", v, t, context={"page": {"url": _url(m)}})),
        ("segment context.page.referrer", page, lambda m, v, t: _seg(
            "page", v, t, context={"page": {"url": url, "referrer": _url(m)}})),
        ("segment context.page.title", page, lambda m, v, t: _seg(
            "page", v, t, context={"page": {"url": url, "title": m}})),
        ("segment context.campaign.name", page, lambda m, v, t: _seg(
            "page", v, t, context={"campaign": {"name": m}})),
        ("segment context.campaign.medium", page, lambda m, v, t: _seg(
            "page", v, t, context={"campaign": {"medium": m}})),
        ("segment context.campaign.source", page, lambda m, v, t: _seg(
            "page", v, t, context={"campaign": {"source": m}})),
        ("segment context.location.country", page, lambda m, v, t: _seg(
            "page", v, t, context={"location": {"country": m}})),
        ("segment context.location.region", page, lambda m, v, t: _seg(
            "page", v, t, context={"location": {"region": m}})),
        ("segment context.location.city", page, lambda m, v, t: _seg(
            "page", v, t, context={"location": {"city": m}})),
        ("segment context.device.type", page, lambda m, v, t: _seg(
            "page", v, t, context={"device": {"type": m}})),
        ("segment context.userAgent", page, lambda m, v, t: _seg(
            "page", v, t, context={"userAgent": m})),
        ("segment context.timezone", page, lambda m, v, t: _seg(
            "page", v, t, context={"timezone": m})),
        ("segment context.ip", page, lambda m, v, t: _seg("page", v, t, context={"ip": m})),
        ("segment context.sessionId", page, lambda m, v, t: _seg(
            "page", v, t, context={"sessionId": m})),
        ("segment context.traits", page, lambda m, v, t: _seg(
            "page", v, t, context={"traits": {"name": m, "email": m}})),
        ("segment track event", "/v1/track", lambda m, v, t: _track(v, t, m)),
        ("segment track properties other key", "/v1/track",
         lambda m, v, t: _track(v, t, note=m)),
        ("segment track properties allowed key", "/v1/track",
         lambda m, v, t: _track(v, t, listing=m)),
        ("segment Product Added product_id", "/v1/track",
         lambda m, v, t: _track(v, t, "Product Added", product_id=m, price=3)),
        ("segment Product Added sku", "/v1/track",
         lambda m, v, t: _track(v, t, "Product Added", sku=m, price=3)),
        ("segment Order Completed order_id", "/v1/track",
         lambda m, v, t: _track(v, t, "Order Completed", order_id=m, revenue=3)),
        ("segment Products Searched query", "/v1/track",
         lambda m, v, t: _track(v, t, "Products Searched", query=m)),
        ("segment identify userId", "/v1/identify",
         lambda m, v, t: _seg("identify", v, t, userId=m)),
        ("segment identify traits.name", "/v1/identify", lambda m, v, t: _seg(
            "identify", v, t, userId="u-2", traits={"name": m, "email": m, "nickname": m})),
        ("segment identify traits allowed key", "/v1/identify", lambda m, v, t: _seg(
            "identify", v, t, userId="u-2", traits={"industry": m})),
        ("segment identify context.traits", "/v1/identify", lambda m, v, t: _seg(
            "identify", v, t, userId="u-2", context={"traits": {"nickname": m}})),
        ("segment group groupId", "/v1/group",
         lambda m, v, t: _seg("group", v, t, groupId=m)),
        ("segment group traits", "/v1/group", lambda m, v, t: _seg(
            "group", v, t, groupId="acme", traits={"name": m, "industry": m})),
        ("segment alias previousId", "/v1/alias",
         lambda m, v, t: _seg("alias", v, t, previousId=m, userId="u-3")),
        ("segment alias userId", "/v1/alias",
         lambda m, v, t: _seg("alias", v, t, previousId=v, userId=m)),
        ("segment screen name", "/v1/screen", lambda m, v, t: _seg("screen", v, t, name=m)),
        ("segment batch context", "/v1/batch", lambda m, v, t: {
            "batch": [_seg("page", v, t)], "context": {"campaign": {"name": m}}}),
    ]


CASES: list[Case] = [*_native_cases(), *_segment_cases()]

#: Fields where a name passes (README "Security" would list them with the reason). None
#: since ids and vocabulary fields keep only one-word values (a full name becomes a keyed
#: token ``t.<hex>``, an industry is dropped): :func:`pipeline.collector.minimise.opaque`.
#: A one-word name is a token too (capitalised, no digit: not a machine word).
KNOWN_NAME_LEAKS: frozenset[str] = frozenset()


def _read_everything(settings: Settings) -> list[bytes]:
    """Key and value of every record on every topic under the settings' prefix."""
    return [key + b"\x00" + value for records in read_prefix_topics(settings).values()
            for key, value in records]


def _letters(text: str) -> str:
    """``text`` (hex digits and decimal digits) spelled in letters: a name has no digits."""
    return text.translate(str.maketrans("0123456789abcdef", "abcdefghijklmnop"))


def _markers(run: str, i: int) -> tuple[str, str, str, str, str, str]:
    """(e-mail, its search needle, full name, its needle, one-word name, its needle) of
    case ``i``. The one-word name is a surname as people write it (capitalised, letters
    only: ``Okonkwo`` and a letter code of the run and the case)."""
    email_needle, name_needle = f"ann{run}c{i}e", f"zorabel{run}c{i}n"
    word = f"Okonkwo{_letters(run)}x{_letters(str(i))}"
    return (f"{email_needle}@mail{run}.example", email_needle,
            f"Zorabel{run}c{i}n Quimby", name_needle, word, word.lower())


async def test_no_email_anywhere_and_names_only_in_the_documented_fields(
        topics: Settings, tmp_path: Path) -> None:
    settings = dataclasses.replace(topics, visitor_token_keys=TOKEN_KEY)
    tokens = VisitorTokens((TOKEN_KEY,))
    run = uuid.uuid4().hex[:6]
    assert len({label for label, _, _ in CASES}) == len(CASES)
    assert {label for label, _, _ in CASES} >= KNOWN_NAME_LEAKS
    worker = WorkerProcess(settings, tmp_path / "data", tmp_path / "worker.log", learner=False)
    collector = CollectorService(settings, CollectorOptions(
        http_port=0, write_keys=frozenset({WRITE_KEY})))
    try:
        worker.wait_ready()
        served = await collector.start()
        now = int(time.time() * 1000)
        refused = []
        with capture_logs() as collector_logs:  # what the collector logged meanwhile
            async with aiohttp.ClientSession() as http:
                for i, (label, route, make) in enumerate(CASES):
                    email, _, name, _, word, _ = _markers(run, i)
                    for which, marker in (("e", email), ("n", name), ("w", word)):
                        body = _with_token(make(marker, f"v-{run}-{i}{which}", now), tokens)
                        async with http.post(f"{served.url}{route}", data=json.dumps(body),
                                             headers=SEGMENT_AUTH) as answer:
                            if answer.status != 200:
                                refused.append((label, which, answer.status,
                                                await answer.text()))
            await collector.stop()
        assert refused == []
        inputs = [settings.topic(EVENTS), settings.topic(PROFILES)]
        wait_caught_up(worker, inputs, timeout=120)
        # The profile side (its own group) too, then the worker again for what it forwarded.
        profile_side = SimpleNamespace(settings=settings, group=f"{worker.group}-profiles")
        wait_caught_up(profile_side, [settings.topic(PROFILES)], timeout=120)  # type: ignore[arg-type]
        wait_caught_up(worker, inputs, timeout=120)
    finally:
        await collector.stop()
        worker.stop()
    records = await asyncio.to_thread(_read_everything, settings)
    haystack = b"\n".join(records).lower()
    log = worker.log_path.read_bytes().lower() + repr(collector_logs).lower().encode()
    assert haystack.count(b"\x00") > 2 * len(CASES)  # the topics were read, not empty
    emails = [label for i, (label, _, _) in enumerate(CASES)
              if _markers(run, i)[1].encode() in haystack]
    names = {label for i, (label, _, _) in enumerate(CASES)
             if _markers(run, i)[3].encode() in haystack}
    words = [label for i, (label, _, _) in enumerate(CASES)
             if _markers(run, i)[5].encode() in haystack]
    in_log = [label for i, (label, _, _) in enumerate(CASES)
              if any(_markers(run, i)[k].encode() in log for k in (1, 3, 5))]
    assert emails == []
    assert words == []  # a one-word name: a keyed token everywhere (or dropped)
    assert in_log == []
    assert sorted(names - KNOWN_NAME_LEAKS) == []  # a new leak
    assert sorted(KNOWN_NAME_LEAKS - names) == []  # a field that no longer leaks: update the list
