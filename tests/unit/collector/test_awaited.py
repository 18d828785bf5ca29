"""The tracker's awaited page view (``wait: 1``) is produced with the ``rtp-wait`` header, so
the worker answers "decided: nothing" for it; nothing else carries the header, and a ``wait``
that is not 1/true, or on another event type, is refused with a message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.topics.headers import WAIT_HEADER
from pipeline.web.visitor_token import VisitorTokens
from tests.unit.collector.strategies import NOW_MS
from tests.unit.collector.test_app import Http
from tests.unit.collector.test_first_batch import KEY, serve

#: The visitor's own token: the collector refuses a browser batch naming a visitor without it.
TOKEN = VisitorTokens((KEY,), clock=lambda: NOW_MS / 1000).issue("v-wait")


@dataclass
class HeaderSink:
    produced: list[tuple[str, bytes | None, list[tuple[str, bytes]] | None]] = field(
        default_factory=list)

    def produce_raw(self, topic: str, value: bytes | None, key: bytes | None,
                    headers: list[tuple[str, bytes]] | None = None) -> None:
        self.produced.append((topic, key, headers))


@pytest.fixture(scope="module")
def http() -> Iterator[Http]:
    yield from serve(sink=HeaderSink())


def _batch(*events: dict[str, Any]) -> bytes:
    return json.dumps({"writeKey": "wk", "visitor": "v-wait", "token": TOKEN, "session": "s-1",
                       "page": {"url": "https://shop.example/"},
                       "events": list(events)}).encode()


def _post(http: Http, *events: dict[str, Any]) -> tuple[int, dict[str, Any], list[Any]]:
    before = len(http.sink.produced)
    status, answer, _ = http.post("/v1/t", _batch(*events))
    return status, answer, http.sink.produced[before:]


def test_only_the_awaited_page_view_carries_the_wait_header(http: Http) -> None:
    status, _, produced = _post(
        http, {"id": "pv-1", "type": "page_view", "time": NOW_MS, "wait": 1},
        {"id": "pv-2", "type": "page_view", "time": NOW_MS},
        {"id": "c-1", "type": "click", "time": NOW_MS, "x": 1, "y": 2, "target": "a"},
        {"id": "pv-3", "type": "page_view", "time": NOW_MS, "wait": True})
    assert status == 200
    assert [headers for _, _, headers in produced] == [[(WAIT_HEADER, b"1")], None, None,
                                                       [(WAIT_HEADER, b"1")]]


@pytest.mark.parametrize(("event", "message"), [
    ({"type": "click", "x": 1, "y": 2, "target": "a", "wait": 1}, "only for page_view"),
    ({"type": "page_view", "wait": "yes"}, "must be 1 or true"),
    ({"type": "page_view", "wait": 2}, "must be 1 or true"),
    ({"type": "page_view", "wait": 1.0}, "must be 1 or true"),
])
def test_a_wait_that_is_not_for_an_awaited_page_view_is_refused(
        http: Http, event: dict[str, Any], message: str) -> None:
    status, answer, produced = _post(http, {"id": "e-bad", "time": NOW_MS, **event})
    assert status == 400 and message in answer["error"] and produced == []


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(wait=st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(),
                      st.text(max_size=4)))
def test_any_wait_value_is_either_the_header_or_nothing_or_a_400(http: Http, wait: Any) -> None:
    event = {"id": f"pv-{wait!r}", "type": "page_view", "time": NOW_MS, "wait": wait}
    status, _, produced = _post(http, event)
    awaited = wait is True or (type(wait) is int and wait == 1)
    none = wait is None or wait is False or (type(wait) is int and wait == 0)
    if awaited or none:
        assert status == 200
        assert [h for _, _, h in produced] in ([[(WAIT_HEADER, b"1")] if awaited else None], [])
    else:
        assert status == 400 and produced == []
