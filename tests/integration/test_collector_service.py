"""The collector on the real broker: Segment and tracker payloads land decoded, keyed by visitor;
refused requests and duplicates produce nothing."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from pipeline.collector import CollectorOptions, CollectorService
from pipeline.collector.identity import user_hash
from pipeline.profiles import resolve_pseudonyms
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import EVENTS, PROFILES
from pipeline.web.visitor_token import VisitorTokens
from tests.integration.kafka_reader import read_topic, total_messages

CODEC = Codec.default()
AUTH = {"Authorization": "Basic " + base64.b64encode(b"it-key:").decode()}
#: The site's identity key (its server signs user ids: ``userHash``) and its server write key.
IDENTITY = "it-identity-key-0123456789"
SERVER_KEY = "it-server-key"
#: The collector's visitor token key: a browser's request names a visitor with its token.
TOKEN_KEY = "it-visitor-token-key-0123456789"
TOKENS = VisitorTokens((TOKEN_KEY,))


@asynccontextmanager
async def collector(settings: Settings) -> AsyncIterator[str]:
    options = CollectorOptions(
        http_port=0, write_keys=frozenset({"it-key"}), server_keys=frozenset({SERVER_KEY}),
        identity_keys=frozenset({IDENTITY}), cors_origins=frozenset({"https://shop.example"}))
    service = CollectorService(dataclasses.replace(settings, visitor_token_keys=TOKEN_KEY),
                               options)
    served = await service.start()
    try:
        yield served.url
    finally:
        await service.stop()  # flushes: everything acknowledged is on the broker after this


def decoded(settings: Settings, topic: str, name: str,
            count: int) -> list[tuple[bytes | None, Any]]:
    messages = read_topic(settings, topic, count, timeout=30)
    return [(m.key(), CODEC.decode(m.value(), (name,))[1]) for m in messages]


async def test_segment_and_tracker_payloads_land_decoded(topics: Settings) -> None:
    now = int(time.time() * 1000)
    segment = {"batch": [
        {"type": "page", "anonymousId": "anon-7", "messageId": "seg-1",
         "properties": {"url": "https://shop.example/shipping"},
         "context": {"userAgent": "Mozilla/5.0 (iPhone) Mobile", "ip": "198.51.100.4"}},
        {"type": "track", "event": "Product Added", "anonymousId": "anon-7",
         "messageId": "seg-2", "properties": {"product_id": "nc700", "price": 349},
         "context": {"page": {"url": "https://shop.example/p/nc700"}}},
        {"type": "identify", "anonymousId": "anon-7", "userId": "user-7", "messageId": "seg-3",
         "traits": {"email": "seven@example.com", "loyalty_tier": "gold"},
         "context": {"userHash": user_hash(IDENTITY, "user-7")}},
    ], "context": {"visitorToken": TOKENS.issue("anon-7")}}  # the batch's: every call's
    native = {"writeKey": "it-key", "visitor": "v-tracker", "token": TOKENS.issue("v-tracker"),
              "session": "s-1", "sentAt": now,
              "page": {"url": "https://shop.example/shop/p/nc700.html", "type": "product",
                       "product": "nc700"},
              "events": [{"id": "t-1", "type": "page_view", "time": now},
                         {"id": "t-2", "type": "click", "time": now, "x": 10, "y": 20,
                          "target": "button#add-to-cart", "interactive": True}]}
    async with collector(topics) as url, aiohttp.ClientSession() as http:
        async with http.post(f"{url}/v1/batch", data=json.dumps(segment), headers=AUTH) as r:
            assert (r.status, (await r.json())["accepted"]) == (200, 3)
        async with http.post(f"{url}/v1/t", data=json.dumps(native),
                             headers={"Origin": "https://shop.example",
                                      "Content-Type": "text/plain"}) as r:
            assert r.status == 200
            assert r.headers["Access-Control-Allow-Origin"] == "https://shop.example"

    events = await asyncio.to_thread(decoded, topics, topics.topic(EVENTS), "ClickEvent", 4)
    by_id = {e["event_id"]: (key, e) for key, e in events}
    assert sorted(by_id) == ["seg-1", "seg-2", "t-1", "t-2"]
    key, page = by_id["seg-1"]
    assert key == b"anon-7" and page["page"]["page_type"] == "shipping_returns"
    assert page["context"]["device"] == "mobile" and "198.51.100.4" not in repr(page)
    assert by_id["seg-2"][1]["cart"]["value"] == 349.0
    key, click = by_id["t-2"]
    assert key == b"v-tracker" and click["click"]["interactive"] is True
    assert click["page"]["product_id"] == "nc700" and click["session_hint"] == "s-1"

    profiles = await asyncio.to_thread(decoded, topics, topics.topic(PROFILES), "ProfileUpdate",
                                       1)
    (key, identify), = profiles
    user = resolve_pseudonyms(topics).of("user-7")  # pseudonyms by default
    assert key == user.encode() and identify["kind"] == "identify"
    assert identify["user_id"] == user
    assert identify["traits"] == {"loyalty_tier": "gold"}  # the e-mail never reached Kafka


async def test_refused_requests_and_duplicates_produce_nothing(topics: Settings) -> None:
    good = {"type": "page", "anonymousId": "v-x", "messageId": "only-once",
            "properties": {"url": "https://shop.example/"},
            "context": {"visitorToken": TOKENS.issue("v-x")}}
    refusals = [
        ("/v1/page", json.dumps({**good, "context": {}}).encode(), AUTH),  # no visitor token
        ("/v1/page", json.dumps({**good, "anonymousId": "v-y"}).encode(), AUTH),  # v-x's
        ("/v1/page", json.dumps(good).encode(), {}),                       # no write key
        ("/v1/page", json.dumps(good).encode(), {"Authorization": "Basic eDo="}),  # wrong key
        ("/v1/page", b"{not json", AUTH),
        ("/v1/page", json.dumps({**good, "anonymousId": 7}).encode(), AUTH),
        ("/v1/batch", json.dumps({"batch": [good, {"type": "page"}]}).encode(), AUTH),
        ("/v1/t", b" " * 600_000, AUTH),
        ("/v1/page", json.dumps(good).encode(), {**AUTH, "Origin": "https://evil.example"}),
    ]
    async with collector(topics) as url, aiohttp.ClientSession() as http:
        for path, body, headers in refusals:
            async with http.post(url + path, data=body, headers=headers) as r:
                assert 400 <= r.status < 500, (path, r.status)
                assert (await r.json())["error"]
        for expected in ({"accepted": 1, "duplicates": 0}, {"accepted": 0, "duplicates": 1}):
            async with http.post(f"{url}/v1/page", data=json.dumps(good), headers=AUTH) as r:
                answer = await r.json()
                assert {k: answer[k] for k in expected} == expected
    count = await asyncio.to_thread(total_messages, topics, topics.topic(EVENTS))
    assert count == 1


async def test_with_pseudonym_keys_no_user_id_reaches_kafka_as_sent(topics: Settings) -> None:
    """An e-mail as Segment userId, in identify, page and track: on the real topics only
    its keyed pseudonym (as key and as user_id); the e-mail's bytes nowhere."""
    from pipeline.profiles import Pseudonyms

    email = f"pat.{int(time.time())}@example.com"
    settings = dataclasses.replace(topics, pseudonym_keys="it-pseudonym-key-0123456789",
                                   visitor_token_keys=TOKEN_KEY)
    pseudonym = Pseudonyms(settings.pseudonym_key_list()).of(email)
    batch = {"batch": [
        {"type": "identify", "anonymousId": "anon-p", "userId": email, "messageId": "p-1",
         "traits": {"loyalty_tier": "gold"}},
        {"type": "page", "anonymousId": "anon-p", "userId": email, "messageId": "p-2",
         "properties": {"url": "https://shop.example/p/nc700"}},
        {"type": "track", "event": "Product Added", "anonymousId": "anon-p", "userId": email,
         "messageId": "p-3", "properties": {"product_id": "nc700"},
         "context": {"page": {"url": "https://shop.example/p/nc700"}}}],
        "context": {"userHash": user_hash(IDENTITY, email),  # the batch's: every call's
                    "visitorToken": TOKENS.issue("anon-p")}}
    service = CollectorService(settings, CollectorOptions(
        http_port=0, write_keys=frozenset({"it-key"}), identity_keys=frozenset({IDENTITY})))
    served = await service.start()
    try:
        async with aiohttp.ClientSession() as http, http.post(
                f"{served.url}/v1/batch", data=json.dumps(batch), headers=AUTH) as r:
            assert (r.status, (await r.json())["accepted"]) == (200, 3)
    finally:
        await service.stop()
    events = await asyncio.to_thread(read_topic, settings, settings.topic(EVENTS), 2)
    updates = await asyncio.to_thread(read_topic, settings, settings.topic(PROFILES), 1)
    raw = [(m.key() or b"", m.value() or b"") for m in [*events, *updates]]
    assert len(raw) == 3 and not [kv for kv in raw if email.encode() in kv[0] + kv[1]]
    assert [m.key() for m in updates] == [pseudonym.encode()]
    assert {CODEC.decode(m.value())[1]["user_id"] for m in [*events, *updates]} == {pseudonym}
