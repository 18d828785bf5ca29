"""Same-page decisions on the real broker: a request held for its trigger is answered when the
Decision of that trigger is consumed from ``personalization.actions`` (through the real feed
thread), and a decision of another trigger does not end the wait."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from pipeline.settings import Settings
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
from tests.scrape import value
from tests.unit.delivery.factories import decision


async def test_a_held_request_is_answered_when_its_triggers_decision_is_consumed(
        topics: Settings) -> None:
    async with delivery(topics, max_wait_ms=20_000,
                        metrics_token=METRICS_TOKEN) as (service, url), \
            aiohttp.ClientSession() as http:
        await eventually(lambda: ready(http, url), "readiness")
        query = (f"{url}/v1/decisions?visitor=v-page&slots=hero&trigger=pv-1&wait_ms=20000"
                 f"&token={token(service, 'v-page')}")
        started = time.monotonic()
        held = asyncio.ensure_future(http.get(query))
        await eventually(lambda: _held(service.waits.held), "the request to be held")
        # the visitor's decision on an earlier page view: not the one awaited
        earlier = decision("v-page", decision_id="earlier", created_at=now_ms() - 1000)
        await produce(topics, earlier)
        await eventually(lambda: _received(service.feed.status.received, 1), "the earlier one")
        await asyncio.sleep(0.2)
        assert not held.done()
        mine = decision("v-page", decision_id="mine", created_at=now_ms()) | {
            "trigger_event_id": "pv-1"}
        await produce(topics, mine)
        response = await asyncio.wait_for(held, 15)
        body = await response.json()
        assert response.status == 200 and response.headers["X-RTP-Wait"] == "arrived"
        assert body["decisions"]["hero"]["decision_id"] == "mine"
        assert time.monotonic() - started < 15  # released by the decision, not the 20 s wait
        # asked again after it arrived: answered at once
        status, again = await get_json(http, query)
        assert status == 200 and again["decisions"]["hero"]["decision_id"] == "mine"
        metrics = await (await http.get(f"{url}/metrics", headers=METRICS)).text()
        assert value(metrics, "rtp_delivery_waits_total", result="arrived") == 1
        assert value(metrics, "rtp_delivery_waits_total", result="seen") == 1


async def _held(count: int) -> bool:
    return count > 0


async def _received(count: int, at_least: int) -> bool:
    return count >= at_least
