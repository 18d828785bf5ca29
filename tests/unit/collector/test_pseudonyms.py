"""With pseudonym keys set, no user id (an e-mail here) leaves the collector as sent."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pipeline.collector.app import CollectorState, build_app
from pipeline.collector.ingest import Ingestor
from pipeline.collector.metrics import CollectorMetrics
from pipeline.collector.options import CollectorOptions
from pipeline.profiles import Pseudonyms
from pipeline.serde import Codec
from tests.unit.collector.test_app import FakeSink

EMAIL = "ann.example@example.com"
NAMES = Pseudonyms(("new-pseudonym-key-0123", "old-pseudonym-key-0123"))
ADMIN = "admin-token-0123456789"
AUTH = {"Authorization": "Basic " + base64.b64encode(b"wk:").decode()}
NOW_S = 1_800_000_000.0


@pytest.fixture
async def served() -> AsyncIterator[tuple[TestClient, FakeSink]]:
    sink = FakeSink()
    options = CollectorOptions(write_keys=frozenset({"wk"}), admin_token=ADMIN)
    ingestor = Ingestor(options, Codec.default(), wall=lambda: NOW_S, pseudonyms=NAMES)
    client = TestClient(TestServer(build_app(CollectorState(
        ingestor, sink, str, CollectorMetrics.create()))))
    await client.start_server()
    yield client, sink
    await client.close()


def _leaks(sink: FakeSink) -> list[str]:
    secret = EMAIL.encode()
    return [topic for topic, key, value in sink.produced
            if secret in (key or b"") or secret in (value or b"")]


async def test_every_call_carrying_the_user_id_produces_its_pseudonym_only(
        served: tuple[TestClient, FakeSink]) -> None:
    client, sink = served
    t = "2027-01-15T08:00:00.000Z"
    batch = {"batch": [
        {"type": "identify", "anonymousId": "v1", "userId": EMAIL, "messageId": "m1",
         "timestamp": t, "traits": {"loyalty_tier": "gold"}},
        {"type": "page", "anonymousId": "v1", "userId": EMAIL, "messageId": "m2",
         "timestamp": t, "properties": {"url": "https://shop.example/p/1"}},
        {"type": "track", "event": "Product Added", "anonymousId": "v1", "userId": EMAIL,
         "messageId": "m3", "timestamp": t, "properties": {"product_id": "p1"},
         "context": {"page": {"url": "https://shop.example/p/1"}}},
        {"type": "alias", "previousId": "v2", "userId": EMAIL, "messageId": "m4",
         "timestamp": t}]}
    r = await client.post("/v1/batch", data=json.dumps(batch), headers=AUTH)
    assert r.status == 200, await r.text()
    native = {"writeKey": "wk", "visitor": "v3", "user": EMAIL, "sentAt": int(NOW_S * 1000),
              "page": {"url": "https://shop.example/p/1"},
              "events": [{"id": "n1", "type": "page_view", "time": int(NOW_S * 1000)},
                         {"id": "n2", "type": "identify", "time": int(NOW_S * 1000),
                          "user": EMAIL}]}
    r = await client.post("/v1/t", data=json.dumps(native))
    assert r.status == 200, await r.text()

    assert len(sink.produced) == 6 and _leaks(sink) == []
    pseudonym = NAMES.of(EMAIL)
    codec = Codec.default()
    users = {codec.decode(value or b"")[1]["user_id"] for _, _, value in sink.produced}
    assert users == {pseudonym}
    assert sorted(key for topic, key, _ in sink.produced if topic == "profiles.updates") == [
        pseudonym.encode()] * 3


async def test_erasure_names_the_person_under_every_key(
        served: tuple[TestClient, FakeSink]) -> None:
    client, sink = served
    r = await client.post("/v1/privacy/erasure", json={"userId": EMAIL},
                          headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status == 202, await r.text()
    assert _leaks(sink) == []
    assert [key for _, key, _ in sink.produced] == [p.encode() for p in NAMES.every(EMAIL)]
    assert len(set(NAMES.every(EMAIL))) == 2
