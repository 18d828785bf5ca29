"""Collector -> Kafka -> topology -> delivery, on the real broker.

Headphones shoppers arrive as Segment calls at the collector (page views of the
noise-cancelling headphones three times, then Shipping & Returns, where they
linger); the personalization worker decides; the delivery service serves the
free express shipping banner on ``GET /v1/decisions``. The worker is the real
one (``rtp worker``) when ``topologies/personalize.py`` exists, else the e2e
stand-in; the test reports which.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from pipeline.collector import CollectorOptions, CollectorService
from pipeline.delivery import DeliveryOptions, DeliveryService
from pipeline.settings import Settings
from tests.e2e.worker import REAL, personalization_worker

AUTH = {"Authorization": "Basic " + base64.b64encode(b"chain-key:").decode()}


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def shopper_calls(visitor: str, start_ms: int) -> list[dict[str, Any]]:
    """The seed's headphones story as Segment calls, event times 15 s apart."""
    calls: list[dict[str, Any]] = []
    t = start_ms

    def page(url: str, **properties: Any) -> None:
        nonlocal t
        t += 15_000
        calls.append({"type": "page", "anonymousId": visitor, "messageId": f"{visitor}-{t}",
                      "timestamp": iso(t), "properties": {"url": url, **properties}})

    for _ in range(3):
        page("https://shop.example/p/nc700", product_id="nc700", category="audio")
        page("https://shop.example/collections/audio", category="audio")
    page("https://shop.example/shipping")
    for _ in range(4):  # still reading Shipping & Returns
        t += 10_000
        calls.append({"type": "track", "event": "Section Viewed", "anonymousId": visitor,
                      "messageId": f"{visitor}-{t}", "timestamp": iso(t),
                      "properties": {"section": "returns"},
                      "context": {"page": {"url": "https://shop.example/shipping"}}})
    return calls


def personalized(n: int) -> list[str]:
    from pipeline.decide import assign_arm

    run = uuid.uuid4().hex[:8]
    return [v for v in (f"chain-{run}-{i}" for i in range(1000))
            if assign_arm(v) == "personalized"][:n]


async def test_collector_to_topology_to_delivery_serves_the_banner(
        topics: Settings, tmp_path: Path, record_property: Any) -> None:
    collector = CollectorService(topics, CollectorOptions(
        http_port=0, write_keys=frozenset({"chain-key"})))
    delivery = DeliveryService(topics, DeliveryOptions(http_port=0))
    with personalization_worker(topics, tmp_path) as worker:
        record_property("worker", worker)
        c, d = await collector.start(), await delivery.start()
        tokens = delivery.state.tokens
        assert tokens is not None
        try:
            shoppers = personalized(6 if worker == REAL else 1)
            start = int(time.time() * 1000) - 15 * 60 * 1000
            async with aiohttp.ClientSession() as http:
                assert collector.tokens is not None  # each call names its visitor's token
                batch = {"batch": [
                    {**call, "context": {**call.get("context", {}),
                                         "visitorToken": collector.tokens.issue(v)}}
                    for v in shoppers for call in shopper_calls(v, start)]}
                async with http.post(f"{c.url}/v1/batch", data=json.dumps(batch),
                                     headers=AUTH) as r:
                    assert r.status == 200, await r.text()

                async def banner() -> tuple[str, dict[str, Any]] | None:
                    for visitor in shoppers:
                        async with http.get(f"{d.url}/v1/decisions",
                                            params={"visitor": visitor, "slots": "hero",
                                                    "token": tokens.issue(visitor)}) as r:
                            hero = (await r.json())["decisions"]["hero"]
                        if hero and hero["action_id"] == "free_express_shipping":
                            return visitor, hero
                    return None

                deadline = time.monotonic() + (120 if worker == REAL else 60)
                found = await banner()
                while found is None and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)  # between polls of the delivery API
                    found = await banner()
        finally:
            await delivery.stop()
            await collector.stop()
    assert found is not None, f"no free express shipping banner served ({worker})"
    _, hero = found
    assert hero["payload"]["headline"] == "Free express shipping for the next 20 minutes"
    assert hero["slot"] == "hero" and hero["expires_at"] > int(time.time() * 1000)
