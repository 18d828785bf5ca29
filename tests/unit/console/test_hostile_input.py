"""Hostile input on every console route: never a 5xx, never the figures without the key.

The console (issue 14) is a third HTTP service beside the collector and delivery; it
reads no body but its login form. Any path, query, method, login form (urlencoded,
multipart, raw bytes), cookie or ``Authorization`` header: a 4xx, a redirect to the login
or the page; ``/v1/console`` answers its figures only to the right key or a session the
right key made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from pipeline.console.app import build_app
from pipeline.console.login import COOKIE, LoginThrottle, session_token
from pipeline.console.options import ConsoleOptions
from pipeline.console.tally import ConsoleTally
from tests.unit.served import hostile_settings, served

KEY = "correct-horse-battery"
NOW_S = 1_000_000.0


@dataclass
class Http:
    loop: asyncio.AbstractEventLoop
    client: TestClient

    def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, str]:
        async def go() -> tuple[int, str]:
            r = await self.client.request(method, path, allow_redirects=False, **kwargs)
            return r.status, await r.text()

        return self.loop.run_until_complete(go())


@pytest.fixture(scope="module")
def http() -> Iterator[Http]:
    # A snapshot of the real shape (its /metrics renders every figure), plus a marker.
    body = {**ConsoleTally(ConsoleOptions(report_every_s=0, n_boot=10)).snapshot(5, None),
            "config_version": 0, "secret_figure": 42,  # what ConsoleService.snapshot adds
            "feed": {"caught_up": True, "behind": 0, "missing": [], "undecodable": 0,
                     "error": None, "topic_prefix": ""}}
    app = build_app(lambda: body, lambda: (True, True, "ready"),
                    key=KEY, session_ttl_s=3600, clock=lambda: NOW_S,
                    throttle=LoginThrottle(attempts=10**9))
    with served(app) as (loop, client):
        yield Http(loop, client)


HOSTILE = hostile_settings(200)
text = (st.text(max_size=80) | st.just("x" * 5000) | st.sampled_from(
    ["\ud800", "%ED%A0%80", "a\x00b", "../../etc/passwd", "%2e%2e/", KEY, KEY + "x", ""]))
paths = st.sampled_from(["/", "/console/", "/console/console.js", "/v1/console", "/favicon.ico",
                         "/healthz", "/readyz", "/console/login", "/console/logout",
                         "/metrics", "/console/../v1/console"]) | st.builds(
    lambda tail: "/" + tail, st.text(st.characters(codec="utf-8", exclude_characters="?#"),
                                     max_size=300))
good_session = session_token(KEY, NOW_S - 600, 3600)
credentials = st.none() | text | st.sampled_from([
    good_session, f"Bearer {KEY}", f"Bearer {KEY}x", f"Basic {KEY}",
    session_token("another-key-0123", NOW_S, 3600),   # forged with another key
    session_token(KEY, NOW_S - 7200, 3600),             # expired
    good_session[:-2] + "AA", "9999999999.x", "²³.x"])


def _allowed(cookie: str | None, authorization: str | None) -> bool:
    return cookie == good_session or (authorization or "").strip() == f"Bearer {KEY}"


@HOSTILE
@given(st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"]), paths,
       st.none() | st.dictionaries(text, text, max_size=3), credentials, credentials)
def test_any_request_is_never_a_5xx_and_the_figures_need_the_key(
        http: Http, method: str, path: str, query: dict[str, str] | None, cookie: str | None,
        authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    if cookie is not None:  # as a header: the client's cookie jar drops cookies for an IP
        headers["Cookie"] = f"{COOKIE}={cookie}"
    try:
        status, body = http.call(method, path, params=query, headers=headers)
    except (ValueError, UnicodeEncodeError):
        return  # a request aiohttp's client itself refuses to send
    except AssertionError:
        if path.startswith("//"):
            return  # aiohttp's test client takes "//host" for an absolute URL: not sent
        raise
    except aiohttp.ClientResponseError as exc:  # the client could not parse the answer
        assert 400 <= exc.status < 500, exc.status  # (a HEAD answered 400 with a body)
        return
    assert status < 500, (status, body[:200])
    if "secret_figure" in body:
        assert _allowed(cookie, authorization), "figures without the key"


@HOSTILE
@given(st.one_of(st.dictionaries(text, text, max_size=4),
                 st.binary(max_size=400), st.just(b"key=" + b"%" * 3000)),
       st.sampled_from(["application/x-www-form-urlencoded", "multipart/form-data",
                        "text/plain", "application/json", ""]))
def test_any_login_form_is_never_a_5xx_and_only_the_key_makes_a_session(
        http: Http, form: Any, content_type: str) -> None:
    async def go() -> tuple[int, str, bool]:
        kwargs: dict[str, Any] = {"data": form}
        if isinstance(form, bytes) and content_type:
            kwargs["headers"] = {"Content-Type": content_type}
        r = await http.client.post("/console/login", allow_redirects=False, **kwargs)
        return r.status, await r.text(), COOKIE in r.cookies

    try:
        status, body, session = http.loop.run_until_complete(go())
    except (ValueError, UnicodeEncodeError):
        return
    assert status < 500, (status, body[:200])
    if session:
        assert isinstance(form, dict) and form.get("key") == KEY


@HOSTILE
@given(st.sampled_from(["/v1/console", "/console/console.js", "/console/"]), credentials,
       credentials)
def test_the_figures_and_the_page_only_with_the_key_or_its_session(
        http: Http, path: str, cookie: str | None, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    if cookie is not None:
        headers["Cookie"] = f"{COOKIE}={cookie}"
    try:
        status, body = http.call("GET", path, headers=headers)
    except (ValueError, UnicodeEncodeError):
        return
    assert status < 500, (status, body[:200])
    assert (status == 200) is _allowed(cookie, authorization), (status, body[:200])
