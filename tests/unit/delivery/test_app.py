"""The delivery API through aiohttp's test client: fakes for the feed and the outcome sink."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from confluent_kafka import KafkaException

from pipeline.delivery.answers import decisions_answer
from pipeline.delivery.app import DeliveryState, build_app
from pipeline.delivery.feed import FORGET, FeedStatus
from pipeline.delivery.metrics import DeliveryMetrics
from pipeline.delivery.options import DeliveryOptions
from pipeline.delivery.store import DecisionStore
from pipeline.delivery.stream import StreamHub
from pipeline.serde import Codec, MeaningRules
from tests.scrape import families, value
from tests.unit.delivery.factories import NOW_MS, decision

METRICS = {"Authorization": "Bearer metrics-token-0123"}


@dataclass
class FakeSink:
    """Records outcomes; ``fail`` makes it raise like a producer that cannot reach Kafka."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    fail: bool = False

    def send_outcome(self, outcome: dict[str, Any]) -> None:
        if self.fail:
            raise KafkaException("broker down")
        self.sent.append(outcome)


@dataclass
class Parts:
    client: TestClient
    state: DeliveryState
    sink: FakeSink
    status: list[FeedStatus]


@pytest.fixture
async def parts() -> AsyncIterator[Parts]:
    store, hub, sink = DecisionStore(), StreamHub(), FakeSink()
    status = [FeedStatus(started=True)]
    options = DeliveryOptions(http_port=0, max_body_bytes=2048, sse_heartbeat_s=0.05,
                              cors_origins=frozenset({"https://shop.example"}),
                              collector_url="http://collector.example", write_key="wk",
                              metrics_token="metrics-token-0123")
    state = DeliveryState(options=options, store=store, hub=hub, outcomes=sink,
                          feed_status=lambda: status[0], feed_alive=lambda: True,
                          metrics=DeliveryMetrics.create(store, lambda: status[0],
                                                         lambda: hub.open_streams),
                          codec=Codec.default(), rules=MeaningRules(),
                          clock=lambda: NOW_MS / 1000)
    client = TestClient(TestServer(build_app(state)))
    await client.start_server()
    yield Parts(client, state, sink, status)
    await client.close()


async def test_decisions_for_a_known_visitor(parts: Parts) -> None:
    parts.state.store.offer(decision("v1"), NOW_MS)
    r = await parts.client.get("/v1/decisions", params={"visitor": "v1", "slots": "hero,overlay"})
    body = await r.json()
    assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
    assert body["decisions"]["hero"]["action_id"] == "free_express_shipping"
    assert body["decisions"]["overlay"] is None


async def test_decisions_answer_is_the_json_of_decisions_answer_byte_for_byte(
        parts: Parts) -> None:
    parts.state.store.offer(decision("v1"), NOW_MS)
    for query in ({"visitor": "v1", "slots": "overlay, hero"}, {"visitor": "v1"},
                  {"visitor": " v1 ", "slots": "hero"}, {"visitor": "nobody", "slots": "hero"}):
        r = await parts.client.get("/v1/decisions", params=query)
        visitor = query["visitor"].strip()
        slots = [s.strip() for s in query["slots"].split(",")] if "slots" in query else None
        held = parts.state.store.current(visitor, NOW_MS, slots)
        assert await r.read() == json.dumps(decisions_answer(visitor, held, slots, NOW_MS)).encode()
        assert r.status == 200
        assert r.headers["Content-Type"] == "application/json; charset=utf-8"
        assert r.headers["Cache-Control"] == "no-store"


async def test_decisions_follow_the_store_and_the_clock(parts: Parts) -> None:
    query = {"visitor": "v1", "slots": "hero"}

    async def hero() -> Any:
        return (await (await parts.client.get("/v1/decisions", params=query)).json())[
            "decisions"]["hero"]

    assert await hero() is None
    parts.state.store.offer(decision("v1", decision_id="a", ttl_ms=1000), NOW_MS)
    assert (await hero())["decision_id"] == "a"
    assert (await hero())["decision_id"] == "a"
    parts.state.store.offer(decision("v1", decision_id="b", created_at=NOW_MS + 1, ttl_ms=1000),
                            NOW_MS)
    assert (await hero())["decision_id"] == "b"
    parts.state.clock = lambda: (NOW_MS + 1001) / 1000
    assert await hero() is None


async def test_unknown_visitor_gets_an_explicit_empty_answer(parts: Parts) -> None:
    r = await parts.client.get("/v1/decisions", params={"visitor": "stranger", "slots": "hero"})
    assert r.status == 200
    assert (await r.json())["decisions"] == {"hero": None}
    r = await parts.client.get("/v1/decisions", params={"visitor": "stranger"})
    assert (await r.json())["decisions"] == {}


@pytest.mark.parametrize("query", ["", "?visitor=", "?visitor=v&slots=a,b%3C"])
async def test_bad_queries_get_400_with_a_message(parts: Parts, query: str) -> None:
    r = await parts.client.get("/v1/decisions" + query)
    assert r.status == 400 and (await r.json())["error"]


async def test_outcomes_are_validated_then_produced(parts: Parts) -> None:
    r = await parts.client.post("/v1/outcomes", data=json.dumps(
        {"decision_id": "d1", "visitor_id": "v1", "kind": "clicked"}),
        headers={"Content-Type": "text/plain"})  # what the tracker sends (no preflight)
    assert r.status == 202 and (await r.json())["outcome_ids"] == ["d1:clicked"]
    assert [o["kind"] for o in parts.sink.sent] == ["clicked"]


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe", b"[" * 5000 + b"]" * 5000,
                                  b'{"decision_id": "d", "visitor_id": "v", "kind": 1}',
                                  b'[{"decision_id": "d", "visitor_id": "v", "kind": "shown"},'
                                  b' {"kind": "shown"}]'])
async def test_bad_outcomes_get_4xx_and_nothing_is_produced(parts: Parts, body: bytes) -> None:
    r = await parts.client.post("/v1/outcomes", data=body)
    assert 400 <= r.status < 500, await r.text()
    assert (await r.json())["error"]
    assert parts.sink.sent == []


async def test_oversize_outcome_body_is_413(parts: Parts) -> None:
    r = await parts.client.post("/v1/outcomes", data=b" " * 4096)
    assert r.status == 413 and "larger than 2048" in (await r.json())["error"]


async def test_outcomes_when_kafka_is_down_are_503_not_500(parts: Parts) -> None:
    parts.sink.fail = True
    r = await parts.client.post("/v1/outcomes", json={"decision_id": "d", "visitor_id": "v",
                                                      "kind": "shown"})
    assert r.status == 503 and "retry" in (await r.json())["error"]


async def test_stream_sends_current_state_then_new_decisions(parts: Parts) -> None:
    parts.state.store.offer(decision("v1", decision_id="old"), NOW_MS)
    r = await parts.client.get("/v1/stream", params={"visitor": "v1"})
    assert r.headers["Content-Type"] == "text/event-stream"

    async def next_event() -> tuple[str, dict[str, Any]]:
        event, data = "", ""
        while True:
            line = (await r.content.readline()).decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and data:
                return event, json.loads(data)

    assert (await asyncio.wait_for(next_event(), 5))[0] == "hello"
    event, data = await asyncio.wait_for(next_event(), 5)
    assert (event, data["decision_id"]) == ("decision", "old")
    new = decision("v1", slot="overlay", decision_id="new")
    parts.state.hub.publish(new)
    event, data = await asyncio.wait_for(next_event(), 5)
    assert (event, data["decision_id"], data["slot"]) == ("decision", "new", "overlay")
    assert parts.state.hub.open_streams == 1
    r.close()


async def test_streams_end_on_shutdown(parts: Parts) -> None:
    r = await parts.client.get("/v1/stream", params={"visitor": "v1"})
    parts.state.hub.close_all()
    rest = await asyncio.wait_for(r.content.read(), 5)  # the server ends the stream
    assert b"event: hello" in rest


async def test_a_visitors_tombstone_drops_its_decisions_and_ends_its_streams(
        parts: Parts) -> None:
    """The worker's tombstone for an erased (or opted-out) visitor: nothing of theirs is
    served any more, their open stream ends, another visitor is untouched."""
    for visitor in ("v1", "v2"):
        parts.state.store.offer(decision(visitor), NOW_MS)
        await parts.client.get("/v1/decisions", params={"visitor": visitor, "slots": "hero"})
    assert len(parts.state.answers) == 2  # both encoded answers held before the tombstone
    stream = await parts.client.get("/v1/stream", params={"visitor": "v1"})
    parts.state.receive([{"visitor_id": "v1", FORGET: True}])
    assert parts.state.answers.forget("v1") == 0  # its encoded answer went with it
    assert parts.state.answers.forget("v2") == 1  # the other visitor's was kept
    rest = await asyncio.wait_for(stream.content.read(), 5)  # the server ends the stream
    assert b"event: hello" in rest and parts.state.hub.open_streams == 0
    answers = {}
    for visitor in ("v1", "v2"):  # (v2's answer was dropped just above: encoded anew)
        r = await parts.client.get("/v1/decisions", params={"visitor": visitor,
                                                            "slots": "hero"})
        hero = (await r.json())["decisions"]["hero"]
        answers[visitor] = hero["decision_id"] if hero else None
    assert answers == {"v1": None, "v2": decision("v2")["decision_id"]}
    assert parts.state.store.owner(decision("v1")["decision_id"]) is None


async def test_readiness_follows_the_feed(parts: Parts) -> None:
    r = await parts.client.get("/readyz")
    assert r.status == 503 and (await r.json())["ready"] is False
    parts.status[0] = replace(parts.status[0], caught_up=True, lag=4)
    r = await parts.client.get("/readyz")
    assert r.status == 200 and (await r.json())["lag"] == 4
    assert (await parts.client.get("/healthz")).status == 200


async def test_readiness_waits_for_the_heap_settle_after_the_read_back(parts: Parts) -> None:
    # The settle pauses the loop (1.2 s measured in a test process): traffic sent on
    # readiness must not meet it.
    settling = [True]
    parts.state.settling = lambda: settling[0]
    parts.status[0] = replace(parts.status[0], caught_up=True)
    r = await parts.client.get("/readyz")
    assert r.status == 503
    assert (await r.json())["ready"] is False and (await r.json())["heap_settling"] is True
    settling[0] = False
    r = await parts.client.get("/readyz")
    assert r.status == 200
    assert (await r.json())["ready"] is True and (await r.json())["heap_settling"] is False


async def test_metrics_report_latency_held_decisions_and_lag(parts: Parts) -> None:
    parts.state.store.offer(decision("v1"), NOW_MS)
    parts.status[0] = replace(parts.status[0], lag=12)
    await parts.client.get("/v1/decisions", params={"visitor": "v1"})
    await parts.client.post("/v1/outcomes", json={"decision_id": "d", "visitor_id": "v1",
                                                  "kind": "shown"})
    answer = await parts.client.get("/metrics", headers=METRICS)
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await answer.text()
    assert families(text) == {
        "rtp_delivery_request_seconds": "histogram", "rtp_delivery_requests_total": "counter",
        "rtp_delivery_decisions_held": "gauge", "rtp_delivery_visitors_held": "gauge",
        "rtp_delivery_consumer_lag": "gauge", "rtp_delivery_caught_up": "gauge",
        "rtp_delivery_decisions_total": "counter", "rtp_delivery_dead_letters_total": "counter",
        "rtp_delivery_sse_streams": "gauge", "rtp_delivery_outcomes_total": "counter",
        "rtp_delivery_held_requests": "gauge", "rtp_delivery_waits_total": "counter"}
    assert value(text, "rtp_delivery_request_seconds_count", route="/v1/decisions",
                 method="GET") == 1
    assert value(text, "rtp_delivery_requests_total", route="/v1/decisions", status="200") == 1
    assert value(text, "rtp_delivery_decisions_held") == 1
    assert value(text, "rtp_delivery_visitors_held") == 1
    assert value(text, "rtp_delivery_consumer_lag") == 12
    assert value(text, "rtp_delivery_caught_up") == 0
    assert value(text, "rtp_delivery_sse_streams") == 0
    assert value(text, "rtp_delivery_dead_letters_total") == 0
    assert value(text, "rtp_delivery_outcomes_total", kind="shown") == 1
    parts.status[0] = replace(parts.status[0], lag=0, caught_up=True, rejected=2)
    text = await (await parts.client.get("/metrics", headers=METRICS)).text()
    assert value(text, "rtp_delivery_consumer_lag") == 0
    assert value(text, "rtp_delivery_caught_up") == 1
    assert value(text, "rtp_delivery_dead_letters_total") == 2
    assert value(text, "rtp_delivery_requests_total", route="/metrics", status="200") == 1


async def test_cors_allow_list(parts: Parts) -> None:
    ok = await parts.client.get("/v1/decisions", params={"visitor": "v"},
                                headers={"Origin": "https://shop.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    bad = await parts.client.post("/v1/outcomes", headers={"Origin": "https://evil.example"},
                                  json={"decision_id": "d", "visitor_id": "v", "kind": "shown"})
    assert bad.status == 403 and "allow-list" in (await bad.json())["error"]
    assert parts.sink.sent == []
    pre = await parts.client.options("/v1/outcomes", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST"})
    assert pre.status == 204 and "POST" in pre.headers["Access-Control-Allow-Methods"]


async def test_same_origin_pages_may_post(parts: Parts) -> None:
    own = f"http://{parts.client.host}:{parts.client.port}"
    r = await parts.client.post("/v1/outcomes", headers={"Origin": own},
                                json={"decision_id": "d", "visitor_id": "v", "kind": "shown"})
    assert r.status == 202


async def test_storefront_tracker_and_config_are_served(parts: Parts) -> None:
    config = await (await parts.client.get("/shop/config.js")).text()
    assert '"budgetMs": 150' in config and '"collector": "http://collector.example"' in config
    assert '"writeKey": "wk"' in config
    for path in ("/shop/", "/shop/p/nc700.html", "/shop/shipping.html", "/rtp.js"):
        r = await parts.client.get(path)
        assert r.status == 200, path
    page = await (await parts.client.get("/shop/p/nc700.html")).text()
    assert 'data-rtp-slot="hero"' in page and "Noise-Cancelling Headphones" in page
    r = await parts.client.get("/", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/shop/"
