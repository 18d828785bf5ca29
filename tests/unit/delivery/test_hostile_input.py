"""Hostile requests to every delivery endpoint: a 4xx with a message, never a 5xx.

GET /v1/decisions and /v1/stream with hostile query values, POST /v1/outcomes
with a valid outcome whose one value (or key) is hostile, and GET of static paths
of any shape. A refused outcome produces nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from pipeline.delivery.app import DeliveryState, build_app
from pipeline.delivery.options import DeliveryOptions
from tests.unit.delivery.factories import NOW_MS
from tests.unit.delivery.test_app import FakeSink
from tests.unit.served import hostile_settings, served


@dataclass
class Http:
    loop: asyncio.AbstractEventLoop
    client: TestClient
    sink: FakeSink

    def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, str, list[Any]]:
        async def go() -> tuple[int, str, list[Any]]:
            before = len(self.sink.sent)
            r = await self.client.request(method, path, **kwargs)
            if r.headers.get("Content-Type", "").startswith("text/event-stream"):
                text = (await r.content.readline()).decode()  # the stream opened: stop here
                r.close()
            else:
                text = await r.text()
            return r.status, text, self.sink.sent[before:]

        return self.loop.run_until_complete(go())


def serve(state: DeliveryState) -> Iterator[Http]:
    """``state``'s app served for a module's tests (its outcome sink is ``Http.sink``)."""
    with served(build_app(state)) as (loop, client):
        yield Http(loop, client, state.outcomes)


@pytest.fixture(scope="module")
def http() -> Iterator[Http]:
    yield from serve(DeliveryState.standalone(DeliveryOptions(http_port=0, max_body_bytes=4096),
                                              outcomes=FakeSink(), clock=lambda: NOW_MS / 1000))


HOSTILE = hostile_settings(150)

huge_ints = st.integers(16, 600).map(lambda digits: 10**digits)
surrogates = st.builds(lambda a, s: a + s, st.text(max_size=5),
                       st.sampled_from(["\ud800", "\udc00", "\udfff"]))
hostile = (huge_ints | st.integers().map(lambda i: -i) | surrogates | st.just("x" * 5000)
           | st.sampled_from(["", " ", "a\x00b", "1e999", "NaN", True, None, [], {}])
           | st.floats() | st.text(max_size=40))
query_text = st.text(max_size=300) | st.just("x" * 5000) | st.sampled_from(
    ["%ED%A0%80", "\x00", "hero,,overlay", "a" * 65, ",".join(["s"] * 40)])


def assert_refused(status: int, text: str) -> None:
    assert 400 <= status < 500, (status, text[:200])
    if status == 400 and not text.startswith("{"):
        # a request line over 8 KB: aiohttp's parser answers before any handler runs
        assert "Got more than 8190 bytes" in text, text[:200]
        return
    assert json.loads(text)["error"], text


@HOSTILE
@given(query_text, st.none() | query_text)
def test_decisions_query_is_answered_or_refused_never_5xx(http: Http, visitor: str,
                                                          slots: str | None) -> None:
    params = {"visitor": visitor} if slots is None else {"visitor": visitor, "slots": slots}
    status, text, _ = http.call("GET", "/v1/decisions", params=params)
    if status == 200:
        assert json.loads(text)["visitor_id"] == visitor.strip()
    else:
        assert_refused(status, text)


@HOSTILE
@given(query_text)
def test_stream_query_is_opened_or_refused_never_5xx(http: Http, visitor: str) -> None:
    status, text, _ = http.call("GET", "/v1/stream", params={"visitor": visitor})
    if status == 200:
        assert text.startswith("retry:")  # the stream's first frame
    else:
        assert_refused(status, text)


@st.composite
def hostile_outcomes(draw: st.DrawFn) -> Any:
    outcome: dict[str, Any] = {"decision_id": "d1", "visitor_id": "v1",
                               "kind": draw(st.sampled_from(["shown", "clicked", "converted"])),
                               "value": 12.5, "event_time": NOW_MS, "outcome_id": "o1"}
    if draw(st.booleans()):
        outcome[draw(st.sampled_from(sorted(outcome)))] = draw(hostile)
    else:
        outcome[draw(surrogates)] = "x"
    return [outcome] if draw(st.booleans()) else outcome


@HOSTILE
@given(hostile_outcomes())
def test_outcomes_with_a_hostile_value_are_refused_or_valid(http: Http, body: Any) -> None:
    status, text, sent = http.call("POST", "/v1/outcomes", data=json.dumps(body).encode())
    if status == 202:
        assert len(sent) == json.loads(text)["accepted"] == 1
        for record in sent:
            for value in record.values():
                if isinstance(value, str):
                    value.encode("utf-8")  # no lone surrogate reached the producer
                if isinstance(value, float):
                    assert abs(value) <= 1e12
    else:
        assert_refused(status, text)
        assert sent == []


@pytest.mark.parametrize("value", ["9" * 400, "-" + "9" * 400, "1e999"])
def test_huge_outcome_values_are_refused(http: Http, value: str) -> None:
    body = '{"decision_id": "d", "visitor_id": "v", "kind": "converted", "value": ' + value + "}"
    status, text, sent = http.call("POST", "/v1/outcomes", data=body.encode())
    assert_refused(status, text)
    assert "value" in json.loads(text)["error"] and sent == []


def test_a_lone_surrogate_in_an_outcome_is_refused(http: Http) -> None:
    body = b'{"decision_id": "d", "visitor_id": "\\ud800", "kind": "shown"}'
    status, text, sent = http.call("POST", "/v1/outcomes", data=body)
    assert_refused(status, text)
    assert "UTF-8" in json.loads(text)["error"] and sent == []


@HOSTILE
@given(st.text(st.characters(codec="utf-8", exclude_characters="?#"), max_size=400)
       | st.integers(250, 6000).map(lambda n: "a" * n))
def test_static_paths_are_served_or_refused_never_5xx(http: Http, tail: str) -> None:
    status, text, _ = http.call("GET", "/shop/" + tail)
    assert status < 500, (status, text[:200])


@pytest.mark.parametrize(("length", "status"), [(300, 404), (5000, 414)])
def test_long_static_paths_are_refused_with_a_message(http: Http, length: int,
                                                      status: int) -> None:
    got, text, _ = http.call("GET", "/shop/" + "a" * length)
    assert got == status and json.loads(text)["error"]
    got, text, _ = http.call("GET", "/shop/index.html")
    assert got == 200 and "<html" in text.lower()


ADMIN = "admin-key-0123456789abcdef"


@pytest.fixture(scope="module")
def exports() -> Iterator[tuple[Http, Any]]:
    """A state that checks visitor tokens and the admin key, over an in-memory person reader."""
    from pipeline.delivery.export import PersonRecords
    from pipeline.web.visitor_token import VisitorTokens

    tokens = VisitorTokens(("export-key-0123456789",), clock=lambda: NOW_MS / 1000)
    state = DeliveryState.standalone(DeliveryOptions(http_port=0, admin_token=ADMIN),
                                     outcomes=FakeSink(), clock=lambda: NOW_MS / 1000)
    state.tokens = tokens
    state.person = lambda visitor: PersonRecords()
    for http in serve(state):
        yield http, tokens


@HOSTILE
@given(st.none() | query_text, st.none() | query_text, st.none() | query_text,
       st.sampled_from(["none", "own token", "admin key"]))
def test_export_is_answered_only_to_its_visitor_or_the_admin_never_5xx(
        exports: tuple[Http, Any], visitor: str | None, token: str | None,
        authorization: str | None, credential: str) -> None:
    http, tokens = exports
    params = {k: v for k, v in (("visitor", visitor), ("token", token)) if v is not None}
    headers = {} if authorization is None else {"Authorization": authorization}
    if credential == "own token":
        params["token"] = tokens.issue("v-own")
    if credential == "admin key":
        headers = {"Authorization": f"Bearer {ADMIN}"}
    try:
        status, text, _ = http.call("GET", "/v1/privacy/export", params=params, headers=headers)
    except ValueError:
        return  # a header value aiohttp's client itself refuses to send
    if status == 200:
        answered = json.loads(text)["visitor_id"]
        # only the admin key (for the visitor asked about) or the token's own visitor
        assert (credential == "admin key" and visitor is not None
                and answered == visitor.strip()) or answered == "v-own"
    else:
        assert_refused(status, text)
