"""Request latency and counts for every route of an aiohttp app.

>>> from pipeline.web.metrics import Counter, Histogram
>>> mw = request_metrics_middleware(Histogram("t_seconds", "T.", labels=("route", "method")),
...                                 Counter("t_total", "T.", labels=("route", "status")))
>>> callable(mw)
True
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from pipeline.web.metrics import Counter, Histogram

__all__ = ["request_metrics_middleware", "route_of"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def route_of(request: web.Request) -> str:
    """The route pattern that matched (bounded label values), or ``unmatched``.

    >>> import asyncio
    >>> from aiohttp.test_utils import TestClient, TestServer
    >>> async def handler(request: web.Request) -> web.Response:
    ...     return web.Response(text=route_of(request))
    >>> app = web.Application()
    >>> _ = app.router.add_get("/v1/items/{item}", handler)
    >>> async def call() -> str:
    ...     async with TestClient(TestServer(app)) as client:
    ...         return await (await client.get("/v1/items/7")).text()
    >>> asyncio.run(call())
    '/v1/items/{item}'
    """
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def request_metrics_middleware(latency: Histogram, requests: Counter,
                               untimed: frozenset[str] = frozenset()) -> Middleware:
    """Observe each request's duration in ``latency`` (route, method) — except routes in
    ``untimed`` such as long-lived streams — and count it in ``requests`` (route, status).

    >>> import asyncio
    >>> from aiohttp.test_utils import TestClient, TestServer
    >>> latency = Histogram("l", "L.", labels=("route", "method"))
    >>> requests = Counter("r", "R.", labels=("route", "status"))
    >>> app = web.Application(middlewares=[request_metrics_middleware(latency, requests)])
    >>> async def ping(request: web.Request) -> web.Response:
    ...     return web.Response(text="pong")
    >>> _ = app.router.add_get("/ping", ping)
    >>> async def call() -> None:
    ...     async with TestClient(TestServer(app)) as client:
    ...         await client.get("/ping")
    >>> asyncio.run(call())
    >>> latency.count(route="/ping", method="GET"), requests.value(route="/ping", status="200")
    (1, 1.0)
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        start = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            route = route_of(request)
            requests.inc(route=route, status=str(status))
            if route not in untimed:
                latency.observe(time.perf_counter() - start, route=route, method=request.method)

    return middleware
