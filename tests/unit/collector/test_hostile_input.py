"""Hostile values in every field the collector reads: never a 5xx, nothing produced if refused.

A valid Segment call or tracker batch has one of its values (or keys) replaced by
something an attacker sends: an integer with hundreds of digits, a lone UTF-16
surrogate, a very long string, a non-finite number written as a string, control
characters. Whatever the field, the answer is a 4xx with a message and nothing
is produced, or a 200 whose produced messages are exactly the accepted ones and
do not carry the hostile number. Lone surrogates and huge integers where a
number is read are always refused.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.collector.options import CollectorOptions
from pipeline.serde import Codec
from tests.unit.collector.produced import client_records
from tests.unit.collector.strategies import NOW_MS, native_batches, segment_calls
from tests.unit.collector.test_app import FakeSink, Http, collector_state, serve
from tests.unit.served import hostile_settings

AUTH = {"Authorization": "Basic " + base64.b64encode(b"wk:").decode()}

Path = tuple[str | int, ...]


@pytest.fixture(scope="module")
def http() -> Iterator[Http]:
    options = CollectorOptions(http_port=0, write_keys=frozenset({"wk"}), max_batch=20,
                               visitor_rate_per_s=1e6, visitor_burst=10**6,
                               key_rate_per_s=1e6, key_burst=10**6)
    yield from serve(collector_state(options, FakeSink()))


def leaves(value: Any, at: Path = ()) -> list[tuple[Path, Any]]:
    """Every scalar of a JSON value with its path."""
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in leaves(v, (*at, k))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in leaves(v, (*at, i))]
    return [(at, value)]


def replaced(body: Any, path: Path, value: Any) -> Any:
    out = copy.deepcopy(body)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


huge_ints = st.integers(16, 600).flatmap(
    lambda digits: st.sampled_from([10**digits, -(10**digits), 10**digits - 1]))
surrogates = st.builds(lambda a, s, b: a + s + b, st.text(max_size=5),
                       st.sampled_from(["\ud800", "\udc00", "\udfff", "\ud83d"]),
                       st.text(max_size=5))
hostile = (huge_ints | surrogates | st.just("x" * 5000) | st.just("9" * 500)
           | st.sampled_from(["1e999", "-1e999", "inf", "nan", "a\x00b", "\x1b[31m", ""]))


def request_for(draw: st.DrawFn) -> tuple[str, dict[str, Any], dict[str, str]]:
    if draw(st.booleans()):
        return "/v1/t", draw(native_batches()), {}
    message = draw(segment_calls())
    if draw(st.booleans()):
        return "/v1/batch", {"batch": [message]}, AUTH
    return f"/v1/{message['type']}", message, AUTH


@st.composite
def hostile_requests(draw: st.DrawFn, values: st.SearchStrategy[Any] = hostile,
                     ) -> tuple[str, Any, dict[str, str], Any, bool]:
    """(path, body, headers, hostile value, whether it replaced a number)."""
    path, body, headers = request_for(draw)
    spots = [(p, v) for p, v in leaves(body) if p and p[-1] != "writeKey"]
    where, old = draw(st.sampled_from(spots))
    value = draw(values)
    numeric = isinstance(old, int | float) and not isinstance(old, bool)
    return path, replaced(body, where, value), headers, value, numeric


def post(http: Http, path: str, body: bytes, headers: dict[str, str]
         ) -> tuple[int, dict[str, Any], list[tuple[str, bytes | None, bytes | None]]]:
    before = len(http.sink.produced)
    status, answer, _ = http.post(path, body, headers)
    return status, answer, http.sink.produced[before:]


def produced_records(produced: list[tuple[str, bytes | None, bytes | None]]
                     ) -> list[dict[str, Any]]:
    codec = Codec.default()
    return [codec.decode(value)[1] for _, _, value in produced if value is not None]


HOSTILE = hostile_settings(150)


def _bytes(body: Any) -> bytes:
    # json.dumps writes a lone surrogate as the escape "\\udXXX", as an attacker would
    return json.dumps(body).encode()


@HOSTILE
@given(hostile_requests())
def test_a_hostile_value_in_any_field_is_never_a_5xx(
        http: Http, request: tuple[str, Any, dict[str, str], Any, bool]) -> None:
    path, body, headers, value, numeric = request
    status, answer, produced = post(http, path, _bytes(body), headers)
    assert status < 500, answer
    if status >= 400:
        assert answer["success"] is False and answer["error"], answer
        assert produced == []
        return
    assert status == 200 and len(client_records(produced)) == answer["accepted"]
    if isinstance(value, int) and not isinstance(value, bool):
        assert all(str(abs(value)).encode() not in (v or b"") for _, _, v in produced)
    if isinstance(value, str):
        assert not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if numeric and isinstance(value, int):  # accepted only where the number is dropped
        assert all(str(abs(value)) not in json.dumps(m) for m in produced_records(produced))


@HOSTILE
@given(hostile_requests(surrogates))
def test_a_lone_surrogate_anywhere_is_refused(
        http: Http, request: tuple[str, Any, dict[str, str], Any, bool]) -> None:
    path, body, headers, _, _ = request
    status, answer, produced = post(http, path, _bytes(body), headers)
    assert 400 <= status < 500 and "UTF-8" in answer["error"], answer
    assert produced == []


@pytest.mark.parametrize("field", ["time", "x", "y", "value", "depth", "quantity"])
def test_huge_integers_where_numbers_are_read_are_refused(http: Http, field: str) -> None:
    event: dict[str, Any] = {"id": "e1", "type": "add_to_cart" if field in ("value", "quantity")
                             else "scroll" if field == "depth" else "click",
                             "time": NOW_MS, "x": 1, "y": 2, "product": "p1", "depth": 50}
    event[field] = 10**400
    body = {"writeKey": "wk", "visitor": "v-huge", "page": {"url": "https://a.example/"},
            "events": [event]}
    status, answer, produced = post(http, "/v1/t", _bytes(body), {})
    assert status == 400 and field in answer["error"], answer
    assert produced == []


@pytest.mark.parametrize("field", [("timestamp",), ("sentAt",), ("properties", "price"),
                                   ("properties", "quantity")])
def test_huge_integers_in_segment_numbers_are_refused(http: Http, field: tuple[str, ...]
                                                      ) -> None:
    message: dict[str, Any] = {"type": "track", "event": "Product Added", "anonymousId": "v",
                               "timestamp": "2027-01-15T08:00:00Z",
                               "properties": {"product_id": "p", "price": 5, "quantity": 1}}
    target = message
    for key in field[:-1]:
        target = target[key]
    target[field[-1]] = 10**400
    status, answer, produced = post(http, "/v1/track", _bytes(message), AUTH)
    assert status == 400 and field[-1] in answer["error"], answer
    assert produced == []


def test_a_surrogate_key_in_traits_is_refused(http: Http) -> None:
    body = b'{"anonymousId": "v", "traits": {"\\udc80plan": "pro"}}'
    status, answer, produced = post(http, "/v1/identify", body, AUTH)
    assert status == 400 and "UTF-8" in answer["error"] and produced == []


@pytest.mark.parametrize("length", [1025, 5000])
def test_long_paths_are_refused_with_a_message(http: Http, length: int) -> None:
    async def get() -> tuple[int, dict[str, Any]]:
        r = await http.client.get("/v1/" + "a" * length)
        return r.status, await r.json()

    status, answer = http.loop.run_until_complete(get())
    assert status == 414 and "longer than 1024" in answer["error"]
