"""The tracker's awaited page view (``wait: 1``), or a Segment page/screen call with
``context.rtpWait: true``, is produced with the ``rtp-wait`` header, so the worker answers
"decided: nothing" for it; nothing else carries the header, and a ``wait``/``rtpWait`` that
is not 1/true, or on another event type, is refused with a message."""

from __future__ import annotations

import base64
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


def _segment(http: Http, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], list[Any]]:
    before = len(http.sink.produced)
    status, answer, _ = http.post(path, json.dumps(body).encode(), {
        "Authorization": "Basic " + base64.b64encode(b"wk:").decode()})
    return status, answer, http.sink.produced[before:]


def _call(kind: str, message_id: str, **context: Any) -> dict[str, Any]:
    call: dict[str, Any] = {"type": kind, "anonymousId": "v-wait", "messageId": message_id,
                            "timestamp": "2026-01-01T00:00:00Z",
                            "properties": {"url": "https://shop.example/"},
                            "context": {"visitorToken": TOKEN, **context}}
    if kind == "track":
        call["event"] = "Product Viewed"
    if kind == "screen":
        call["name"] = "home"
    return call


def test_a_segment_page_or_screen_call_with_rtp_wait_carries_the_header(http: Http) -> None:
    status, _, produced = _segment(http, "/v1/page", _call("page", "seg-pv-1", rtpWait=True))
    assert status == 200 and [h for _, _, h in produced] == [[(WAIT_HEADER, b"1")]]
    status, _, produced = _segment(http, "/v1/batch", {"batch": [
        _call("page", "seg-pv-2"), _call("screen", "seg-sc-1", rtpWait=1),
        _call("page", "seg-pv-3", rtpWait=False), _call("track", "seg-tr-1")]})
    assert status == 200
    assert [h for _, _, h in produced] == [None, [(WAIT_HEADER, b"1")], None, None]


@pytest.mark.parametrize(("path", "body", "message"), [
    ("/v1/track", _call("track", "seg-bad-1", rtpWait=True), "only for page and screen calls"),
    ("/v1/page", _call("page", "seg-bad-2", rtpWait="yes"), "must be 1 or true"),
    ("/v1/batch", {"batch": [_call("page", "seg-bad-3")], "context": {"rtpWait": True}},
     "not for a batch"),
])
def test_a_segment_rtp_wait_that_is_not_for_a_page_is_refused(
        http: Http, path: str, body: dict[str, Any], message: str) -> None:
    status, answer, produced = _segment(http, path, body)
    assert status == 400 and message in answer["error"] and produced == []
