"""The console's login: one operator key, a signed session cookie, a login page.

The key comes from ``RTP_CONSOLE_KEY`` (or ``--key``; at least 12 characters); without one,
``rtp console`` makes a random key and prints it once on its terminal (never in the log).
``POST /console/login`` with the right key sets the ``rtp_console`` cookie: an expiry
and an HMAC-SHA256 of it under the key (no server-side sessions; a new key ends every
session). It is ``HttpOnly``, ``SameSite=Strict`` and ``Secure`` when the request came
over HTTPS. Without a valid cookie, the page redirects to ``/console/login`` and
``/v1/console`` answers 401; scripts may send ``Authorization: Bearer <key>`` instead.
``/healthz`` and ``/readyz`` stay open (probes carry no secrets).

Wrong keys are rate-limited per client address (:class:`LoginThrottle`): after
``attempts`` wrong keys (form or Bearer) an address gets 429 with ``Retry-After`` and a
message for every key it sends, right or wrong, until a token comes back (one every
``every_s``). A valid session cookie is not a key attempt and is never refused. There are no
user accounts: one key for every operator.

>>> token = session_token("operator-key-123", now_s=1_000, ttl_s=60)
>>> valid_session("operator-key-123", token, now_s=1_059)
True
>>> valid_session("operator-key-123", token, now_s=1_061)  # expired
False
>>> valid_session("another-key-4567", token, now_s=1_000)  # signed under another key
False
>>> valid_session("operator-key-123", "1060.forged", now_s=1_000)
False
>>> valid_session("operator-key-123", "\u00b2.x", now_s=1_000)
False
"""

from __future__ import annotations

import hashlib
import hmac
import html
import math
import secrets
import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from pipeline.web.rate_limits import TokenBuckets

__all__ = [
    "COOKIE",
    "MIN_KEY_LENGTH",
    "LoginThrottle",
    "check_key",
    "login_guard",
    "login_routes",
    "new_key",
    "session_token",
    "valid_session",
]

#: The session cookie's name.
COOKIE = "rtp_console"
#: Shortest key accepted.
MIN_KEY_LENGTH = 12
#: Paths anyone may open: the login page and form, the probes.
OPEN_PATHS = frozenset({"/console/login", "/healthz", "/readyz", "/favicon.ico"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = structlog.get_logger(__name__)


class LoginThrottle:
    """Wrong console keys per client address: ``attempts`` in a row, then one more every
    ``every_s`` seconds. Addresses are kept only as a keyed digest (BLAKE2b under a key
    made at start), at most ``max_addresses`` of them (least recently used dropped).

    >>> now = [0.0]
    >>> throttle = LoginThrottle(attempts=2, every_s=30.0, monotonic=lambda: now[0])
    >>> throttle.wait_s("10.0.0.1")
    0.0
    >>> throttle.failed("10.0.0.1"), throttle.failed("10.0.0.1")
    (0.0, 30.0)
    >>> throttle.wait_s("10.0.0.1"), throttle.wait_s("10.0.0.2")
    (30.0, 0.0)
    >>> now[0] = 30.0
    >>> throttle.wait_s("10.0.0.1")
    0.0
    """

    def __init__(self, attempts: int = 5, every_s: float = 60.0, max_addresses: int = 100_000,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if attempts < 1 or not every_s > 0:
            raise ValueError(f"login attempts must be >= 1 and every_s > 0, got {attempts} "
                             f"and {every_s}")
        self.attempts = attempts
        self.every_s = every_s
        self._buckets = TokenBuckets(1.0 / every_s, attempts, max_addresses)
        self._key = secrets.token_bytes(16)
        self._monotonic = monotonic

    def _digest(self, address: str | None) -> str:
        return hashlib.blake2b((address or "").encode("utf-8", "surrogatepass"),
                               key=self._key, digest_size=8).hexdigest()

    def wait_s(self, address: str | None) -> float:
        """Seconds before ``address`` may try a key again (0: now); takes nothing."""
        return self._buckets.retry_after({self._digest(address): 1}, self._monotonic(),
                                         take=False)

    def failed(self, address: str | None) -> float:
        """Count a wrong key from ``address``; the seconds it must now wait (0: none)."""
        self._buckets.retry_after({self._digest(address): 1}, self._monotonic())
        return self.wait_s(address)

    def refuse(self, address: str | None) -> None:
        """Count a wrong key; log (without the address) when it pauses the address."""
        wait = self.failed(address)
        if wait > 0:
            log.warning("console logins paused for a client address after wrong keys",
                        attempts=self.attempts, retry_after_s=round(wait, 1))


def _too_many(wait_s: float) -> tuple[str, dict[str, str]]:
    seconds = max(1, math.ceil(wait_s))
    return (f"Too many wrong keys from this address: try again in {seconds} s.",
            {"Retry-After": str(seconds), "Cache-Control": "no-store"})


def check_key(key: str) -> str:
    """``key`` when it is long enough; :class:`ValueError` otherwise.

    >>> check_key("short")
    Traceback (most recent call last):
    ...
    ValueError: the console key must be at least 12 characters (got 5)
    """
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError(f"the console key must be at least {MIN_KEY_LENGTH} characters "
                         f"(got {len(key)})")
    return key


def new_key() -> str:
    """A random key (for a console started without one).

    >>> len(new_key()) >= MIN_KEY_LENGTH
    True
    """
    return secrets.token_urlsafe(18)


def _mac(key: str, expires: int) -> str:
    return hmac.new(key.encode("utf-8"), f"rtp-console-session:{expires}".encode(),
                    hashlib.sha256).hexdigest()


def session_token(key: str, now_s: float, ttl_s: int) -> str:
    """A session valid until ``now_s + ttl_s``: ``<expiry>.<HMAC of it under key>``."""
    expires = int(now_s) + ttl_s
    return f"{expires}.{_mac(key, expires)}"


def valid_session(key: str, token: str | None, now_s: float) -> bool:
    """Whether ``token`` was made under ``key`` and has not expired at ``now_s``."""
    if not token or "." not in token:
        return False
    expires_text, mac = token.split(".", 1)
    if not (expires_text.isascii() and expires_text.isdigit()) or len(expires_text) > 12:
        return False  # e.g. '²' is a digit to str.isdigit(), not to int()
    expires = int(expires_text)
    return expires >= now_s and hmac.compare_digest(mac, _mac(key, expires))


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else None


def login_guard(key: str, clock: Callable[[], float] = time.time,
                throttle: LoginThrottle | None = None) -> Callable[..., Awaitable[
                    web.StreamResponse]]:
    """Middleware: every path but :data:`OPEN_PATHS` needs the session (or the key as a
    bearer token); a page request without it is sent to the login page, the rest get 401.
    A wrong Bearer key counts against ``throttle``; a throttled address gets 429.

    >>> app = web.Application(middlewares=[login_guard("k" * 12)])
    >>> len(app.middlewares)
    1
    """
    throttle = throttle or LoginThrottle()

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS:
            return await handler(request)
        if valid_session(key, request.cookies.get(COOKIE), clock()):
            return await handler(request)
        bearer = _bearer(request)
        if bearer is not None:
            wait = throttle.wait_s(request.remote)
            if wait > 0:
                message, headers = _too_many(wait)
                return web.json_response({"error": message}, status=429, headers=headers)
            if hmac.compare_digest(bearer.encode(), key.encode()):
                return await handler(request)
            throttle.refuse(request.remote)
        if request.method == "GET" and request.path in ("/", "/console/"):
            raise web.HTTPSeeOther("/console/login")
        return web.json_response({"error": "log in at /console/login (or send "
                                           "Authorization: Bearer <console key>)"},
                                 status=401, headers={"WWW-Authenticate": "Bearer"})

    return guard


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rtp console: log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:15px system-ui,sans-serif;margin:4rem auto;max-width:22rem}}
input,button{{font:inherit;padding:.4rem;width:100%;box-sizing:border-box;margin:.3rem 0}}
.error{{color:#b00020}}</style></head>
<body><h1>rtp console</h1>
<form method="post" action="/console/login">
<label for="key">Console key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
<button id="login" type="submit">Log in</button>
</form>
<p id="message" class="error">{message}</p>
<p><small>The key is <code>RTP_CONSOLE_KEY</code>, or the one <code>rtp console</code>
printed when it started without one.</small></p>
</body></html>
"""


def _page(message: str, status: int, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=_PAGE.format(message=html.escape(message)), status=status,
                        content_type="text/html",
                        headers=headers or {"Cache-Control": "no-store"})


def login_routes(app: web.Application, key: str, ttl_s: int,
                 clock: Callable[[], float] = time.time,
                 throttle: LoginThrottle | None = None) -> None:
    """``GET``/``POST /console/login`` and ``POST /console/logout`` on ``app``; wrong keys
    count against ``throttle`` (pass the guard's, so form and Bearer share one count).

    >>> app = web.Application()
    >>> login_routes(app, "k" * 12, ttl_s=60)
    >>> sorted((r.method, r.resource.canonical) for r in app.router.routes())
    ... # doctest: +NORMALIZE_WHITESPACE
    [('GET', '/console/login'), ('HEAD', '/console/login'), ('POST', '/console/login'),
     ('POST', '/console/logout')]
    """

    limit = throttle or LoginThrottle()

    async def form(_: web.Request) -> web.Response:
        return _page("", 200)

    async def login(request: web.Request) -> web.StreamResponse:
        try:
            data = await request.post()
        except (UnicodeDecodeError, ValueError):
            return _page("The form could not be read.", 400)
        given = data.get("key")
        # From here to the answer nothing awaits: concurrent wrong keys are counted one by
        # one, so no more than the allowed number is ever compared.
        wait = limit.wait_s(request.remote)
        if wait > 0:
            message, headers = _too_many(wait)
            return _page(message, 429, headers)
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), key.encode()):
            limit.refuse(request.remote)
            return _page("Wrong key.", 401)
        response = web.HTTPSeeOther("/console/")
        response.set_cookie(COOKIE, session_token(key, clock(), ttl_s), max_age=ttl_s,
                            path="/", httponly=True, samesite="Strict", secure=request.secure)
        raise response

    async def logout(_: web.Request) -> web.StreamResponse:
        response = web.HTTPSeeOther("/console/login")
        response.del_cookie(COOKIE, path="/")
        raise response

    app.router.add_get("/console/login", form)
    app.router.add_post("/console/login", login)
    app.router.add_post("/console/logout", logout)
