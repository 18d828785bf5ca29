"""The console's login: nothing but the login page and the probes without it; a session
cookie from the right key only; expiry; a Bearer key for scripts; hostile cookies."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from pipeline.console.app import build_app
from pipeline.console.login import COOKIE, session_token, valid_session
from pipeline.console.options import ConsoleOptions

KEY = "correct-horse-battery"
NOW = {"s": 1_000_000.0}


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    NOW["s"] = 1_000_000.0
    app = build_app(lambda: {"now_ms": 5}, lambda: (True, True, "ready"), key=KEY,
                    session_ttl_s=3600, clock=lambda: NOW["s"])
    async with TestClient(TestServer(app)) as c:
        yield c


async def _login(client: TestClient, key: str) -> int:
    response = await client.post("/console/login", data={"key": key}, allow_redirects=False)
    return response.status


@pytest.mark.parametrize("path", ["/v1/console", "/console/console.js"])
async def test_without_a_login_the_figures_and_script_are_401(client: TestClient,
                                                             path: str) -> None:
    response = await client.get(path)
    assert response.status == 401
    assert "/console/login" in (await response.json())["error"]


async def test_the_page_sends_to_the_login_and_probes_stay_open(client: TestClient) -> None:
    page = await client.get("/console/", allow_redirects=False)
    assert (page.status, page.headers["Location"]) == (303, "/console/login")
    form = await client.get("/console/login")
    assert form.status == 200 and 'name="key"' in await form.text()
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/readyz")).status == 200


async def test_a_wrong_key_gets_no_cookie_and_the_right_one_a_session(
        client: TestClient) -> None:
    response = await client.post("/console/login", data={"key": KEY + "x"},
                                 allow_redirects=False)
    assert response.status == 401 and "Wrong key." in await response.text()
    assert COOKIE not in response.cookies
    assert (await client.get("/v1/console")).status == 401
    response = await client.post("/console/login", data={"key": KEY}, allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/console/")
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert KEY not in cookie.value  # the key itself never travels back
    figures = await client.get("/v1/console")
    assert (figures.status, await figures.json()) == (200, {"now_ms": 5})
    assert (await client.get("/console/")).status == 200


async def test_a_session_expires_and_logout_ends_it(client: TestClient) -> None:
    assert await _login(client, KEY) == 303
    NOW["s"] += 3599
    assert (await client.get("/v1/console")).status == 200
    NOW["s"] += 2
    assert (await client.get("/v1/console")).status == 401
    assert await _login(client, KEY) == 303
    response = await client.post("/console/logout", allow_redirects=False)
    assert response.status == 303
    assert (await client.get("/v1/console")).status == 401


async def test_a_bearer_key_works_for_scripts_and_a_wrong_one_does_not(
        client: TestClient) -> None:
    ok = await client.get("/v1/console", headers={"Authorization": f"Bearer {KEY}"})
    assert ok.status == 200
    bad = await client.get("/v1/console", headers={"Authorization": "Bearer nope"})
    assert bad.status == 401


async def test_a_missing_or_odd_form_is_a_401_not_a_500(client: TestClient) -> None:
    for data in ({}, {"other": "x"}, {"key": ""}):
        assert (await client.post("/console/login", data=data)).status == 401
    response = await client.post("/console/login", data=b"key=\xff\xfe",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 400


@given(st.text(max_size=80))
def test_any_made_up_cookie_is_no_session_and_never_an_error(cookie: str) -> None:
    assert valid_session(KEY, cookie, 0) is False


@given(st.integers(min_value=0, max_value=86_400), st.integers(min_value=0, max_value=200),
       st.characters(codec="ascii"))
def test_a_session_changed_anywhere_is_no_session(ttl: int, at: int, char: str) -> None:
    token = session_token(KEY, 1_000, ttl)
    assert valid_session(KEY, token, 1_000 + min(ttl, at)) is True
    position = at % len(token)
    changed = token[:position] + char + token[position + 1:]
    assert valid_session(KEY, changed, 1_000) is (changed == token)


def test_the_key_is_checked_and_never_shown() -> None:
    with pytest.raises(ValueError, match="at least 12 characters"):
        ConsoleOptions(key="short")
    options = ConsoleOptions.from_env({"RTP_CONSOLE_KEY": KEY})
    assert options.key == KEY and KEY not in repr(options)


def test_a_console_without_a_key_makes_a_random_one_and_says_so() -> None:
    from pipeline.console import ConsoleService
    from pipeline.settings import Settings

    made = [ConsoleService(Settings(kafka_port=1), ConsoleOptions(http_port=0))
            for _ in range(2)]
    assert all(s.key_generated and len(s.key) >= 12 for s in made)
    assert made[0].key != made[1].key
    given = ConsoleService(Settings(kafka_port=1), ConsoleOptions(http_port=0, key=KEY))
    assert (given.key, given.key_generated) == (KEY, False)
