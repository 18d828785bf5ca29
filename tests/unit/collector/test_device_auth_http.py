"""Device authentication over HTTP, every collector route that takes a visitor id from a browser.

A hypothesis property over the token and id shapes a forger can send (none, empty, junk,
non-strings, forged MACs, expired tokens, tokens signed with a guessed key, another
visitor's valid token, the visitor's own) on ``/v1/t`` and every Segment route: never a
5xx; a request without the named visitor's valid token is a 401/403 with a message and
produces nothing; with it, the request is produced, keyed by that visitor. The answer
renews a token past half its lifetime; a server write key still names any visitor.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.collector.app import CollectorState, build_app
from pipeline.collector.ingest import Ingestor
from pipeline.collector.metrics import CollectorMetrics
from pipeline.collector.minimise import stored_ids
from pipeline.collector.options import CollectorOptions
from pipeline.serde import Codec
from pipeline.web.visitor_token import VisitorTokens
from tests.unit.collector.strategies import NOW_MS
from tests.unit.collector.test_app import FakeSink, Http

KEY = "collector-token-key-0123456789"
NOW_S = NOW_MS / 1000
TOKENS = VisitorTokens((KEY,), clock=lambda: NOW_S)
BROWSER = {"Authorization": "Basic " + base64.b64encode(b"wk:").decode()}
SERVER = {"Authorization": "Basic " + base64.b64encode(b"server-sk:").decode()}
VICTIM = "v-victim"


@pytest.fixture(scope="module")
def http() -> Iterator[Http]:
    loop = asyncio.new_event_loop()
    sink = FakeSink()
    options = CollectorOptions(http_port=0, write_keys=frozenset({"wk"}),
                               server_keys=frozenset({"server-sk"}), max_batch=20,
                               visitor_rate_per_s=1e6, visitor_burst=10**6,
                               key_rate_per_s=1e6, key_burst=10**6, dedup_window_ms=1,
                               address_rate_per_s=1e6, address_burst=10**6)
    state = CollectorState(Ingestor(options, Codec.default(), wall=lambda: NOW_S), sink, str,
                           CollectorMetrics.create(), TOKENS)

    async def start() -> TestClient:
        client = TestClient(TestServer(build_app(state)))
        await client.start_server()
        return client

    client = loop.run_until_complete(start())
    yield Http(loop, client, sink)
    loop.run_until_complete(client.close())
    loop.close()


def forged(token: str) -> str:
    head, expiry, mac = token.split(".")
    return ".".join((head, expiry, ("A" if mac[0] != "A" else "B") + mac[1:]))


#: (name, token for ``visitor`` as a function of it, whether it proves ``visitor``)
TOKEN_SHAPES: list[tuple[str, Any, bool]] = [
    ("own", TOKENS.issue, True),
    ("absent", lambda v: None, False),
    ("empty", lambda v: "", False),
    ("number", lambda v: 12345, False),
    ("list", lambda v: [TOKENS.issue(v)], False),
    ("object", lambda v: {"token": TOKENS.issue(v)}, False),
    ("forged", lambda v: forged(TOKENS.issue(v)), False),
    ("expired", lambda v: VisitorTokens((KEY,), ttl_s=60, clock=lambda: NOW_S - 61).issue(v),
     False),
    ("guessed-key", lambda v: VisitorTokens(("guessed-key-0123456789",),
                                            clock=lambda: NOW_S).issue(v), False),
    ("other-visitor", lambda v: TOKENS.issue(v + "-other"), False),
    ("victim's-for-another-id", lambda v: TOKENS.issue(VICTIM) if v != VICTIM
     else TOKENS.issue("v-mallory"), False),
    ("another-expiry", lambda v: TOKENS.issue(v).replace(".", ".9", 1), False),
]

visitor_ids = st.sampled_from([VICTIM, "v-1", "anon-7", "a@b.example"]) | st.text(
    st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(str.strip)
junk_tokens = st.text(max_size=80) | st.integers() | st.none() | st.booleans()


def request(route: str, visitor: str, token: object, n: int) -> tuple[str, bytes,
                                                                       dict[str, str]]:
    """A valid request of ``route`` naming ``visitor`` with ``token`` (None: left out)."""
    url = {"url": "https://shop.example/p/nc700"}
    if route == "/v1/t":
        body: dict[str, Any] = {"writeKey": "wk", "visitor": visitor, "page": url,
                                "events": [{"id": f"e{n}", "type": "page_view", "time": NOW_MS},
                                           {"id": f"c{n}", "type": "consent", "time": NOW_MS,
                                            "personalization": False}]}
        if token is not None:
            body["token"] = token
        return route, json.dumps(body).encode(), {}
    context: dict[str, Any] = {} if token is None else {"visitorToken": token}
    message: dict[str, Any] = {"anonymousId": visitor, "messageId": f"m{n}", "context": context}
    kind = route.rsplit("/", 1)[1]
    if kind == "alias":
        message = {"previousId": visitor, "userId": "u-1", "messageId": f"m{n}",
                   "context": context}
    elif kind in ("page", "screen"):
        message["properties"] = url
    elif kind == "track":
        message["event"] = "Product Added"
        message["properties"] = {"product_id": "nc700", "price": 10}
    elif kind == "identify":
        message["traits"] = {"loyalty_tier": "gold"}
    elif kind == "group":
        message["groupId"] = "acme"
    if kind in ("batch", "import"):
        body = {"batch": [{**message, "type": "page", "properties": url},
                          {**message, "type": "identify", "messageId": f"i{n}"}]}
    else:
        body = message
    return route, json.dumps(body).encode(), BROWSER


ROUTES = ["/v1/t", "/v1/page", "/v1/track", "/v1/identify", "/v1/alias", "/v1/group",
          "/v1/screen", "/v1/batch", "/v1/import"]


def keys_of(http: Http, before: int) -> set[bytes | None]:
    return {key for _, key, _ in http.sink.produced[before:]}


def visitors_of(http: Http, before: int) -> set[str]:
    codec = Codec.default()
    return {codec.decode(value)[1]["visitor_id"] for _, _, value in http.sink.produced[before:]
            if value is not None}


counter = iter(range(10**9))


@settings(max_examples=300, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(st.sampled_from(ROUTES), visitor_ids, st.sampled_from(TOKEN_SHAPES))
def test_only_the_visitors_own_token_gets_a_request_through(
        http: Http, route: str, visitor: str, shape: tuple[str, Any, bool]) -> None:
    _, make, proves = shape
    path, data, headers = request(route, visitor, make(visitor), next(counter))
    before = len(http.sink.produced)
    status, answer, _ = http.post(path, data, headers)
    assert status < 500, (status, answer)
    if proves:
        assert status == 200, (shape[0], answer)
        # (an id that is an e-mail or a name is stored as its keyed token: the minimiser's)
        assert answer["accepted"] >= 1 and visitors_of(http, before) == {stored_ids(visitor)[0]}
    else:
        assert status in (401, 403), (shape[0], status, answer)
        assert answer["success"] is False and answer["error"]
        assert len(http.sink.produced) == before  # nothing of it was produced
        assert "token" not in answer and "visitor" not in answer


@settings(max_examples=200, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
@given(st.sampled_from(ROUTES), visitor_ids, junk_tokens)
def test_junk_in_the_token_is_a_4xx_and_produces_nothing(http: Http, route: str, visitor: str,
                                                        token: object) -> None:
    path, data, headers = request(route, visitor, token, next(counter))
    before = len(http.sink.produced)
    status, answer, _ = http.post(path, data, headers)
    assert 400 <= status < 500, (status, answer)
    assert answer["error"] and len(http.sink.produced) == before


@pytest.mark.parametrize("route", ROUTES)
def test_a_server_key_names_any_visitor_without_a_token(http: Http, route: str) -> None:
    path, data, _ = request(route, VICTIM, None, next(counter))
    if route == "/v1/t":
        data = data.replace(b'"writeKey": "wk"', b'"writeKey": "server-sk"')
    before = len(http.sink.produced)
    status, answer, _ = http.post(path, data, SERVER if route != "/v1/t" else {})
    assert status == 200, answer
    assert visitors_of(http, before) == {VICTIM}


@pytest.mark.parametrize("route", ["/v1/t", "/v1/page", "/v1/batch"])
def test_the_answer_renews_a_token_past_half_its_lifetime(http: Http, route: str) -> None:
    aging = VisitorTokens((KEY,), clock=lambda: NOW_S - 13 * 3600).issue(VICTIM)  # 11 h left
    status, answer, headers = http.post(*request(route, VICTIM, aging, next(counter)))
    assert status == 200 and answer["visitor"] == VICTIM
    assert TOKENS.check(answer["token"], VICTIM) == VICTIM
    assert answer["expires_at"] == int(NOW_S) + 86_400 and headers["Cache-Control"] == "no-store"
    fresh = TOKENS.issue(VICTIM)
    status, answer, _ = http.post(*request(route, VICTIM, fresh, next(counter)))
    assert status == 200 and "token" not in answer and "visitor" not in answer


def test_a_first_batch_still_gets_a_new_id_and_token(http: Http) -> None:
    path, data, _ = request("/v1/t", "x", None, next(counter))
    body = json.loads(data)
    del body["visitor"]
    before = len(http.sink.produced)
    status, answer, _ = http.post(path, json.dumps(body).encode())
    assert status == 200 and visitors_of(http, before) == {answer["visitor"]}
    assert TOKENS.check(answer["token"], answer["visitor"]) == answer["visitor"]
    # and the browser then sends its batches with that token
    status, again, _ = http.post(*request("/v1/t", answer["visitor"], answer["token"],
                                          next(counter)))
    assert status == 200 and again["accepted"] == 2
