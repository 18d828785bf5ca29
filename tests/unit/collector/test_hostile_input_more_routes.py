"""Hostile input on the collector routes ``test_hostile_input`` does not reach.

That file fuzzes tracker batches that name their visitor and the Segment routes on a
collector without visitor tokens or admin token. Here the collector has both, and the
fuzz reaches what they open: a first-time visitor's batch (``POST /v1/t`` without
``visitor``: the server chooses the id and answers with its token), ``POST /v1/visitor``
and ``POST /v1/privacy/erasure``, and raw bodies that are not JSON or not UTF-8 on every
POST route. Whatever is sent: never a 5xx; a refusal is a 4xx with a message, produces
nothing and issues no token; an answer issues a token only for the id the server chose.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.collector.options import CollectorOptions
from pipeline.serde import Codec
from pipeline.web.visitor_token import VisitorTokens
from tests.unit.collector.produced import client_records
from tests.unit.collector.strategies import NOW_MS, native_batches
from tests.unit.collector.test_app import FakeSink, Http, collector_state, serve
from tests.unit.collector.test_hostile_input import hostile, leaves, replaced
from tests.unit.served import hostile_settings

KEY = "collector-key-0123456789"
ADMIN = "admin-token-0123456789"
AUTH = {"Authorization": "Basic " + base64.b64encode(b"wk:").decode()}
POST_ROUTES = ("/v1/t", "/v1/track", "/v1/page", "/v1/screen", "/v1/identify", "/v1/alias",
               "/v1/group", "/v1/batch", "/v1/import", "/v1/visitor", "/v1/privacy/erasure")


def tokens() -> VisitorTokens:
    return VisitorTokens((KEY,), clock=lambda: NOW_MS / 1000)


@pytest.fixture(scope="module")
def http() -> Iterator[Http]:
    options = CollectorOptions(http_port=0, write_keys=frozenset({"wk"}), max_batch=20,
                               visitor_rate_per_s=1e6, visitor_burst=10**6,
                               key_rate_per_s=1e6, key_burst=10**6,
                               address_rate_per_s=1e6, address_burst=10**6,
                               admin_token=ADMIN)
    yield from serve(collector_state(options, FakeSink(), tokens()))


def post(http: Http, path: str, body: bytes, headers: dict[str, str] | None = None
         ) -> tuple[int, dict[str, Any], list[tuple[str, bytes | None, bytes | None]]]:
    before = len(http.sink.produced)
    status, answer, _ = http.post(path, body, headers)
    return status, answer, http.sink.produced[before:]


def visitors_of(produced: list[tuple[str, bytes | None, bytes | None]]) -> set[str]:
    codec = Codec.default()
    return {codec.decode(value)[1]["visitor_id"] for _, _, value in produced
            if value is not None}


HOSTILE = hostile_settings(150)


@st.composite
def first_batches(draw: st.DrawFn) -> tuple[dict[str, Any], Any]:
    """A tracker batch without ``visitor`` with one value replaced by a hostile one."""
    batch = draw(native_batches())
    batch.pop("visitor")
    spots = [p for p, _ in leaves(batch) if p and p[-1] != "writeKey"]
    value = draw(hostile)
    return replaced(batch, draw(st.sampled_from(spots)), value), value


@HOSTILE
@given(first_batches())
def test_a_hostile_value_in_a_first_batch_is_never_a_5xx_nor_a_token_for_a_refusal(
        http: Http, drawn: tuple[dict[str, Any], Any]) -> None:
    body, value = drawn
    status, answer, produced = post(http, "/v1/t", json.dumps(body).encode())
    assert status < 500, answer
    if status >= 400:
        assert answer["success"] is False and answer["error"], answer
        assert "token" not in answer and "visitor" not in answer and produced == []
        return
    assert status == 200 and len(client_records(produced)) == answer["accepted"] > 0
    assert tokens().verify(answer["token"]) == answer["visitor"]
    assert visitors_of(produced) == {answer["visitor"]}
    if isinstance(value, int) and not isinstance(value, bool):
        assert all(str(abs(value)).encode() not in (v or b"") for _, _, v in produced)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
    | hostile,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=3),
    max_leaves=8)
visitor_bodies = st.fixed_dictionaries(
    {}, optional={"writeKey": st.sampled_from(["wk", "nope", ""]) | json_values,
                  "token": json_values | st.just(tokens().issue("v-known"))}
) | json_values


@HOSTILE
@given(visitor_bodies, st.booleans())
def test_visitor_tokens_for_any_body_are_a_4xx_with_a_message_or_a_token_of_the_servers_id(
        http: Http, body: Any, auth: bool) -> None:
    status, answer, produced = post(http, "/v1/visitor", json.dumps(body).encode(),
                                    AUTH if auth else None)
    assert status < 500, answer
    assert produced == []
    if status >= 400:
        assert answer["success"] is False and answer["error"] and "token" not in answer
        return
    assert status == 200 and tokens().verify(answer["token"]) == answer["visitor"]
    renewed = isinstance(body, dict) and body.get("token") == tokens().issue("v-known")
    assert (answer["visitor"] == "v-known") is renewed


erasure_bodies = st.fixed_dictionaries(
    {}, optional={"userId": json_values | st.text(max_size=60),
                  "anonymousId": json_values | st.text(max_size=60)}) | json_values


@HOSTILE
@given(erasure_bodies, st.sampled_from([ADMIN, None, "wk", ADMIN + "x"]))
def test_erasure_for_any_body_is_one_erasure_or_a_4xx_with_a_message_and_nothing(
        http: Http, body: Any, admin: str | None) -> None:
    headers = {"Authorization": f"Bearer {admin}"} if admin is not None else {}
    status, answer, produced = post(http, "/v1/privacy/erasure", json.dumps(body).encode(),
                                    headers)
    assert status < 500, answer
    if status >= 400:
        assert answer["success"] is False and answer["error"], answer
        assert produced == []
        return
    # one per pseudonym key (and a one-word anonymousId also as an earlier collector kept it)
    assert admin == ADMIN and status == 202 and produced
    for i, (_, _, value) in enumerate(produced):
        name, record = Codec.default().decode(value or b"")
        assert name == "ProfileUpdate" and record["kind"] == "erasure"
        assert record["update_id"] == answer["erasure"] + (f"-{i}" if i else "")


@HOSTILE
@given(st.sampled_from(POST_ROUTES),
       st.binary(max_size=300) | st.sampled_from([b"\xff\xfe{}", b'{"a": "\xed\xa0\x80"}',
                                                  b"[" * 5000, b'{"writeKey": "wk"', b""]))
def test_raw_bodies_on_every_post_route_are_never_a_5xx(http: Http, path: str,
                                                         raw: bytes) -> None:
    headers = {**AUTH} if path != "/v1/privacy/erasure" else {"Authorization": f"Bearer {ADMIN}"}
    status, answer, produced = post(http, path, raw, headers)
    assert status < 500, answer
    if status >= 400:
        assert answer["success"] is False and answer["error"], answer
        assert produced == []
