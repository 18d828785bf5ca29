"""Request latency and counts for every route of an aiohttp app.

>>> from prometheus_client import Counter, Histogram
>>> from pipeline.web.metrics import new_registry
>>> r = new_registry()
>>> mw = request_metrics_middleware(Histogram("t_seconds", "T.", ["route", "method"], registry=r),
...                                 Counter("t_total", "T.", ["route", "status"], registry=r))
>>> callable(mw)
True
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import Counter, Histogram

__all__ = ["request_metrics_middleware", "route_of"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Label sets whose metric children a middleware keeps (routes x statuses, routes x methods).
_KEPT = 1_000


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
    >>> from pipeline.web.metrics import new_registry
    >>> r = new_registry()
    >>> latency = Histogram("l", "L.", ["route", "method"], registry=r)
    >>> requests = Counter("r", "R.", ["route", "status"], registry=r)
    >>> app = web.Application(middlewares=[request_metrics_middleware(latency, requests)])
    >>> async def ping(request: web.Request) -> web.Response:
    ...     return web.Response(text="pong")
    >>> _ = app.router.add_get("/ping", ping)
    >>> async def call() -> None:
    ...     async with TestClient(TestServer(app)) as client:
    ...         await client.get("/ping")
    >>> asyncio.run(call())
    >>> (r.get_sample_value("l_count", {"route": "/ping", "method": "GET"}),
    ...  r.get_sample_value("r_total", {"route": "/ping", "status": "200"}))
    (1.0, 1.0)
    """

    # The labelled children, kept: ``labels()`` takes a lock and builds a key per call, the
    # hot path's largest metrics cost. Bounded: past _KEPT label sets, ``labels()`` as before.
    counted: dict[tuple[str, int], Any] = {}
    timed: dict[tuple[str, str], Any] = {}

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
            count = counted.get((route, status))
            if count is None:
                count = requests.labels(route=route, status=str(status))
                if len(counted) < _KEPT:
                    counted[(route, status)] = count
            count.inc()
            if route not in untimed:
                method = request.method
                timer = timed.get((route, method))
                if timer is None:
                    timer = latency.labels(route=route, method=method)
                    if len(timed) < _KEPT:
                        timed[(route, method)] = timer
                timer.observe(time.perf_counter() - start)

    return middleware
