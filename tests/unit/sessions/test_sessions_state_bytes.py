"""State bytes come from a shared JSON encoder: exactly what json.dumps writes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.decide import DecisionHistory
from pipeline.sessions import SessionState

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1), st.text(), st.integers(0, 2**41), st.integers(0, 10**6),
       st.floats(allow_nan=False, allow_infinity=False))
def test_session_state_bytes_are_json_dumps(visitor: str, category: str, first: int,
                                            gap: int, cart: float) -> None:
    state = SessionState(visitor_id=visitor, first_event_ms=first, started_ms=first,
                         last_ms=first + gap, category=category or None, cart_value=cart)
    expected = json.dumps(json.loads(state.to_bytes()), separators=(",", ":"),
                          ensure_ascii=False).encode()
    assert state.to_bytes() == expected
    assert SessionState.from_bytes(state.to_bytes()) == state


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_the_shared_encoders_write_what_dumps_writes(value: Any) -> None:
    from pipeline.decide.history import _ENCODER as history_encoder
    from pipeline.sessions.state import _ENCODER as session_encoder

    assert session_encoder.encode(value) == json.dumps(value, separators=(",", ":"),
                                                       ensure_ascii=False)
    assert history_encoder.encode(value) == json.dumps(value, separators=(",", ":"))


@settings(max_examples=100, deadline=None)
@given(st.text(), st.lists(st.tuples(st.text(min_size=1), st.text(min_size=1)), max_size=4))
def test_history_bytes_read_back(session: str, shown: list[tuple[str, str]]) -> None:
    history = DecisionHistory()
    for index, (action, slot) in enumerate(shown):
        history = history.with_delivered(session, f"d{index}", action, slot)
    assert DecisionHistory.from_bytes(history.to_bytes()) == history
