"""The console's HTTP side: one static page, its script, and the JSON it renders.

- ``GET /console/``: the page (plain HTML, JS and SVG; nothing from a CDN);
- ``GET /console/console.js``: its script;
- ``GET /v1/console``: the figures as JSON (:meth:`~pipeline.console.tally.ConsoleTally.snapshot`);
- ``GET /metrics``: the same figures for Prometheus (:mod:`pipeline.console.metrics`),
  behind the login like ``/v1/console``: scrape with ``Authorization: Bearer <console key>``;
- ``GET /healthz``: the feed thread runs; ``GET /readyz``: it has also read what was on
  the topics when it started;
- ``GET``/``POST /console/login``, ``POST /console/logout``: the login
  (:mod:`pipeline.console.login`); with a ``key`` every other route needs it.

Requests that do not fit get a 4xx with a message (a query parameter on ``/v1/console``
is a 400: it takes none).

>>> app = build_app(lambda: {"now_ms": 1}, lambda: (True, True, "ready"), key="k" * 12)
>>> sorted(r.resource.canonical for r in app.router.routes() if r.method == "GET")[:6]
['/', '/console/', '/console/console.js', '/console/login', '/favicon.ico', '/healthz']
>>> sorted(r.resource.canonical for r in app.router.routes() if r.method == "POST")
['/console/login', '/console/logout']
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

from aiohttp import web

from pipeline.console.login import LoginThrottle, login_guard, login_routes
from pipeline.console.metrics import ConsoleFigures
from pipeline.web.metrics import CONTENT_TYPE, new_registry, render
from pipeline.web.untrusted import path_guard

__all__ = ["build_app", "finite_json"]

Snapshot = Callable[[], dict[str, Any]]
#: () -> (feed alive, caught up, a line saying where the feed is)
Status = Callable[[], tuple[bool, bool, str]]


def finite_json(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (JSON has no NaN).

    >>> finite_json({"a": [1.0, float("nan")], "b": float("inf")})
    {'a': [1.0, None], 'b': None}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    return value


def _static(name: str) -> bytes:
    return resources.files("pipeline.console").joinpath("static", name).read_bytes()


def build_app(snapshot: Snapshot, status: Status, key: str | None = None,
              session_ttl_s: int = 12 * 3600,
              clock: Callable[[], float] = time.time,
              throttle: LoginThrottle | None = None) -> web.Application:
    """The console app: ``snapshot`` runs off the event loop (it may build the report).
    With ``key`` (``rtp console`` always gives one) every route but the login and the
    probes needs a login, and wrong keys are rate-limited per address by ``throttle``
    (default :class:`~pipeline.console.login.LoginThrottle`); None: open (unit tests of the
    figures)."""
    page, script = _static("index.html"), _static("console.js")
    registry = new_registry()
    ConsoleFigures(lambda: finite_json(snapshot()), registry)

    async def root(_: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/console/")

    async def index(_: web.Request) -> web.Response:
        return web.Response(body=page, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store"})

    async def js(_: web.Request) -> web.Response:
        return web.Response(body=script, content_type="application/javascript",
                            charset="utf-8", headers={"Cache-Control": "no-store"})

    async def figures(request: web.Request) -> web.Response:
        if request.query:
            return web.json_response(
                {"error": f"/v1/console takes no parameters, got {sorted(request.query)}"},
                status=400)
        body = await asyncio.get_running_loop().run_in_executor(None, snapshot)
        return web.json_response(finite_json(body), dumps=lambda o: json.dumps(o, allow_nan=False),
                                 headers={"Cache-Control": "no-store"})

    async def metrics(request: web.Request) -> web.Response:
        if request.query:
            return web.json_response(
                {"error": f"/metrics takes no parameters, got {sorted(request.query)}"},
                status=400)
        body = await asyncio.get_running_loop().run_in_executor(None, render, registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE,
                                                 "Cache-Control": "no-store"})

    async def favicon(_: web.Request) -> web.Response:
        return web.Response(status=204)  # no icon, and no 404 in the browser's console

    async def healthz(_: web.Request) -> web.Response:
        alive, _caught_up, where = status()
        return web.json_response({"alive": alive, "feed": where}, status=200 if alive else 503)

    async def readyz(_: web.Request) -> web.Response:
        alive, caught_up, where = status()
        ready = alive and caught_up
        return web.json_response({"ready": ready, "feed": where}, status=200 if ready else 503)

    # No request body is read anywhere: 1 KB is plenty. Over-long paths: 414 / 404.
    throttle = throttle or LoginThrottle()
    middlewares = [path_guard()] + ([login_guard(key, clock, throttle)] if key is not None
                                    else [])
    app = web.Application(client_max_size=1024, middlewares=middlewares)
    if key is not None:
        login_routes(app, key, session_ttl_s, clock, throttle)
    app.router.add_get("/", root)
    app.router.add_get("/console/", index)
    app.router.add_get("/console/console.js", js)
    app.router.add_get("/v1/console", figures)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app
