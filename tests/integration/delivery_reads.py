"""What the delivery service serves a visitor, read over its HTTP API, and a poll until an
async check holds: the erasure tests' shared way of watching delivery forget someone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from pipeline.delivery import DeliveryService


async def hero(http: aiohttp.ClientSession, url: str, delivery: DeliveryService,
               visitor: str) -> dict[str, Any] | None:
    """What delivery serves the visitor in the hero slot (None: nothing); the answer names
    the hero slot and no other."""
    assert delivery.state.tokens is not None
    async with http.get(f"{url}/v1/decisions", params={
            "visitor": visitor, "slots": "hero", "token": delivery.state.tokens.issue(visitor)
    }) as r:
        assert r.status == 200, await r.text()
        answer = await r.json()
        assert set(answer["decisions"]) == {"hero"}
        found = answer["decisions"]["hero"]
        return dict(found) if found is not None else None


async def until(check: Callable[[], Awaitable[object]], what: str,
                timeout: float = 120.0) -> None:
    """Poll ``check`` until it answers something truthy; fail naming ``what`` after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)  # between polls of another process's output
