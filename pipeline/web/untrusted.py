"""Checks for what arrives over HTTP before anything uses it: text, numbers, paths.

JSON decoded by Python can hold strings that are not valid UTF-8 (a lone UTF-16
surrogate such as ``"\\ud800"`` decodes to one) and integers with hundreds of
digits, which overflow when turned into floats. Both crashed handlers before;
these checks turn them into a message for a 4xx answer. The path guard refuses
request paths no file or route can have (long paths, over-long segments) before
the static file handler asks the file system about them.

>>> bad_string({"a": ["ok", "\\ud800"]})
'a[1] is not valid UTF-8 text (a lone surrogate)'
>>> bad_string({"a": "ok"}) is None
True
>>> finite_number(10**400, "value")
Traceback (most recent call last):
...
ValueError: value is out of range
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

__all__ = [
    "MAX_NUMBER",
    "MAX_PATH_CHARS",
    "MAX_SEGMENT_CHARS",
    "bad_string",
    "finite_number",
    "id_problem",
    "path_guard",
    "path_refusal",
    "read_body",
    "refusal_closes",
]

#: The largest magnitude any numeric input may have (money, coordinates, times all fit).
MAX_NUMBER = 10**15
#: The longest request path accepted (the browser limit of common CDNs is around 2-8 KB).
MAX_PATH_CHARS = 1024
#: The longest path segment: no file name is longer (NAME_MAX on Linux).
MAX_SEGMENT_CHARS = 255

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def bad_string(value: object, where: str = "") -> str | None:
    """Where ``value`` (decoded JSON) holds a string or key that is not valid UTF-8, or None.

    >>> bad_string(["x", {"\\udc80": 1}], "body")
    'body[1] has a key that is not valid UTF-8 text (a lone surrogate)'
    """
    stack: list[tuple[object, str]] = [(value, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                return f"{at or 'the value'} is not valid UTF-8 text (a lone surrogate)"
        elif isinstance(item, dict):
            for key, inner in item.items():
                if isinstance(key, str) and not _encodable(key):
                    return f"{at or 'the body'} has a key that is not valid UTF-8 text " \
                           "(a lone surrogate)"
                stack.append((inner, f"{at}.{key}" if at else str(key)))
        elif isinstance(item, list):
            stack.extend((inner, f"{at}[{i}]") for i, inner in reversed(list(enumerate(item))))
    return None


def finite_number(value: object, where: str, limit: float = MAX_NUMBER) -> float:
    """``value`` (an int or float, not a bool) as a float of magnitude at most ``limit``.

    Integers are compared before they are converted, so no size of integer overflows.

    >>> finite_number(12, "x"), finite_number(-0.5, "x")
    (12.0, -0.5)
    >>> finite_number(float("inf"), "x")
    Traceback (most recent call last):
    ...
    ValueError: x must be a finite number
    >>> finite_number(True, "x")
    Traceback (most recent call last):
    ...
    ValueError: x must be a number (got bool)
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where} must be a number (got {type(value).__name__})")
    if isinstance(value, int):
        if abs(value) > limit:
            raise ValueError(f"{where} is out of range")
        return float(value)
    if not math.isfinite(value):
        raise ValueError(f"{where} must be a finite number")
    if abs(value) > limit:
        raise ValueError(f"{where} is out of range")
    return value


def id_problem(value: str, where: str, max_chars: int = 256) -> str | None:
    """What is wrong with ``value`` as an identifier (too long, not UTF-8, control
    characters), or None.

    >>> id_problem("v-1", "visitor") is None, id_problem("a\\x00b", "visitor")
    (True, 'visitor must not contain control characters')
    """
    if len(value) > max_chars:
        return f"{where} is longer than {max_chars} characters"
    if not _encodable(value):
        return f"{where} is not valid UTF-8 text (a lone surrogate)"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return f"{where} must not contain control characters"
    return None


def path_refusal(request: web.Request, max_path_chars: int = MAX_PATH_CHARS,
                 max_segment_chars: int = MAX_SEGMENT_CHARS) -> web.Response | None:
    """The refusal of a path longer than ``max_path_chars`` (414) or with a segment longer
    than ``max_segment_chars`` (404: nothing can have that name), with a JSON message; None
    for a path that may go on (what :func:`path_guard` checks, for a service that folds its
    checks into one middleware).

    >>> from aiohttp.test_utils import make_mocked_request
    >>> path_refusal(make_mocked_request("GET", "/shop/" + "a" * 300)).status
    404
    >>> path_refusal(make_mocked_request("GET", "/shop/index.html")) is None
    True
    """
    raw = request.raw_path.partition("?")[0]
    path = request.path
    if max(len(raw), len(path)) > max_path_chars:
        return web.json_response(
            {"success": False, "error": f"the path is longer than {max_path_chars} "
             "characters"}, status=414)
    if len(path) > max_segment_chars and any(len(s) > max_segment_chars
                                             for s in path.split("/")):
        return web.json_response(
            {"success": False, "error": f"not found (a path segment is longer than "
             f"{max_segment_chars} characters)"}, status=404)
    return None


def path_guard(max_path_chars: int = MAX_PATH_CHARS,
               max_segment_chars: int = MAX_SEGMENT_CHARS) -> Middleware:
    """Refuse a path longer than ``max_path_chars`` (414) or with a segment longer than
    ``max_segment_chars`` (404: nothing can have that name), with a JSON message
    (:func:`path_refusal` as a middleware).

    >>> import asyncio
    >>> from aiohttp.test_utils import make_mocked_request
    >>> async def ok(request: web.Request) -> web.Response:
    ...     return web.Response(text="ok")
    >>> guard = path_guard()
    >>> asyncio.run(guard(make_mocked_request("GET", "/shop/" + "a" * 5000), ok)).status
    414
    >>> asyncio.run(guard(make_mocked_request("GET", "/shop/" + "a" * 300), ok)).status
    404
    >>> asyncio.run(guard(make_mocked_request("GET", "/shop/index.html"), ok)).status
    200
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        refusal = path_refusal(request, max_path_chars, max_segment_chars)
        if refusal is not None:
            return refusal
        return await handler(request)

    return middleware


async def read_body(request: web.Request, timeout_s: float) -> bytes:
    """The request body, or 408 (closing the connection) when it does not arrive within
    ``timeout_s`` — a client that announces a body and sends it slowly or never is cut off.

    >>> from aiohttp.test_utils import TestClient, TestServer
    >>> async def echo(request: web.Request) -> web.Response:
    ...     return web.Response(body=await read_body(request, 1.0))
    >>> app = web.Application()
    >>> _ = app.router.add_post("/", echo)
    >>> async def call() -> bytes:
    ...     async with TestClient(TestServer(app)) as client:
    ...         return await (await client.post("/", data=b"hi")).read()
    >>> asyncio.run(call())
    b'hi'
    """
    try:
        return await asyncio.wait_for(request.read(), timeout_s)
    except TimeoutError:
        raise web.HTTPRequestTimeout(
            reason=f"the request body did not arrive within {timeout_s:g} s") from None


def refusal_closes(status: int, response: web.StreamResponse) -> web.StreamResponse:
    """Mark ``response`` to close the connection when it answers a timed-out body (408):
    the rest of that body is not waited for.

    >>> refusal_closes(408, web.Response()).keep_alive
    False
    >>> refusal_closes(400, web.Response()).keep_alive is None  # aiohttp decides
    True
    """
    if status == 408:
        response.force_close()
    return response
