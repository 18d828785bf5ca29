"""State bytes are compact JSON (pipeline/serde/compact_json.py, orjson) that reads back to
the same values json itself reads, and to the same state."""

from __future__ import annotations

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
