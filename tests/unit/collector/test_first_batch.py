"""``POST /v1/t`` without ``visitor``: a first-time visitor's first batch gets an id and a token.

The tracker sends a first-time visitor's first batch (its first page view) without an
id; the collector chooses one as ``/v1/visitor`` does, produces the batch under it and
answers with ``visitor``, ``token`` and ``expires_at``, so the page can ask delivery for
that page view's decision at once. A batch that names its visitor never gets a token
(knowing an id is not enough to read its decisions); a refused batch gets none and
produces nothing; without visitor tokens the collector refuses such a batch, as before.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import KafkaException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.collector.minimise import stored_ids
from pipeline.collector.options import CollectorOptions
from pipeline.serde import Codec
from pipeline.web.metrics import render
from pipeline.web.visitor_token import VisitorTokens
from tests.unit.collector.strategies import NOW_MS, native_batches
from tests.unit.collector.test_app import FakeSink, Http, collector_state
from tests.unit.collector.test_app import serve as serve_state

KEY = "collector-key-0123456789"
PAGE_VIEW = {"writeKey": "wk", "session": "s-1",
             "page": {"url": "https://shop.example/?utm_medium=cpc"},
             "events": [{"id": "e-1", "type": "page_view", "time": NOW_MS}]}


class FailingSink:
    def produce_raw(self, topic: str, value: bytes | None, key: bytes | None) -> None:
        raise KafkaException("broker down")


def serve(tokens: bool = True, sink: Any = None) -> Iterator[Http]:
    options = CollectorOptions(http_port=0, write_keys=frozenset({"wk"}), max_batch=20,
                               visitor_rate_per_s=1e6, visitor_burst=10**6,
                               key_rate_per_s=1e6, key_burst=10**6,
                               address_rate_per_s=1e6, address_burst=10**6)
    state = collector_state(options, FakeSink() if sink is None else sink,
                            VisitorTokens((KEY,), clock=lambda: NOW_MS / 1000) if tokens else None,
                            topic=str)
    for http in serve_state(state):
        http.client.app_state = state  # type: ignore[attr-defined]
        yield http


@pytest.fixture(scope="module")
def http() -> Iterator[Http]:
    yield from serve()


def post(http: Http, body: Any) -> tuple[int, dict[str, Any], dict[str, str],
                                         list[tuple[str, bytes | None, bytes | None]]]:
    before = len(http.sink.produced) if isinstance(http.sink, FakeSink) else 0
    status, answer, headers = http.post("/v1/t", json.dumps(body).encode())
    produced = http.sink.produced[before:] if isinstance(http.sink, FakeSink) else []
    return status, answer, headers, produced


def visitors_of(produced: list[tuple[str, bytes | None, bytes | None]]) -> set[str]:
    codec = Codec.default()
    return {codec.decode(value)[1]["visitor_id"] for _, _, value in produced
            if value is not None}


def without_visitor(batch: dict[str, Any], null: bool) -> dict[str, Any]:
    out = copy.deepcopy(batch)
    if null:
        out["visitor"] = None
    else:
        out.pop("visitor", None)
    return out


@pytest.mark.parametrize("null", [False, True], ids=["absent", "null"])
def test_a_first_batch_is_produced_under_a_new_id_and_answered_with_its_token(
        http: Http, null: bool) -> None:
    status, answer, headers, produced = post(http, without_visitor(PAGE_VIEW, null))
    assert status == 200 and answer["success"] and answer["accepted"] == 1
    visitor = answer["visitor"]
    assert visitor.startswith("v-")
    keys = [key for _, key, _ in produced]
    assert keys == [visitor.encode()] and visitors_of(produced) == {visitor}
    # the token delivery checks, for that id and no other
    assert VisitorTokens((KEY,), clock=lambda: NOW_MS / 1000).check(answer["token"],
                                                                    visitor) == visitor
    assert answer["expires_at"] == NOW_MS // 1000 + 86_400
    assert headers["Cache-Control"] == "no-store"
    # a second first-time visitor is another visitor
    assert post(http, without_visitor(PAGE_VIEW, null))[1]["visitor"] != visitor


def test_a_batch_naming_its_visitor_gets_no_token(http: Http) -> None:
    named = {**PAGE_VIEW, "visitor": "v-victim",
             "events": [{"id": "e-2", "type": "page_view", "time": NOW_MS}]}
    # knowing an id is not enough: without the visitor's token nothing is produced ...
    status, answer, _, produced = post(http, named)
    assert status == 401 and "visitor's token" in answer["error"] and produced == []
    assert "token" not in answer
    # ... with it, the batch is produced and the answer brings no new token (none is due)
    own = VisitorTokens((KEY,), clock=lambda: NOW_MS / 1000).issue("v-victim")
    status, answer, _, produced = post(http, {**named, "token": own})
    assert status == 200 and visitors_of(produced) == {"v-victim"}
    assert answer == {"success": True, "accepted": 1, "duplicates": 0, "ignored": 0}


@pytest.mark.parametrize("visitor", ["", " ", 42, ["v-1"]])
def test_a_visitor_that_is_not_an_id_is_refused_not_replaced(http: Http, visitor: Any) -> None:
    status, answer, _, produced = post(http, {**PAGE_VIEW, "visitor": visitor})
    assert 400 <= status < 500 and "visitor" in answer["error"]
    assert "token" not in answer and produced == []


def test_a_refused_first_batch_gets_no_token_and_counts_none(http: Http) -> None:
    state = http.client.app_state  # type: ignore[attr-defined]
    issued = render(state.metrics.registry).decode().count('result="issued"')
    bad = without_visitor({**PAGE_VIEW, "events": [{"id": "e-3", "type": "page_view"}]}, False)
    status, answer, _, produced = post(http, bad)
    assert status == 400 and "time is required" in answer["error"]
    assert "token" not in answer and "visitor" not in answer and produced == []
    no_key = without_visitor({k: v for k, v in PAGE_VIEW.items() if k != "writeKey"}, False)
    status, answer, _, _ = post(http, no_key)
    assert status == 401 and "token" not in answer
    assert render(state.metrics.registry).decode().count('result="issued"') == issued


def test_without_visitor_tokens_a_first_batch_is_refused_as_before() -> None:
    for http in serve(tokens=False):
        status, answer, _, produced = post(http, without_visitor(PAGE_VIEW, False))
        assert status == 400 and answer["error"] == "body.visitor is required"
        assert "token" not in answer and produced == []


def test_when_kafka_cannot_take_it_no_token_is_issued() -> None:
    for http in serve(sink=FailingSink()):
        status, answer, _, _ = post(http, without_visitor(PAGE_VIEW, False))
        assert status == 503 and "retry" in answer["error"] and "token" not in answer


hostile_visitors = (st.just(None) | st.integers() | st.text(max_size=300)
                    | st.lists(st.text(max_size=3), max_size=2) | st.booleans()
                    | st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(native_batches(), st.sampled_from(["absent", "given"]), hostile_visitors)
def test_any_visitor_field_is_a_4xx_with_a_message_or_the_right_answer(
        http: Http, batch: dict[str, Any], how: str, visitor: Any) -> None:
    body = without_visitor(batch, False) if how == "absent" else {**batch, "visitor": visitor}
    status, answer, _, produced = post(http, body)
    assert status < 500, answer
    if status >= 400:
        assert answer["success"] is False and answer["error"], answer
        assert "token" not in answer and produced == []
        return
    minted = how == "absent" or visitor is None
    assert ("token" in answer) is minted and ("visitor" in answer) is minted
    named = answer["visitor"] if minted else visitor
    # As stored: one word as sent, anything else as its keyed token (names never land raw).
    stored = set(stored_ids(named))
    assert visitors_of(produced) <= stored  # (ProfileUpdates are keyed by their user)
    if minted:
        assert VisitorTokens((KEY,), clock=lambda: NOW_MS / 1000).verify(answer["token"]) == named
