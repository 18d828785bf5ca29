"""bench/delivery.py's two servers: what they answer, and that the counts they report
(which the bench prints and checks the clients' counts against) are what was asked."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bench.delivery import delivery_app, floor_app
from pipeline.delivery.app import DeliveryState
from pipeline.delivery.options import DeliveryOptions


async def _exercise(client: TestClient[Any, Any]) -> list[str]:
    """Two immediate asks, and held asks ended by an arrival, a timeout and a decision
    that came first; returns the held answers' X-RTP-Wait."""
    for visitor in ("v-1", "v-2"):
        r = await client.get("/v1/decisions", params={"visitor": visitor, "slots": "hero"})
        assert r.status == 200 and "X-RTP-Wait" not in r.headers
    held = asyncio.ensure_future(client.get("/v1/decisions", params={
        "visitor": "v-1", "slots": "hero", "trigger": "t-1", "wait_ms": "30000"}))
    for _ in range(200):  # until the server holds it
        counts = await (await client.get("/bench/counts")).json()
        if counts["held_now"] == 1:
            break
        await asyncio.sleep(0.01)
    assert counts["held_now"] == 1
    assert (await client.get("/bench/arrive", params={"trigger": "t-1",
                                                       "visitor": "1"})).status == 204
    endings = [(await held).headers["X-RTP-Wait"]]
    timed_out = await client.get("/v1/decisions", params={
        "visitor": "v-2", "slots": "hero", "trigger": "t-2", "wait_ms": "10"})
    endings.append(timed_out.headers["X-RTP-Wait"])
    assert (await client.get("/bench/arrive", params={"trigger": "t-3",
                                                       "visitor": "1"})).status == 204
    late = await client.get("/v1/decisions", params={
        "visitor": "v-1", "slots": "hero", "trigger": "t-3", "wait_ms": "30000"})
    endings.append(late.headers["X-RTP-Wait"])
    return endings


def _check(counts: dict[str, Any]) -> None:
    assert counts["immediate"] == 2
    assert counts["held"] == {"arrived": 1, "timeout": 1, "seen": 1}
    assert counts["arrive"] == 2
    assert counts["other"] == 0 and counts["held_now"] == 0
    assert counts["at"] > 0 and counts["cpu_s"] > 0


async def test_the_floor_holds_answers_and_counts_what_it_answered() -> None:
    async with TestClient(TestServer(floor_app())) as client:
        assert await _exercise(client) == ["arrived", "timeout", "seen"]
        _check(await (await client.get("/bench/counts")).json())


async def test_the_delivery_servers_counts_come_from_its_own_metrics() -> None:
    state = DeliveryState.standalone(DeliveryOptions(http_port=0, serve_shop=False))
    async with TestClient(TestServer(delivery_app(state))) as client:
        assert await _exercise(client) == ["arrived", "timeout", "seen"]
        _check(await (await client.get("/bench/counts")).json())
        # the decision handed over is what the held request was answered with
        r = await client.get("/v1/decisions", params={"visitor": "v-1", "slots": "hero"})
        assert (await r.json())["decisions"]["hero"]["action_id"] == "hero_by_traffic_source"
