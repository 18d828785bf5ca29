"""The console's HTTP side: the page, its JSON, probes, and 4xx for what does not fit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pipeline.console.app import build_app

STATE: dict[str, Any] = {"caught_up": False}


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    app = build_app(lambda: {"now_ms": 5, "lift": float("nan"), "rows": [float("inf"), 1.5]},
                    lambda: (True, STATE["caught_up"], "3 records behind"))
    async with TestClient(TestServer(app)) as c:
        yield c


async def test_the_json_has_no_nan(client: TestClient) -> None:
    response = await client.get("/v1/console")
    assert response.status == 200
    assert await response.json() == {"now_ms": 5, "lift": None, "rows": [None, 1.5]}


@pytest.mark.parametrize("query", ["?x=1", "?window_s=10", "?="])
async def test_parameters_are_a_400_with_a_message(client: TestClient,
                                                   query: str) -> None:
    response = await client.get("/v1/console" + query)
    assert response.status == 400
    assert "takes no parameters" in (await response.json())["error"]


async def test_the_page_and_its_script_come_from_the_package(
        client: TestClient) -> None:
    page = await client.get("/console/")
    assert page.status == 200 and "text/html" in page.headers["Content-Type"]
    html = await page.text()
    assert '<script src="console.js">' in html and "http" not in html.split("<body>")[1]
    script = await client.get("/console/console.js")
    assert script.status == 200 and "fetch(\"/v1/console\"" in await script.text()
    root = await client.get("/", allow_redirects=False)
    assert (root.status, root.headers["Location"]) == (302, "/console/")
    assert (await client.get("/console/nothing")).status == 404


async def test_readiness_follows_the_feed(client: TestClient) -> None:
    STATE["caught_up"] = False
    assert (await client.get("/readyz")).status == 503
    assert (await client.get("/healthz")).status == 200
    STATE["caught_up"] = True
    assert (await client.get("/readyz")).status == 200


@pytest.mark.parametrize("path, status", [("/" + "a" * 2000, 414), ("/console/" + "b" * 300, 404),
                                          ("/v1/console?" + "x" * 3000, 400)])
async def test_hostile_paths_get_a_4xx(client: TestClient, path: str, status: int) -> None:
    assert (await client.get(path)).status == status


async def test_other_methods_are_refused(client: TestClient) -> None:
    assert (await client.post("/v1/console", data=b"x" * 10_000)).status in {405, 413}
