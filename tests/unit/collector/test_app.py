"""The collector over HTTP (aiohttp's test client, a fake sink counting what is produced).

The fuzz tests post malformed payloads of every kind — garbage bytes, arbitrary
JSON, valid calls with one field broken, batches with one bad message, missing
or wrong write keys, oversize bodies — and assert a 4xx with a message, never a
5xx, and that nothing reached the sink.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from pipeline.collector.app import CollectorState, build_app
from pipeline.collector.identity import user_hash
from pipeline.collector.ingest import Ingestor
from pipeline.collector.metrics import CollectorMetrics
from pipeline.collector.options import CollectorOptions
from pipeline.collector.segment import SEGMENT_TYPES
from pipeline.serde import Codec
from pipeline.web.visitor_token import VisitorTokens
from tests.scrape import families, value
from tests.unit.collector.strategies import NOW_MS, native_batches, segment_calls
from tests.unit.served import hostile_settings, served

AUTH = {"Authorization": "Basic " + base64.b64encode(b"wk:").decode()}
MAX_BODY = 16 * 1024
IDENTITY = "site-identity-key-0123"


@dataclass
class FakeSink:
    produced: list[tuple[str, bytes | None, bytes | None]] = field(default_factory=list)

    def produce_raw(self, topic: str, value: bytes | None, key: bytes | None) -> None:
        self.produced.append((topic, key, value))


@dataclass
class Http:
    loop: asyncio.AbstractEventLoop
    client: TestClient
    sink: Any  # a FakeSink (what was produced), or whatever sink the test serves

    def post(self, path: str, data: bytes, headers: dict[str, str] | None = None,
             ) -> tuple[int, dict[str, Any], dict[str, str]]:
        async def go() -> tuple[int, dict[str, Any], dict[str, str]]:
            r = await self.client.post(path, data=data, headers=headers or {})
            return r.status, await r.json(), dict(r.headers)

        return self.loop.run_until_complete(go())


def collector_state(options: CollectorOptions, sink: Any, tokens: VisitorTokens | None = None,
                    topic: Callable[[str], str] = lambda name: f"t.{name}") -> CollectorState:
    """A collector's state over ``sink``; a fixed wall clock (``NOW_MS``) keeps generated
    event times inside the accepted range."""
    return CollectorState(Ingestor(options, Codec.default(), wall=lambda: NOW_MS / 1000),
                          sink, topic, CollectorMetrics.create(), tokens)


def serve(state: CollectorState) -> Iterator[Http]:
    """``state``'s app served for a module's tests (its sink is ``Http.sink``)."""
    with served(build_app(state)) as (loop, client):
        yield Http(loop, client, state.sink)


@pytest.fixture(scope="module")
def http() -> Iterator[Http]:
    options = CollectorOptions(http_port=0, write_keys=frozenset({"wk"}), max_body_bytes=MAX_BODY,
                               identity_keys=frozenset({IDENTITY}),
                               max_batch=20, visitor_rate_per_s=1e6, visitor_burst=10**6,
                               key_rate_per_s=1e6, key_burst=10**6,
                               address_rate_per_s=1e6, address_burst=10**6,
                               cors_origins=frozenset({"https://shop.example"}),
                               metrics_token="metrics-token-0123")
    yield from serve(collector_state(options, FakeSink()))


def refused(http: Http, path: str, data: bytes, headers: dict[str, str] | None = None) -> int:
    """Post, assert a 4xx with a message and nothing produced; return the status."""
    before = len(http.sink.produced)
    status, answer, _ = http.post(path, data, headers)
    assert 400 <= status < 500, (status, answer)
    assert answer["success"] is False and answer["error"]
    assert len(http.sink.produced) == before
    return status


def test_a_segment_batch_is_produced_keyed_by_visitor(http: Http) -> None:
    before = len(http.sink.produced)
    batch = {"batch": [
        {"type": "page", "anonymousId": "v1", "messageId": "app-1",
         "properties": {"url": "https://shop.example/p/nc700"}},
        {"type": "identify", "anonymousId": "v1", "userId": "u1", "messageId": "app-2",
         "traits": {"email": "a@b.example", "loyalty_tier": "gold"},
         "context": {"userHash": user_hash(IDENTITY, "u1")}}]}
    status, answer, _ = http.post("/v1/batch", json.dumps(batch).encode(), AUTH)
    assert (status, answer) == (200, {"success": True, "accepted": 2, "duplicates": 0,
                                      "ignored": 0})
    produced = http.sink.produced[before:]
    assert [(t, k) for t, k, _ in produced] == [("t.clickstream.events", b"v1"),
                                                ("t.profiles.updates", b"u1")]
    status, answer, _ = http.post("/v1/batch", json.dumps(batch).encode(), AUTH)
    assert answer["duplicates"] == 2 and len(http.sink.produced) == before + 2


def test_rate_limited_answers_carry_retry_after() -> None:
    async def go() -> None:
        options = CollectorOptions(write_keys=frozenset({"wk"}), visitor_rate_per_s=1.0,
                                   visitor_burst=1)
        sink = FakeSink()
        state = CollectorState(Ingestor(options, Codec.default()), sink, str,
                               CollectorMetrics.create())
        async with TestClient(TestServer(build_app(state))) as client:
            call = {"anonymousId": "v", "properties": {"url": "https://a.example/"}}
            assert (await client.post("/v1/page", json=call, headers=AUTH)).status == 200
            r = await client.post("/v1/page", json=call, headers=AUTH)
            assert r.status == 429 and r.headers["Retry-After"] == "1"
            assert len(sink.produced) == 1

    asyncio.run(go())


def test_one_address_over_its_request_rate_gets_429_for_any_visitor() -> None:
    """Per address: three visitors from one address with a burst of two requests; the
    third request is refused (429, a message, Retry-After) and produces nothing, whoever
    it is for; tracker batches and visitor tokens count too."""
    async def go() -> None:
        options = CollectorOptions(write_keys=frozenset({"wk"}), address_rate_per_s=0.5,
                                   address_burst=2)
        sink = FakeSink()
        state = CollectorState(Ingestor(options, Codec.default()), sink, str,
                               CollectorMetrics.create())
        async with TestClient(TestServer(build_app(state))) as client:
            answers = []
            for visitor in ("v1", "v2", "v3"):
                call = {"anonymousId": visitor, "properties": {"url": "https://a.example/"}}
                r = await client.post("/v1/page", json=call, headers=AUTH)
                answers.append((r.status, (await r.json()).get("error")))
            assert [status for status, _ in answers] == [200, 200, 429]
            assert "too many requests from this address" in str(answers[2][1])
            assert r.headers["Retry-After"] == "2"
            assert [k for _, k, _ in sink.produced] == [b"v1", b"v2"]
            native = {"writeKey": "wk", "visitor": "v4", "page": {"url": "https://a.example/"},
                      "events": [{"id": "e", "type": "page_view", "time": 1}]}
            assert (await client.post("/v1/t", json=native)).status == 429

    asyncio.run(go())


def test_oversize_and_origin_and_auth_refusals(http: Http) -> None:
    assert refused(http, "/v1/t", b" " * (MAX_BODY + 1)) == 413
    call = json.dumps({"type": "page", "anonymousId": "v",
                       "properties": {"url": "https://a.example/"}}).encode()
    assert refused(http, "/v1/page", call) == 401
    assert refused(http, "/v1/page", call, {**AUTH, "Origin": "https://evil.example"}) == 403
    status, _, headers = http.post("/v1/page", call, {**AUTH, "Origin": "https://shop.example"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "https://shop.example"


def test_unknown_routes_and_methods_are_4xx_json(http: Http) -> None:
    assert refused(http, "/v1/delete", b"{}", AUTH) == 404
    # Every Segment call has its endpoint; one that cannot be used is a 400, not a 200.
    assert refused(http, "/v1/group", b'{"anonymousId": "a"}', AUTH) == 400
    assert refused(http, "/v1/alias", b'{"userId": "u"}', AUTH) == 400

    async def get() -> int:
        return (await http.client.get("/v1/track")).status

    assert http.loop.run_until_complete(get()) == 405


def test_metrics_count_refusals_requests_and_messages(http: Http) -> None:
    async def get() -> str:
        return await (await http.client.get(
            "/metrics", headers={"Authorization": "Bearer metrics-token-0123"})).text()

    async def unauthorized() -> int:
        return (await http.client.get("/metrics")).status

    assert http.loop.run_until_complete(unauthorized()) == 401
    before = http.loop.run_until_complete(get())
    page = {"type": "page", "anonymousId": "m-1", "messageId": "metrics-1",
            "properties": {"url": "https://shop.example/"}}
    assert http.post("/v1/page", json.dumps(page).encode(), AUTH)[0] == 200
    assert http.post("/v1/page", json.dumps(page).encode())[0] == 401
    text = http.loop.run_until_complete(get())
    assert families(text) == {
        "rtp_collector_request_seconds": "histogram", "rtp_collector_requests_total": "counter",
        "rtp_collector_messages_total": "counter", "rtp_collector_refused_total": "counter"}

    def grew(name: str, **labels: str) -> float:
        return (value(text, name, **labels) or 0) - (value(before, name, **labels) or 0)

    assert grew("rtp_collector_refused_total", status="401") == 1
    assert grew("rtp_collector_requests_total", route="/v1/page", status="200") == 1
    assert grew("rtp_collector_requests_total", route="/v1/page", status="401") == 1
    assert grew("rtp_collector_request_seconds_count", route="/v1/page", method="POST") == 2
    assert grew("rtp_collector_messages_total", result="produced", record="ClickEvent") == 1


# -- fuzzing -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=5),
    max_leaves=15)
not_a_string = (st.integers() | st.booleans() | st.lists(st.integers(), max_size=2)
                | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
not_an_object = st.integers() | st.booleans() | st.text(max_size=5) | st.lists(st.none(),
                                                                             max_size=2)
not_a_time = (st.sampled_from(["yesterday", "", "2027-13-45T00:00:00Z", "now"]) | st.booleans()
              | st.lists(st.none(), max_size=1) | st.integers(max_value=-1))
endpoints = st.sampled_from(["/v1/track", "/v1/page", "/v1/identify", "/v1/batch", "/v1/t",
                             "/v1/import"])

#: Fields of a Segment call that the collector reads, by call type, and what breaks them.
SEGMENT_BREAKS: dict[str, list[tuple[tuple[str, ...], st.SearchStrategy[Any]]]] = {
    "all": [(("anonymousId",), not_a_string), (("userId",), not_a_string),
            (("messageId",), not_a_string), (("timestamp",), not_a_time),
            (("context",), not_an_object), (("type",), not_a_string)],
    "page": [(("context", "page"), not_an_object), (("context", "page", "url"), not_a_string),
             (("properties",), not_an_object)],
    "track": [(("event",), not_a_string | st.none()), (("properties",), not_an_object)],
    "identify": [(("traits",), not_an_object)],
    "screen": [(("properties",), not_an_object), (("name",), not_a_string)],
    "group": [(("traits",), not_an_object),
              (("groupId",), st.none() | st.booleans() | st.just([]) | st.just({}))],
    "alias": [(("previousId",), not_a_string | st.none())],
}


def _set(message: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        message = message.setdefault(key, {})
    message[path[-1]] = value


@st.composite
def broken_segment_calls(draw: st.DrawFn) -> dict[str, Any]:
    """A valid call with one field it needs broken (wrong type, or both ids removed)."""
    message = copy.deepcopy(draw(segment_calls()))
    kind = message["type"]
    if draw(st.integers(0, 9)) == 0:
        message.pop("anonymousId", None)
        message.pop("userId", None)
        return message
    path, wrong = draw(st.sampled_from(SEGMENT_BREAKS["all"] + SEGMENT_BREAKS[kind]))
    if path == ("userId",) and "anonymousId" not in message:
        path = ("anonymousId",)
    _set(message, path, draw(wrong))
    return message


NATIVE_BREAKS: list[tuple[tuple[str, ...], st.SearchStrategy[Any]]] = [
    (("visitor",), not_a_string | st.none()), (("events",), not_an_object | st.none()),
    (("page",), st.integers() | st.text(max_size=3)), (("sentAt",), not_a_time),
    (("events", "0", "type"), not_a_string | st.none()),
    (("events", "0", "id"), not_a_string | st.none()),
    (("events", "0", "time"), not_a_time | st.none()),
]


@st.composite
def broken_native_batches(draw: st.DrawFn) -> dict[str, Any]:
    body = copy.deepcopy(draw(native_batches()))
    path, wrong = draw(st.sampled_from(NATIVE_BREAKS))
    if path[0] == "events" and len(path) > 1:
        body["events"][0][path[2]] = draw(wrong)
    else:
        body[path[0]] = draw(wrong)
    return body


FUZZ = hostile_settings(120)


@FUZZ
@given(endpoints, st.binary(max_size=200))
def test_garbage_bytes_are_refused(http: Http, path: str, data: bytes) -> None:
    refused(http, path, data, AUTH)


@FUZZ
@given(endpoints, json_values)
def test_arbitrary_json_is_refused_or_fully_produced(http: Http, path: str, value: Any) -> None:
    before = len(http.sink.produced)
    status, answer, _ = http.post(path, json.dumps(value).encode(), AUTH)
    assert status < 500, answer
    if status == 200:  # arbitrary JSON can be a valid (tiny) identify; then all of it counts
        assert len(http.sink.produced) - before == answer["accepted"]
    else:
        assert 400 <= status < 500 and answer["error"] and len(http.sink.produced) == before


@FUZZ
@given(broken_segment_calls(), st.booleans())
def test_segment_calls_with_a_broken_field_are_refused(http: Http, message: dict[str, Any],
                                                        in_batch: bool) -> None:
    if in_batch:
        good = {"type": "page", "anonymousId": "ok", "properties": {"url": "https://a.example/"}}
        refused(http, "/v1/batch", json.dumps({"batch": [good, message]}).encode(), AUTH)
    else:
        kind = message.get("type")
        path = f"/v1/{kind}" if kind in SEGMENT_TYPES else "/v1/track"
        refused(http, path, json.dumps(message).encode(), AUTH)


@FUZZ
@given(broken_native_batches())
def test_tracker_batches_with_a_broken_field_are_refused(http: Http,
                                                         body: dict[str, Any]) -> None:
    refused(http, "/v1/t", json.dumps(body).encode())


@FUZZ
@given(segment_calls(), st.sampled_from([None, "Basic d3Jvbmc6", "Token wk", "Basic"]))
def test_valid_calls_without_a_valid_key_are_refused(http: Http, message: dict[str, Any],
                                                     authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    assert refused(http, f"/v1/{message['type']}", json.dumps(message).encode(), headers) == 401


@FUZZ
@given(native_batches())
def test_valid_tracker_batches_are_produced_in_full(http: Http, body: dict[str, Any]) -> None:
    before = len(http.sink.produced)
    status, answer, _ = http.post("/v1/t", json.dumps(body).encode())
    assert status == 200, answer
    produced = http.sink.produced[before:]
    records = [Codec.default().decode(value)[1] for _, _, value in produced if value is not None]
    claims = [r for r in records if r.get("kind") == "claim"]  # index entries, not records
    assert len(produced) - len(claims) == answer["accepted"]
    assert answer["accepted"] + answer["duplicates"] == len(body["events"])
    # one index entry per (device, claimed user id), at most (none when nothing is new)
    assert len({(r["visitor_id"], r["user_id"]) for r in claims}) == len(claims)
