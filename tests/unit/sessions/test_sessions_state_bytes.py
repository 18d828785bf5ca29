"""State bytes are compact JSON (pipeline/serde/compact_json.py, orjson) that reads back to
the same values json itself reads, and to the same state."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.decide import DecisionHistory
from pipeline.serde import compact_json
from pipeline.sessions import SessionState

# Text as it reaches a state: decoded from Avro or JSON bytes, so valid UTF-8 (no lone
# surrogates, which no UTF-8 encoder writes).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(TEXT.filter(bool), TEXT, st.integers(0, 2**41), st.integers(0, 10**6),
       st.floats(allow_nan=False, allow_infinity=False))
def test_session_state_bytes_read_back(visitor: str, category: str, first: int,
                                       gap: int, cart: float) -> None:
    state = SessionState(visitor_id=visitor, first_event_ms=first, started_ms=first,
                         last_ms=first + gap, category=category or None, cart_value=cart)
    assert json.loads(state.to_bytes()) == compact_json.loads(state.to_bytes())
    assert SessionState.from_bytes(state.to_bytes()) == state


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_compact_json_reads_back_as_json_reads_it(value: Any) -> None:
    data = compact_json.dumps(value)
    assert json.loads(data) == value == compact_json.loads(data)
    # Compact: no spaces added; a number may be spelled a few characters longer (orjson
    # writes 1e-05 as 0.00001).
    assert len(data) <= len(json.dumps(value, separators=(",", ":"), ensure_ascii=False)
                            .encode()) + 4 * _floats(value)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), [1.0, {"x": -math.inf}]])
def test_a_non_finite_number_is_refused_not_written_as_null(bad: Any) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        compact_json.dumps(bad)


@settings(max_examples=100, deadline=None)
@given(TEXT, st.lists(st.tuples(TEXT.filter(bool), TEXT.filter(bool)), max_size=4))
def test_history_bytes_read_back(session: str, shown: list[tuple[str, str]]) -> None:
    history = DecisionHistory()
    for index, (action, slot) in enumerate(shown):
        history = history.with_delivered(session, f"d{index}", action, slot)
    assert DecisionHistory.from_bytes(history.to_bytes()) == history


def _floats(value: Any) -> int:
    """How many floats ``value`` holds, at any depth."""
    if isinstance(value, float):
        return 1
    if isinstance(value, dict):
        return sum(_floats(v) for v in value.values())
    if isinstance(value, list):
        return sum(_floats(v) for v in value)
    return 0


NON_FINITE = [math.inf, -math.inf, math.nan]
#: Containers as states build them: lists, dicts and tuples (a tuple reads back as a list,
#: so compact_json's read-back check cannot settle it and the walk decides).
SHAPED = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4)
    | st.lists(inner, max_size=3).map(tuple),
    max_leaves=20)


def _with_bad(value: Any, bad: float, path: list[int]) -> Any:
    """``value`` with ``bad`` put in (or in place of) the container ``path`` walks to."""
    if isinstance(value, dict):
        keys = sorted(value)
        if not keys or not path:
            return {**value, "\0bad": bad}
        key = keys[path[0] % len(keys)]
        return {**value, key: _with_bad(value[key], bad, path[1:])}
    if isinstance(value, list | tuple):
        items = list(value)
        if not items or not path:
            items.insert(0, bad)
        else:
            index = path[0] % len(items)
            items[index] = _with_bad(items[index], bad, path[1:])
        return type(value)(items)
    return bad


@settings(max_examples=300, deadline=None)
@given(SHAPED, st.sampled_from(NON_FINITE), st.lists(st.integers(0, 7), max_size=6))
def test_a_non_finite_number_anywhere_is_refused(value: Any, bad: float,
                                                 path: list[int]) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        compact_json.dumps(_with_bad(value, bad, path))


@settings(max_examples=300, deadline=None)
@given(SHAPED)
def test_finite_values_with_tuples_are_written_as_json_writes_them(value: Any) -> None:
    assert json.loads(compact_json.dumps(value)) == json.loads(json.dumps(value))


def _float_fields(obj: Any) -> list[tuple[Any, str]]:
    """(owner, field name) of every float-typed field of ``obj`` and its dataclass parts."""
    found: list[tuple[Any, str]] = []
    for spec in dataclasses.fields(obj):
        value = getattr(obj, spec.name)
        if dataclasses.is_dataclass(value):
            found += _float_fields(value)
        elif "float" in str(spec.type):
            found.append((obj, spec.name))
    return found


def test_the_float_fields_are_found() -> None:
    names = {name for _, name in _float_fields(_session())}
    assert {"cart_value", "max_scroll_pct", "conversion_value"} <= names


@pytest.mark.parametrize("bad", NON_FINITE)
def test_every_float_field_of_a_session_holding_a_non_finite_number_is_refused(
        bad: float) -> None:
    for index in range(len(_float_fields(_session()))):
        state = _session()
        owner, name = _float_fields(state)[index]
        setattr(owner, name, bad)
        with pytest.raises(ValueError, match="non-finite"):
            state.to_bytes()


def _session() -> SessionState:
    """A session with a None in it (so its bytes hold ``null``), finite otherwise."""
    return SessionState(visitor_id="v", first_event_ms=0, started_ms=0, last_ms=5,
                        cart_value=12.5, max_scroll_pct=40.0, conversion_value=3.0)
