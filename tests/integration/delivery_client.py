"""A delivery service in integration tests: run one in-process, give it decisions, ask it
over HTTP (what it serves a visitor, whether it is ready) and poll until a check holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiohttp

from pipeline.client import EventProducer
from pipeline.delivery import DeliveryOptions, DeliveryService
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import ACTIONS

T = TypeVar("T")
CODEC = Codec.default()
#: The metrics token of the services started with ``metrics_token=METRICS_TOKEN``.
METRICS_TOKEN = "metrics-token-0123456789"
METRICS = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def now_ms() -> int:
    return int(time.time() * 1000)


async def eventually(check: Callable[[], Awaitable[T | None]], what: str,
                     timeout: float = 30.0, interval: float = 0.05) -> T:
    """The first truthy result of ``check``, polled every ``interval`` s until ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)  # between polls of a condition


@asynccontextmanager
async def delivery(settings: Settings, **options: Any) -> AsyncIterator[tuple[DeliveryService,
                                                                            str]]:
    service = DeliveryService(settings, DeliveryOptions(http_port=0, **options))
    served = await service.start()
    try:
        yield service, served.url
    finally:
        await service.stop()


def token(service: DeliveryService, visitor: str) -> str:
    """The visitor's token, as the collector would have issued it (same keys)."""
    assert service.state.tokens is not None
    return service.state.tokens.issue(visitor)


async def produce(settings: Settings, *decisions: dict[str, Any]) -> None:
    def send() -> None:
        with EventProducer(settings, CODEC) as producer:
            for d in decisions:
                producer.send(settings.topic(ACTIONS), "Decision", d, d["visitor_id"])

    await asyncio.to_thread(send)


async def get_json(session: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with session.get(url) as r:
        return r.status, await r.json()


async def ready(http: aiohttp.ClientSession, url: str) -> dict[str, Any] | None:
    """The service's ``/readyz`` answer once it is ready (None before)."""
    status, body = await get_json(http, f"{url}/readyz")
    return body if status == 200 else None


async def hero(http: aiohttp.ClientSession, url: str, service: DeliveryService,
               visitor: str) -> dict[str, Any] | None:
    """What the service serves the visitor in the hero slot (None: nothing); the answer
    names the hero slot and no other."""
    async with http.get(f"{url}/v1/decisions", params={
            "visitor": visitor, "slots": "hero", "token": token(service, visitor)}) as r:
        assert r.status == 200, await r.text()
        answer = await r.json()
        assert set(answer["decisions"]) == {"hero"}
        found = answer["decisions"]["hero"]
        return dict(found) if found is not None else None
