"""An aiohttp app served for synchronous tests, and the settings of the hostile-input fuzz.

Hypothesis's ``@given`` does not run coroutines, so the fuzz tests of the collector,
delivery and the console serve their app once per module on an event loop of their own and
drive each request to completion on it (``loop.run_until_complete``). ``served`` is that
set-up; each test module keeps its own app state and its own ``Http`` wrapper.

>>> from aiohttp import web
>>> async def hello(request: web.Request) -> web.Response:
...     return web.Response(text="hi")
>>> app = web.Application()
>>> _ = app.router.add_get("/", hello)
>>> with served(app) as (loop, client):
...     async def get() -> tuple[int, str]:
...         r = await client.get("/")
...         return r.status, await r.text()
...     loop.run_until_complete(get())
(200, 'hi')
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, settings

__all__ = ["hostile_settings", "served"]


@contextmanager
def served(app: web.Application) -> Iterator[tuple[asyncio.AbstractEventLoop, TestClient]]:
    """Serve ``app`` on a free local port; yield the loop it runs on and a client of it.

    The client is closed (the server with it) and the loop closed on the way out.
    """
    loop = asyncio.new_event_loop()

    async def start() -> TestClient:
        client = TestClient(TestServer(app))
        await client.start_server()
        return client

    try:
        client = loop.run_until_complete(start())
        try:
            yield loop, client
        finally:
            loop.run_until_complete(client.close())
    finally:
        loop.close()


def hostile_settings(max_examples: int) -> settings:
    """Hypothesis settings of the hostile-input tests: ``max_examples`` examples, no deadline
    (a loaded machine is slow, not wrong), a module-scoped served app allowed.

    >>> hostile_settings(150).max_examples, hostile_settings(150).deadline
    (150, None)
    """
    return settings(max_examples=max_examples, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
