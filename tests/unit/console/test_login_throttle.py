"""Wrong console keys are rate-limited per client address: 429 with ``Retry-After`` and a
message once an address has used its attempts (form and Bearer count together), for the
right key too; another address, a valid session and the right key later are not refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from pipeline.console.app import build_app
from pipeline.console.login import COOKIE, LoginThrottle
from pipeline.console.options import ConsoleOptions

KEY = "correct-horse-battery"
ATTEMPTS, EVERY_S = 3, 40.0
CLOCK = {"s": 0.0}


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    CLOCK["s"] = 0.0
    throttle = LoginThrottle(ATTEMPTS, EVERY_S, monotonic=lambda: CLOCK["s"])
    app = build_app(lambda: {"now_ms": 5}, lambda: (True, True, "ready"), key=KEY,
                    session_ttl_s=3600, throttle=throttle)
    async with TestClient(TestServer(app, host="127.0.0.1")) as c:
        yield c


async def _form(client: TestClient, key: str) -> aiohttp.ClientResponse:
    return await client.post("/console/login", data={"key": key}, allow_redirects=False)


async def test_after_the_attempts_every_key_gets_429_with_retry_after(
        client: TestClient) -> None:
    for _ in range(ATTEMPTS):
        wrong = await _form(client, "not-the-key-at-all")
        assert wrong.status == 401 and "Wrong key." in await wrong.text()
    for key in ("still-not-the-key", KEY):  # the right key is refused too: no guessing on
        refused = await _form(client, key)
        assert refused.status == 429
        assert refused.headers["Retry-After"] == str(int(EVERY_S))
        assert "Too many wrong keys from this address: try again in 40 s." in (
            await refused.text())
        assert COOKIE not in refused.cookies
    bearer = await client.get("/v1/console", headers={"Authorization": f"Bearer {KEY}"})
    assert bearer.status == 429 and bearer.headers["Retry-After"] == "40"
    assert "try again in 40 s" in (await bearer.json())["error"]
    CLOCK["s"] = EVERY_S - 1
    assert (await _form(client, KEY)).status == 429
    assert (await _form(client, KEY)).headers["Retry-After"] == "1"
    CLOCK["s"] = EVERY_S  # one attempt back
    ok = await _form(client, KEY)
    assert ok.status == 303 and COOKIE in ok.cookies


async def test_wrong_bearer_keys_and_wrong_form_keys_share_one_count(
        client: TestClient) -> None:
    for _ in range(ATTEMPTS - 1):
        bad = await client.get("/v1/console", headers={"Authorization": "Bearer wrong"})
        assert bad.status == 401
    assert (await _form(client, "wrong-again-wrong")).status == 401
    assert (await _form(client, KEY)).status == 429


async def test_a_session_made_before_is_not_refused_and_right_keys_do_not_count(
        client: TestClient) -> None:
    for _ in range(ATTEMPTS * 3):  # right keys never use up attempts
        assert (await _form(client, KEY)).status == 303
    for _ in range(ATTEMPTS):
        assert (await _form(client, "a-wrong-key-here")).status == 401
    assert (await _form(client, KEY)).status == 429
    figures = await client.get("/v1/console")  # the cookie from before
    assert figures.status == 200 and await figures.json() == {"now_ms": 5}
    assert (await client.get("/console/")).status == 200


async def test_another_client_address_has_its_own_attempts(client: TestClient) -> None:
    for _ in range(ATTEMPTS):
        assert (await _form(client, "guessing-guessing")).status == 401
    assert (await _form(client, KEY)).status == 429
    url = client.make_url("/console/login")
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with (aiohttp.ClientSession(connector=connector) as other,
                other.post(url, data={"key": KEY}, allow_redirects=False) as response):
        assert response.status == 303
    assert (await _form(client, KEY)).status == 429  # the first address is still paused


def test_the_throttles_options_are_checked() -> None:
    throttle = LoginThrottle(1, 10.0, monotonic=lambda: 0.0)
    assert throttle.failed("192.0.2.7") == 10.0
    assert throttle.wait_s("192.0.2.7") == 10.0 and throttle.wait_s("192.0.2.8") == 0.0
    with pytest.raises(ValueError):
        LoginThrottle(0, 10.0)
    with pytest.raises(ValueError, match="login_attempts"):
        ConsoleOptions(login_attempts=0)
    with pytest.raises(ValueError, match="login_every_s"):
        ConsoleOptions(login_every_s=0)
    options = ConsoleOptions.from_env({"RTP_CONSOLE_LOGIN_ATTEMPTS": "7",
                                       "RTP_CONSOLE_LOGIN_EVERY_S": "2.5"})
    assert (options.login_attempts, options.login_every_s) == (7, 2.5)
