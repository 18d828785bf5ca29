"""``POST /v1/privacy/erasure``: only with the admin token; one erasure ProfileUpdate."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pipeline.collector.app import CollectorState, build_app
from pipeline.collector.ingest import Ingestor
from pipeline.collector.metrics import CollectorMetrics
from pipeline.collector.options import CollectorOptions
from pipeline.serde import Codec
from tests.unit.collector.test_app import FakeSink

ADMIN = "admin-token-0123456789"


async def _client(admin_token: str) -> tuple[TestClient, FakeSink]:
    sink = FakeSink()
    options = CollectorOptions(write_keys=frozenset({"wk"}), admin_token=admin_token)
    state = CollectorState(Ingestor(options, Codec.default(), wall=lambda: 1_800_000_000.0),
                           sink, lambda name: "p." + name, CollectorMetrics.create())
    client = TestClient(TestServer(build_app(state)))
    await client.start_server()
    return client, sink


@pytest.fixture
async def served() -> AsyncIterator[tuple[TestClient, FakeSink]]:
    client, sink = await _client(ADMIN)
    yield client, sink
    await client.close()


async def _erase(client: TestClient, body: object, token: str | None = ADMIN,
                 raw: bytes | None = None) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    r = await client.post("/v1/privacy/erasure", headers=headers,
                          data=raw if raw is not None else json.dumps(body))
    return r.status, await r.json()


async def test_the_admin_token_gets_one_erasure_keyed_by_the_person(
        served: tuple[TestClient, FakeSink]) -> None:
    client, sink = served
    status, answer = await _erase(client, {"userId": "ann@example.com", "anonymousId": "v-1"})
    assert status == 202 and answer["success"] is True
    [(topic, key, value)] = sink.produced
    assert (topic, key) == ("p.profiles.updates", b"ann@example.com")
    name, record = Codec.default().decode(value or b"")
    assert name == "ProfileUpdate"
    assert record == {"update_id": answer["erasure"], "kind": "erasure", "visitor_id": "v-1",
                      "user_id": "ann@example.com", "event_time": 1_800_000_000_000,
                      "traits": {}, "consent": None}


@pytest.mark.parametrize(("token", "status"), [(None, 401), ("wk", 401), ("guess", 401)])
async def test_without_the_admin_token_nothing_is_produced(
        served: tuple[TestClient, FakeSink], token: str | None, status: int) -> None:
    client, sink = served
    got, answer = await _erase(client, {"anonymousId": "v-1"}, token=token)
    assert (got, answer["success"]) == (status, False)
    assert "Authorization: Bearer" in str(answer["error"])
    assert sink.produced == []


async def test_the_route_is_off_until_an_admin_token_is_set() -> None:
    client, sink = await _client("")
    try:
        status, answer = await _erase(client, {"anonymousId": "v-1"}, token="")
        assert status == 403 and "RTP_COLLECTOR_ADMIN_TOKEN" in str(answer["error"])
        assert sink.produced == []
    finally:
        await client.close()


@pytest.mark.parametrize(("body", "raw", "message"), [
    ({}, None, "name the person"),
    ([], None, "JSON object"),
    ({"userId": 5}, None, "userId must be a string"),
    ({"anonymousId": "x" * 5000}, None, "longer than"),
    (None, b'{"anonymousId": "\\ud800"}', ""),
    (None, b"not json", ""),
])
async def test_bad_requests_get_a_400_with_a_message_and_produce_nothing(
        served: tuple[TestClient, FakeSink], body: object, raw: bytes | None,
        message: str) -> None:
    client, sink = served
    status, answer = await _erase(client, body, raw=raw)
    assert status == 400 and answer["success"] is False
    assert message in str(answer["error"]) and answer["error"]
    assert sink.produced == []


async def test_erasure_requests_are_rate_limited_per_address_before_the_key() -> None:
    """Guesses of the admin token count: after the address's burst even the right token
    gets 429 and nothing is produced."""
    sink = FakeSink()
    options = CollectorOptions(write_keys=frozenset({"wk"}), admin_token=ADMIN,
                               address_rate_per_s=0.001, address_burst=2)
    state = CollectorState(Ingestor(options, Codec.default(), wall=lambda: 1_800_000_000.0),
                           sink, lambda name: "p." + name, CollectorMetrics.create())
    async with TestClient(TestServer(build_app(state))) as client:
        got = [await _erase(client, {"anonymousId": "v-1"}, token=token)
               for token in ("guess-1", "guess-2", ADMIN)]
    assert [status for status, _ in got] == [401, 401, 429]
    assert "too many requests" in str(got[-1][1]["error"]) and sink.produced == []
