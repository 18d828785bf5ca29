"""With pseudonym keys set, no user id (an e-mail here) leaves the collector as sent."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pipeline.collector.app import CollectorState, build_app
from pipeline.collector.identity import user_hash
from pipeline.collector.ingest import Ingestor
from pipeline.collector.metrics import CollectorMetrics
from pipeline.collector.options import CollectorOptions
from pipeline.profiles import Pseudonyms, is_claim
from pipeline.serde import Codec
from tests.unit.collector.produced import client_records, is_index_entry
from tests.unit.collector.test_app import FakeSink

EMAIL = "ann.example@example.com"
NAMES = Pseudonyms(("new-pseudonym-key-0123", "old-pseudonym-key-0123"))
ADMIN = "admin-token-0123456789"
IDENTITY = "site-identity-key-0123"
SIGNED = user_hash(IDENTITY, EMAIL)  # what the site's server gives the page with the id
AUTH = {"Authorization": "Basic " + base64.b64encode(b"wk:").decode()}
NOW_S = 1_800_000_000.0


@pytest.fixture
async def served() -> AsyncIterator[tuple[TestClient, FakeSink]]:
    sink = FakeSink()
    options = CollectorOptions(write_keys=frozenset({"wk"}), admin_token=ADMIN,
                               identity_keys=frozenset({IDENTITY}))
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
         "timestamp": t}], "context": {"userHash": SIGNED}}
    r = await client.post("/v1/batch", data=json.dumps(batch), headers=AUTH)
    assert r.status == 200, await r.text()
    native = {"writeKey": "wk", "visitor": "v3", "user": EMAIL, "userHash": SIGNED,
              "sentAt": int(NOW_S * 1000), "page": {"url": "https://shop.example/p/1"},
              "events": [{"id": "n1", "type": "page_view", "time": int(NOW_S * 1000)},
                         {"id": "n2", "type": "identify", "time": int(NOW_S * 1000),
                          "user": EMAIL, "userHash": SIGNED}]}
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


async def test_a_client_cannot_choose_its_pseudonym(
        served: tuple[TestClient, FakeSink]) -> None:
    """A userId shaped like someone's pseudonym, sent without a userHash, stays the device's
    claim: it never stitches the sender to that person (the SDK, on the site's servers, may
    pass pseudonyms through)."""
    client, sink = served
    victim = NAMES.of(EMAIL)
    native = {"writeKey": "wk", "visitor": "v9", "user": victim, "sentAt": int(NOW_S * 1000),
              "page": {"url": "https://shop.example/p/1"},
              "events": [{"id": "n1", "type": "page_view", "time": int(NOW_S * 1000)},
                         {"id": "n2", "type": "identify", "time": int(NOW_S * 1000),
                          "user": victim}]}
    r = await client.post("/v1/t", data=json.dumps(native))
    assert r.status == 200, await r.text()
    r = await client.post("/v1/identify", headers=AUTH, data=json.dumps(
        {"anonymousId": "v9", "userId": victim, "traits": {"plan": "pro"}}))
    assert r.status == 200, await r.text()
    codec = Codec.default()
    records = client_records(sink.produced)
    users = {codec.decode(value or b"")[1]["user_id"] for _, _, value in records}
    keys = {key for topic, key, _ in records if topic == "profiles.updates"}
    # its claim index entry is keyed by the pseudonym *of what it sent*, not the victim's
    assert {key for _, key, value in sink.produced if is_index_entry(value)} == {
        NAMES.of(victim).encode()}
    assert all(is_claim(u) for u in users) and len(users) == 1  # one claim, device v9's
    assert victim not in users and NAMES.of(victim) not in users
    assert keys == {b"v9"}  # the device's own profile, not the person's
    assert NAMES.of(victim, trusted=True) == victim  # the SDK's path keeps it
    # an operator erasing by the value the client sent reaches what was stored for it
    assert NAMES.of(victim) in NAMES.every(victim) and victim in NAMES.every(victim)


async def test_after_a_key_rotation_an_erasure_by_an_email_anonymous_id_reaches_both_tokens(
        served: tuple[TestClient, FakeSink]) -> None:
    """Events sent before a rotation carry the old key's token of an e-mail-shaped anonymousId;
    the erasure names the visitor under the old key's token too (and never as sent)."""
    before, after = Pseudonyms(NAMES.keys[1:]), NAMES
    stored = []
    for names in (before, after):
        sink = FakeSink()
        ingestor = Ingestor(CollectorOptions(write_keys=frozenset({"wk"})), Codec.default(),
                            wall=lambda: NOW_S, pseudonyms=names)
        accepted = ingestor.segment("page", json.dumps(
            {"anonymousId": EMAIL, "messageId": "m1",
             "properties": {"url": "https://shop.example/p/1"}}).encode(), AUTH["Authorization"])
        stored.append(accepted.messages[0].record["visitor_id"])
    assert stored[0] != stored[1] and all(s.startswith("e.") for s in stored)
    client, sink = served
    r = await client.post("/v1/privacy/erasure", json={"anonymousId": EMAIL},
                          headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status == 202, await r.text()
    codec = Codec.default()
    erased = [codec.decode(value or b"")[1]["visitor_id"] for _, _, value in sink.produced]
    assert sorted(erased) == sorted(stored)  # both tokens, nothing else
    assert [key for _, key, _ in sink.produced] == [s.encode() for s in reversed(stored)]
    assert _leaks(sink) == []


async def test_after_a_key_rotation_an_erasure_by_user_and_name_shaped_id_pairs_keys(
        served: tuple[TestClient, FakeSink]) -> None:
    client, sink = served
    r = await client.post("/v1/privacy/erasure", json={"userId": EMAIL, "anonymousId": "Ann X"},
                          headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status == 202, await r.text()
    codec = Codec.default()
    pairs = [(codec.decode(v or b"")[1]["user_id"], codec.decode(v or b"")[1]["visitor_id"])
             for _, _, v in sink.produced]
    users = NAMES.every(EMAIL)
    assert [u for u, _ in pairs] == list(users)
    assert [v[:2] for _, v in pairs] == ["t.", "t."] and pairs[0][1] != pairs[1][1]
    assert b"Ann X" not in b"".join(v or b"" for _, _, v in sink.produced)
