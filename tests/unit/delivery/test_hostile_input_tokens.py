"""Hostile input on delivery with visitor tokens on, as it runs in production.

``test_hostile_input`` fuzzes delivery without tokens (its query and body shapes);
``test_visitor_auth`` names forged and foreign tokens one by one. Here every parameter of
``GET /v1/decisions`` (visitor, token in the query or as a bearer, slots, trigger,
wait_ms), ``GET /v1/stream``, ``POST /v1/outcomes`` and ``/metrics`` is drawn from hostile
values mixed with real tokens (the visitor's own, another visitor's, forged with another
key, expired, tampered): never a 5xx, a refusal is a 4xx with a message and produces
nothing, and a decision or a stream is answered only to its own visitor's valid token
(the goal "0 decisions readable without a valid token"); an outcome is produced only
for a decision delivered to the token's visitor, flagged ``browser``, value bounded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.delivery.app import DeliveryState
from pipeline.delivery.options import DeliveryOptions
from pipeline.web.visitor_token import VisitorTokens
from tests.unit.delivery.factories import NOW_MS, decision
from tests.unit.delivery.test_app import FakeSink
from tests.unit.delivery.test_hostile_input import (
    Http,
    assert_refused,
    hostile,
    query_text,
    serve,
)
from tests.unit.served import hostile_settings

KEY, OTHER_KEY = "key-now-0123456789", "key-evil-0123456789"
METRICS = "metrics-token-0123456789"


def tokens(key: str = KEY, now_ms: int = NOW_MS) -> VisitorTokens:
    return VisitorTokens((key,), clock=lambda: now_ms / 1000)


VALID = {tokens().issue("alice"): "alice", tokens().issue("bob"): "bob"}
INVALID = [tokens(OTHER_KEY).issue("alice"),                       # forged with another key
           tokens(now_ms=NOW_MS - 2 * 86_400_000).issue("alice"),  # expired
           tokens().issue("alice")[:-3] + "AAA",                    # tampered signature
           tokens().issue("carol")]                                 # valid, but no decisions
credentials = (st.none() | query_text | st.sampled_from(sorted(VALID))
               | st.sampled_from(INVALID))


@pytest.fixture(scope="module")
def http() -> Iterator[Http]:
    options = DeliveryOptions(http_port=0, max_body_bytes=4096, metrics_token=METRICS,
                              budget_ms=5, max_wait_ms=20)
    state = DeliveryState.standalone(options, outcomes=FakeSink(), clock=lambda: NOW_MS / 1000)
    state.tokens = tokens()
    state.limits = None  # the fuzz is not about rates (test_visitor_auth covers them)
    state.store.offer(decision("alice", decision_id="d-alice"), NOW_MS)
    state.store.offer(decision("bob", decision_id="d-bob"), NOW_MS)
    yield from serve(state)


HOSTILE = hostile_settings(200)


def _request(http: Http, method: str, path: str, token: str | None, as_bearer: bool,
             **kwargs: Any) -> tuple[int, str, list[Any]] | None:
    params = dict(kwargs.pop("params", {}))
    headers: dict[str, str] = {}
    if token is not None:
        if as_bearer:
            headers["Authorization"] = f"Bearer {token}"
        else:
            params["token"] = token
    try:
        return http.call(method, path, params=params, headers=headers, **kwargs)
    except ValueError:
        return None  # a header value aiohttp's client itself refuses to send


def _answered(http: Http, path: str, token: str | None, as_bearer: bool,
              params: dict[str, str], what: str) -> str | None:
    """GET ``path``: the body of a 200, which only a valid token (or the token of a visitor
    without decisions) may get; None when aiohttp's client would not send it or the answer is
    a refusal (a 4xx with a message)."""
    got = _request(http, "GET", path, token, as_bearer, params=params)
    if got is None:
        return None
    status, text, _ = got
    if status != 200:
        assert_refused(status, text)
        return None
    assert token in VALID or token == INVALID[-1], f"{what} without a valid token"
    return text


@HOSTILE
@given(st.none() | query_text | st.sampled_from(["alice", "bob"]), credentials, st.booleans(),
       st.none() | query_text | st.just("hero,overlay"), st.none() | query_text,
       st.none() | query_text | st.sampled_from(["0", "-1", "10", "1e999", "9" * 400]))
def test_decisions_only_for_the_tokens_own_visitor_never_5xx(
        http: Http, visitor: str | None, token: str | None, as_bearer: bool, slots: str | None,
        trigger: str | None, wait_ms: str | None) -> None:
    params = {k: v for k, v in (("visitor", visitor), ("slots", slots), ("trigger", trigger),
                                ("wait_ms", wait_ms)) if v is not None}
    text = _answered(http, "/v1/decisions", token, as_bearer, params, "answered")
    if text is None:
        return
    owner = VALID.get(token or "", "carol")
    answer = json.loads(text)
    assert answer["visitor_id"] == owner
    served = {d["decision_id"] for d in answer["decisions"].values() if d is not None}
    assert served <= {f"d-{owner}"}  # never another visitor's decision


@HOSTILE
@given(st.none() | query_text | st.sampled_from(["alice", "bob"]), credentials, st.booleans())
def test_streams_only_for_the_tokens_own_visitor_never_5xx(
        http: Http, visitor: str | None, token: str | None, as_bearer: bool) -> None:
    params = {} if visitor is None else {"visitor": visitor}
    text = _answered(http, "/v1/stream", token, as_bearer, params, "a stream opened")
    if text is None:
        return
    assert visitor is None or visitor.strip() == VALID.get(token or "", "carol")
    assert text.startswith("retry:")


@st.composite
def outcomes(draw: st.DrawFn) -> Any:
    owner = draw(st.sampled_from(["alice", "bob"]))
    outcome: dict[str, Any] = {"decision_id": draw(st.sampled_from(["d-alice", "d-bob", "x"])),
                               "visitor_id": owner,
                               "kind": draw(st.sampled_from(["shown", "clicked", "dismissed",
                                                             "converted", "purchase"])),
                               "value": draw(st.none() | st.floats() | st.integers()),
                               "event_time": NOW_MS}
    if draw(st.booleans()):
        outcome[draw(st.sampled_from(sorted(outcome)))] = draw(hostile)
    if draw(st.booleans()):
        outcome["token"] = draw(credentials)
    return [outcome] if draw(st.booleans()) else outcome


@HOSTILE
@given(outcomes(), credentials)
def test_outcomes_only_for_the_tokens_own_decisions_never_5xx(
        http: Http, body: Any, token: str | None) -> None:
    got = _request(http, "POST", "/v1/outcomes", token, True,
                   data=json.dumps(body).encode())
    if got is None:
        return
    status, text, sent = got
    if status != 202:
        assert_refused(status, text)
        assert sent == []
        return
    assert len(sent) == json.loads(text)["accepted"] >= 1
    for record in sent:
        owner = record["visitor_id"]
        assert record["decision_id"] == f"d-{owner}" and owner in VALID.values()
        assert record["reported_by"] == "browser"
        if record["value"] is not None:
            assert abs(record["value"]) <= 10_000


@HOSTILE
@given(st.none() | query_text | st.sampled_from([f"Bearer {METRICS}", f"Basic {METRICS}",
                                                 "Bearer ", f"Bearer {METRICS}x"]))
def test_metrics_only_with_their_token_never_5xx(http: Http, authorization: str | None
                                                 ) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    try:
        status, text, _ = http.call("GET", "/metrics", headers=headers)
    except ValueError:
        return
    if status == 200:
        assert authorization is not None and authorization.strip() == f"Bearer {METRICS}"
        assert "rtp_delivery_decisions_held" in text
    else:
        assert_refused(status, text)
