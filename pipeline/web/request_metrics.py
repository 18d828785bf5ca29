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

__all__ = ["RequestMetrics", "request_metrics_middleware", "route_of"]

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


class RequestMetrics:
    """Observes requests: duration in ``latency`` (route, method) — except routes in
    ``untimed`` such as long-lived streams — and a count in ``requests`` (route, status).

    The labelled children are kept: ``labels()`` takes a lock and builds a key per call, the
    hot path's largest metrics cost. Bounded: past ``_KEPT`` label sets, ``labels()`` as
    before. For :func:`request_metrics_middleware`, or a service's own middleware.

    >>> from pipeline.web.metrics import new_registry
    >>> r = new_registry()
    >>> metrics = RequestMetrics(Histogram("l", "L.", ["route", "method"], registry=r),
    ...                          Counter("r", "R.", ["route", "status"], registry=r),
    ...                          untimed=frozenset({"/v1/stream"}))
    >>> metrics.untimed
    frozenset({'/v1/stream'})
    """

    def __init__(self, latency: Histogram, requests: Counter,
                 untimed: frozenset[str] = frozenset()) -> None:
        self.latency = latency
        self.requests = requests
        self.untimed = untimed
        self._counted: dict[tuple[str, int], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    def observe(self, request: web.Request, status: int, start: float) -> None:
        """Count ``request`` answered with ``status``; time it from ``start``
        (``time.perf_counter()``) unless its route is untimed."""
        route = route_of(request)
        count = self._counted.get((route, status))
        if count is None:
            count = self.requests.labels(route=route, status=str(status))
            if len(self._counted) < _KEPT:
                self._counted[(route, status)] = count
        count.inc()
        if route not in self.untimed:
            method = request.method
            timer = self._timed.get((route, method))
            if timer is None:
                timer = self.latency.labels(route=route, method=method)
                if len(self._timed) < _KEPT:
                    self._timed[(route, method)] = timer
            timer.observe(time.perf_counter() - start)


def request_metrics_middleware(latency: Histogram, requests: Counter,
                               untimed: frozenset[str] = frozenset()) -> Middleware:
    """Observe each request's duration in ``latency`` (route, method) — except routes in
    ``untimed`` such as long-lived streams — and count it in ``requests`` (route, status)
    (:class:`RequestMetrics` as a middleware).

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
    metrics = RequestMetrics(latency, requests, untimed)

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
            metrics.observe(request, status, start)

    return middleware
