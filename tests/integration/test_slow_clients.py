"""Slow clients are cut off: partial headers, a partial body, an idle keep-alive connection.

Both services run in-process on free ports (the delivery service over its own
topic prefix on the real broker) with a 1 s header/keep-alive timeout and a 1 s
body timeout. Raw sockets hold requests open the way a slowloris client does, and
each connection must be closed by the server within a few seconds, while a normal
request and an open SSE stream keep working.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from pipeline.collector import CollectorOptions, CollectorService
from pipeline.delivery import DeliveryOptions, DeliveryService
from pipeline.settings import Settings
from pipeline.web.visitor_token import VisitorTokens

TIMEOUTS = {"idle_timeout_s": 1.0, "body_timeout_s": 1.0}
TOKEN_KEY = "slow-clients-token-key-0123"
#: How long a test waits for the server to close (the timeouts are 1 s).
WITHIN_S = 6.0


@asynccontextmanager
async def services(settings: Settings) -> AsyncIterator[dict[str, int]]:
    settings = dataclasses.replace(settings, visitor_token_keys=TOKEN_KEY)
    collector = CollectorService(settings, CollectorOptions(http_port=0, require_auth=False,
                                                            **TIMEOUTS))
    delivery = DeliveryService(settings, DeliveryOptions(http_port=0, sse_heartbeat_s=0.3,
                                                         **TIMEOUTS))
    c = await collector.start()
    d = await delivery.start()
    try:
        yield {"collector": c.port, "delivery": d.port}
    finally:
        await delivery.stop()
        await collector.stop()


async def closed_after(port: int, sent: bytes) -> tuple[float, bytes]:
    """Connect, send ``sent``, then wait for the server to close; seconds taken and what came."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(sent)
    await writer.drain()
    received = b""
    try:
        async with asyncio.timeout(WITHIN_S):
            while chunk := await reader.read(4096):
                received += chunk
    except TimeoutError:
        raise AssertionError(f"still open after {WITHIN_S} s; got {received[:200]!r}") from None
    finally:
        writer.close()
    return time.monotonic() - started, received


PARTIAL_HEADERS = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
PARTIAL_BODY = (b"POST /v1/t HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                b"Content-Length: 1000\r\n\r\n{\"visitor\": ")
PARTIAL_OUTCOME = (b"POST /v1/outcomes HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n[")
KEEP_ALIVE = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize("service", ["collector", "delivery"])
async def test_slow_connections_are_closed(topics: Settings, service: str) -> None:
    async with services(topics) as ports:
        port = ports[service]
        # nothing sent at all, then partial headers
        for sent in (b"", PARTIAL_HEADERS):
            took, got = await closed_after(port, sent)
            assert got == b"" and 0.5 < took < WITHIN_S, (sent, took, got)
        # a partial body: 408 with a message, then the connection is closed
        took, got = await closed_after(port, PARTIAL_BODY if service == "collector"
                                       else PARTIAL_OUTCOME)
        assert got.startswith(b"HTTP/1.1 408"), got[:200]
        assert b"did not arrive within 1 s" in got and 0.5 < took < WITHIN_S
        # an idle keep-alive connection after a complete answer
        took, got = await closed_after(port, KEEP_ALIVE)
        assert got.startswith(b"HTTP/1.1 200") and got.count(b"HTTP/1.1") == 1
        assert 0.5 < took < WITHIN_S


async def test_an_open_stream_outlives_the_idle_timeout(topics: Settings) -> None:
    async with services(topics) as ports:
        reader, writer = await asyncio.open_connection("127.0.0.1", ports["delivery"])
        token = VisitorTokens((TOKEN_KEY,)).issue("v1").encode()
        writer.write(b"GET /v1/stream?visitor=v1&token=" + token + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        received = b""
        try:
            async with asyncio.timeout(3.0):  # three idle timeouts
                while chunk := await reader.read(4096):
                    received += chunk
        except TimeoutError:
            pass  # still open, as it should be
        finally:
            writer.close()
        assert received.startswith(b"HTTP/1.1 200") and received.count(b": keep-alive") >= 5
