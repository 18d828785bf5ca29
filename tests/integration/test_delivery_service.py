"""The delivery service on the real broker: rebuild, GET, SSE, outcomes, duplicates, dead letters.

Each test runs the service in-process on a free port over its own topic prefix.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from confluent_kafka import Producer

from pipeline.client import EventProducer
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, OUTCOMES
from tests.integration.delivery_client import (
    METRICS,
    METRICS_TOKEN,
    delivery,
    eventually,
    get_json,
    now_ms,
    produce,
    ready,
    token,
)
from tests.integration.kafka_reader import read_topic, total_messages
from tests.scrape import value
from tests.unit.delivery.factories import decision

CODEC = Codec.default()


async def sse_events(response: aiohttp.ClientResponse) -> AsyncIterator[tuple[str, Any]]:
    event, data = "", ""
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif not line and data:
            yield event, json.loads(data)
            event, data = "", ""


async def test_start_rebuilds_the_horizon_then_serves_and_is_ready(topics: Settings) -> None:
    now = now_ms()
    recent = decision("v-recent", created_at=now - 60_000, ttl_ms=3_600_000)
    expired = decision("v-expired", created_at=now - 120_000, ttl_ms=1_000)
    # Written two hours ago (record timestamp) and still unexpired by its ttl: the 1 h horizon
    # must not read it.
    old = decision("v-old", created_at=now - 7_200_000, ttl_ms=4 * 3_600_000)
    await produce(topics, recent, expired)
    producer = Producer({"bootstrap.servers": topics.bootstrap})
    producer.produce(topics.topic(ACTIONS), CODEC.encode("Decision", old), b"v-old",
                     timestamp=now - 7_200_000)
    producer.flush(10)

    async with delivery(topics, horizon_ms=3_600_000,
                        metrics_token=METRICS_TOKEN) as (service, url), \
            aiohttp.ClientSession() as http:
        readiness = await eventually(lambda: ready(http, url), "readiness")
        assert readiness["decisions_held"] == 1
        status, body = await get_json(http, f"{url}/v1/decisions?visitor=v-recent&slots=hero"
                                      f"&token={token(service, 'v-recent')}")
        assert status == 200 and body["decisions"]["hero"]["decision_id"] == recent["decision_id"]
        for visitor in ("v-expired", "v-old", "v-never-seen"):
            status, body = await get_json(http, f"{url}/v1/decisions?visitor={visitor}&slots=hero"
                                          f"&token={token(service, visitor)}")
            assert (status, body["decisions"]) == (200, {"hero": None}), visitor
        # without the visitor's own token: nothing is served
        status, body = await get_json(http, f"{url}/v1/decisions?visitor=v-recent&slots=hero")
        assert status == 401 and "decisions" not in body
        status, body = await get_json(http, f"{url}/v1/decisions?visitor=v-recent&slots=hero"
                                      f"&token={token(service, 'v-old')}")
        assert status == 403 and "decisions" not in body
        assert (await http.get(f"{url}/metrics")).status == 401
        metrics = await (await http.get(f"{url}/metrics", headers=METRICS)).text()
        assert value(metrics, "rtp_delivery_decisions_held") == 1
        assert value(metrics, "rtp_delivery_decisions_total", result="expired") == 1
        assert value(metrics, "rtp_delivery_caught_up") == 1


async def test_sse_pushes_a_decision_produced_while_connected_and_duplicates_once(
        topics: Settings) -> None:
    async with delivery(topics) as (service, url), aiohttp.ClientSession() as http:
        await eventually(lambda: ready(http, url), "readiness")
        async with http.get(f"{url}/v1/stream?visitor=v-live"
                            f"&token={token(service, 'v-live')}") as stream:
            events = sse_events(stream)
            assert (await anext(events))[0] == "hello"
            first = decision("v-live", decision_id="live-1", created_at=now_ms())
            second = decision("v-live", slot="overlay", decision_id="live-2",
                              created_at=now_ms())
            # a replay re-emits live-1 before live-2 (same key, same partition, in order)
            await produce(topics, first, first, second)
            got = [await asyncio.wait_for(anext(events), 30) for _ in range(2)]
            assert [(e, d["decision_id"]) for e, d in got] == [("decision", "live-1"),
                                                                ("decision", "live-2")]
            assert got[0][1]["payload"]["headline"].startswith("Free express shipping")
        _, body = await get_json(http, f"{url}/v1/decisions?visitor=v-live"
                                 f"&token={token(service, 'v-live')}")
        assert sorted(body["decisions"]) == ["hero", "overlay"]
        assert service.store.stats.duplicates == 1


async def test_outcomes_posted_land_on_the_outcomes_topic(topics: Settings) -> None:
    async with delivery(topics) as (service, url), aiohttp.ClientSession() as http:
        await eventually(lambda: ready(http, url), "readiness")
        await produce(topics, decision("v-o", decision_id="d-1", created_at=now_ms()),
                      decision("v-other", decision_id="d-2", created_at=now_ms()))

        async def held() -> bool:
            return service.store.owner("d-1") == "v-o" and service.store.owner("d-2") is not None

        await eventually(held, "the decisions held")
        auth = {"Authorization": f"Bearer {token(service, 'v-o')}"}
        posted = [{"decision_id": "d-1", "visitor_id": "v-o", "kind": "shown"},
                  {"decision_id": "d-1", "visitor_id": "v-o", "kind": "converted",
                   "value": 349.0}]
        async with http.post(f"{url}/v1/outcomes", data=json.dumps(posted), headers=auth) as r:
            assert r.status == 202, await r.text()
        async with http.post(f"{url}/v1/outcomes", data=b'{"kind": "shown"}',
                             headers=auth) as r:
            assert r.status == 400
        refused = [  # no token; another visitor's decision; another visitor's outcome
            ({}, {"decision_id": "d-1", "visitor_id": "v-o", "kind": "converted"}, 401),
            (auth, {"decision_id": "d-2", "visitor_id": "v-o", "kind": "converted"}, 403),
            (auth, {"decision_id": "d-2", "visitor_id": "v-other", "kind": "converted"}, 403)]
        for headers, outcome, status in refused:
            async with http.post(f"{url}/v1/outcomes", data=json.dumps(outcome),
                                 headers=headers) as r:
                assert r.status == status, await r.text()
    # stop() flushed the producer: the topic holds exactly what was accepted
    assert await asyncio.to_thread(total_messages, topics, topics.topic(OUTCOMES)) == 2
    messages = await asyncio.to_thread(read_topic, topics, topics.topic(OUTCOMES), 2, 30.0)
    records = [CODEC.decode(m.value(), ("Outcome",))[1] for m in messages]
    assert sorted((r["kind"], r["value"], r["outcome_id"], r["reported_by"])
                  for r in records) == [("converted", 349.0, "d-1:converted", "browser"),
                                        ("shown", 0.0, "d-1:shown", "browser")]
    assert all(m.key() == b"v-o" for m in messages)


async def test_bad_messages_on_the_actions_topic_are_dead_lettered(topics: Settings) -> None:
    async with delivery(topics) as (service, url), aiohttp.ClientSession() as http:
        await eventually(lambda: ready(http, url), "readiness")
        bad_meaning = decision("v-dlq", decision_id="zero", created_at=now_ms())
        bad_meaning["propensity"] = 0.0

        def send_bad() -> None:
            with EventProducer(topics, CODEC) as producer:
                producer.produce_raw(topics.topic(ACTIONS), b"not avro", b"v-dlq")
                producer.produce_raw(topics.topic(ACTIONS), CODEC.encode("Decision", bad_meaning),
                                     b"v-dlq")

        await asyncio.to_thread(send_bad)
        good = decision("v-dlq", decision_id="after", created_at=now_ms())
        await produce(topics, good)

        async def served() -> dict[str, Any] | None:
            _, body = await get_json(http, f"{url}/v1/decisions?visitor=v-dlq&slots=hero"
                                     f"&token={token(service, 'v-dlq')}")
            return body["decisions"]["hero"]

        assert (await eventually(served, "the good decision"))["decision_id"] == "after"

        async def counted() -> dict[str, int] | None:
            reasons = service.feed.status.rejected_by_reason
            return reasons if sum(reasons.values()) >= 2 else None

        assert await eventually(counted, "the rejects counted") == {"garbage": 1, "invalid": 1}
    letters = await asyncio.to_thread(read_topic, topics, topics.topic(ACTIONS) + ".dlq", 2, 30.0)
    reasons = sorted(CODEC.decode(m.value(), ("DeadLetter",))[1]["error_class"] for m in letters)
    assert reasons == ["garbage", "invalid"]
