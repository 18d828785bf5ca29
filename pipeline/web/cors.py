"""A CORS allow-list for rtp's HTTP services.

Browsers send ``Origin`` on cross-origin requests. A request from an origin on
the list gets ``Access-Control-Allow-Origin`` echoed back; a preflight
(``OPTIONS`` with ``Access-Control-Request-Method``) is answered here. A request
from an origin *not* on the list is refused with 403 and a message before any
handler runs, so nothing it carried is processed. Requests without ``Origin``
(servers, curl, SDKs) and same-origin requests (pages the service serves itself)
are not affected. ``*`` on the list allows every origin.

>>> policy = CorsPolicy(frozenset({"https://shop.example"}))
>>> policy.allows("https://shop.example"), policy.allows("https://evil.example")
(True, False)
>>> CorsPolicy(frozenset({"*"})).allows("http://anything:1")
True
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

__all__ = ["CorsPolicy", "cors_middleware", "cors_screen", "install_cors", "same_origin"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class CorsPolicy:
    """Which origins may call, and what a preflight may ask for.

    >>> CorsPolicy(frozenset()).max_age_s
    600
    """

    origins: frozenset[str]
    methods: tuple[str, ...] = ("GET", "POST", "OPTIONS")
    headers: tuple[str, ...] = ("Content-Type", "Authorization", "Last-Event-ID")
    #: How long a browser may cache a preflight answer.
    max_age_s: int = 600

    def allows(self, origin: str) -> bool:
        """Whether ``origin`` (scheme://host[:port], exact) may call."""
        return "*" in self.origins or origin.rstrip("/") in self.origins

    def allow_headers(self, origin: str) -> dict[str, str]:
        """Headers that let the browser hand the answer to ``origin``'s page.

        >>> CorsPolicy(frozenset({"*"})).allow_headers("http://a")["Vary"]
        'Origin'
        """
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def same_origin(request: web.Request, origin: str) -> bool:
    """Whether ``origin`` is the service itself (browsers send Origin on same-origin POSTs).

    >>> from aiohttp.test_utils import make_mocked_request
    >>> same_origin(make_mocked_request("POST", "/", headers={"Host": "a:1"}), "http://a:1")
    True
    """
    return origin.rstrip("/") == f"{request.scheme}://{request.host}"


def _refused(origin: str) -> web.Response:
    return web.json_response(
        {"success": False,
         "error": f"origin {origin[:200]!r} is not on this service's CORS allow-list"},
        status=403)


def cors_screen(policy: CorsPolicy, request: web.Request) -> web.Response | None:
    """The answer the policy gives ``request`` before any handler runs — the refusal of an
    origin off the list (403) or a preflight's answer (204) — or None: the handler answers
    (what :func:`cors_middleware` does, for a service that folds its checks into one
    middleware).

    >>> from aiohttp.test_utils import make_mocked_request
    >>> policy = CorsPolicy(frozenset({"https://a.example"}))
    >>> cors_screen(policy, make_mocked_request("GET", "/")) is None  # no Origin
    True
    >>> cors_screen(policy, make_mocked_request("GET", "/", headers={
    ...     "Origin": "https://b.example"})).status
    403
    """
    origin = request.headers.get("Origin")
    if origin is None or same_origin(request, origin):
        return None
    if not policy.allows(origin):
        return _refused(origin)
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        return web.Response(status=204, headers={
            "Access-Control-Allow-Methods": ", ".join(policy.methods),
            "Access-Control-Allow-Headers": ", ".join(policy.headers),
            "Access-Control-Max-Age": str(policy.max_age_s),
        })
    return None


def cors_middleware(policy: CorsPolicy) -> Middleware:
    """Refuse origins off the list, answer preflights (see the module docstring).

    >>> import asyncio
    >>> from aiohttp.test_utils import make_mocked_request
    >>> async def ok(request: web.Request) -> web.Response:
    ...     return web.Response(text="ok")
    >>> mw = cors_middleware(CorsPolicy(frozenset({"https://a.example"})))
    >>> request = make_mocked_request("GET", "/", headers={"Origin": "https://b.example"})
    >>> asyncio.run(mw(request, ok)).status
    403
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        answer = cors_screen(policy, request)
        if answer is not None:
            return answer
        return await handler(request)

    return middleware


def install_cors(app: web.Application, policy: CorsPolicy, middleware: bool = True) -> None:
    """Add the middleware (unless ``middleware`` is off: the service screens requests with
    :func:`cors_screen` in a middleware of its own), and the allow headers to every answer
    (streams included) through a response hook — added only when some origin is on the
    list: with none, the hook could never add a header, and every response would pay for it.

    The allow headers are added when the response is prepared, after aiohttp's own
    (``Date``, ``Server``, ``Content-Length``): a handler or middleware setting them earlier
    would change their place on the wire.

    >>> app = web.Application()
    >>> install_cors(app, CorsPolicy(frozenset({"*"})))
    >>> len(app.middlewares), len(app.on_response_prepare)
    (1, 1)
    >>> bare = web.Application()
    >>> install_cors(bare, CorsPolicy(frozenset()), middleware=False)
    >>> len(bare.middlewares), len(bare.on_response_prepare)
    (0, 0)
    """
    if middleware:
        app.middlewares.append(cors_middleware(policy))
    if not policy.origins:
        return

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin")
        if origin is not None and policy.allows(origin) and not same_origin(request, origin):
            response.headers.update(policy.allow_headers(origin))

    app.on_response_prepare.append(add_headers)
