"""``POST /v1/visitor``: the collector chooses visitor ids and signs their tokens.

A request with the write key gets a new visitor id and a token delivery accepts; a
token the collector signed (even expired, within the renewal window) renews the same
visitor; a forged, foreign or too old token gets a new visitor, never the claimed one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st

from pipeline.collector.app import CollectorState, build_app
from pipeline.collector.ingest import Ingestor
from pipeline.collector.metrics import CollectorMetrics
from pipeline.collector.options import CollectorOptions
from pipeline.serde import Codec
from pipeline.web.visitor_token import BadToken, VisitorTokens
from tests.unit.collector.test_app import FakeSink

KEY = "collector-key-0123456789"
NOW_S = 1_800_000_000.0


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    state = CollectorState(Ingestor(CollectorOptions(write_keys=frozenset({"wk"})),
                                    Codec.default()), FakeSink(), str,
                           CollectorMetrics.create(),
                           VisitorTokens((KEY,), clock=lambda: NOW_S))
    async with TestClient(TestServer(build_app(state))) as c:
        yield c


async def ask(client: TestClient, body: dict[str, Any] | None,
              auth: bool = False) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": "Basic " + base64.b64encode(b"wk:").decode()} if auth else {}
    r = await client.post("/v1/visitor", data=json.dumps(body) if body is not None else b"",
                          headers=headers)
    return r.status, await r.json()


async def test_a_new_visitor_gets_an_id_and_a_token_delivery_accepts(client: TestClient
                                                                     ) -> None:
    status, first = await ask(client, {"writeKey": "wk"})
    _, second = await ask(client, None, auth=True)
    assert status == 200 and first["visitor"].startswith("v-")
    assert first["visitor"] != second["visitor"]
    delivery = VisitorTokens(("another-new-key-0123", KEY), clock=lambda: NOW_S + 60)
    assert delivery.verify(first["token"]) == first["visitor"]
    assert first["expires_at"] == int(NOW_S) + 86_400


async def test_a_signed_token_renews_the_same_visitor(client: TestClient) -> None:
    stale = VisitorTokens((KEY,), clock=lambda: NOW_S - 10 * 86_400).issue("v-returning")
    status, answer = await ask(client, {"writeKey": "wk", "token": stale})
    assert status == 200 and answer["visitor"] == "v-returning"
    assert VisitorTokens((KEY,), clock=lambda: NOW_S).verify(answer["token"]) == "v-returning"


@pytest.mark.parametrize("token", [
    VisitorTokens(("attacker-key-0123456789",), clock=lambda: NOW_S).issue("v-victim"),
    VisitorTokens((KEY,), clock=lambda: NOW_S - 40 * 86_400).issue("v-victim"),  # too old
    "v-victim", 42])
async def test_no_token_for_a_claimed_visitor(client: TestClient, token: object) -> None:
    status, answer = await ask(client, {"writeKey": "wk", "token": token})
    assert status == 200 and answer["visitor"] != "v-victim"


async def test_without_the_write_key_no_token(client: TestClient) -> None:
    status, answer = await ask(client, {"token": "x"})
    assert status == 401 and "write key" in answer["error"] and "token" not in answer


@given(st.integers(0, 200), st.characters(codec="ascii", categories=("L", "N")))
def test_any_change_to_a_token_makes_it_invalid(at: int, char: str) -> None:
    tokens = VisitorTokens((KEY,), clock=lambda: NOW_S)
    token = tokens.issue("v-1")
    i = at % len(token)
    changed = token[:i] + char + token[i + 1:]
    if changed != token:
        with pytest.raises(BadToken):
            tokens.verify(changed)
