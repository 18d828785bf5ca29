"""The faster format 4 encoders write the same bytes as format 4's first code
(tests/unit/engine/format4_reference.py), byte for byte: generated states, states the
engine makes (new visitors, the simulator mix), encoded fresh, again (kept bytes) and
after decoding; and refuse what it refused."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.decide import DecisionHistory
from pipeline.engine import Engine, VisitorState
from pipeline.feedback import PendingRewards
from pipeline.feedback.rows import PendingDecision, encode_rows
from pipeline.sessions import SessionState
from pipeline.signals import STRUGGLE_RULES, SignalState
from pipeline.signals.calculator_fiddling import CalculatorFiddlingState
from pipeline.signals.dead_click import DeadClickState
from pipeline.signals.form_struggle import FormStruggleState
from pipeline.signals.hesitation import HesitationState
from pipeline.signals.pogo_sticking import PogoStickingState
from pipeline.signals.rage_click import RageClickState
from pipeline.signals.search_refresh_loop import SearchRefreshLoopState
from tests.unit.engine import format4_reference as reference
from tests.unit.engine.test_state_codec import _FINITE, _TEXT, OPTIONS, _states


def _same(state: VisitorState) -> bytes:
    """The bytes, asserted equal to the reference's fresh, again and after decoding."""
    expected = reference.encode(state)
    assert state.to_bytes() == expected
    assert state.to_bytes() == expected  # the kept bytes of unchanged parts
    assert VisitorState.from_bytes(expected, OPTIONS).to_bytes() == expected
    return expected


@st.composite
def _histories(draw: Any, own: str) -> DecisionHistory:
    """Histories near the nothing-shown one (the shortcut's edge), the session's or not."""
    return DecisionHistory(
        session_id=draw(st.sampled_from([own, "", "other"])),
        shown_session=draw(st.sampled_from([{}, {"a": 1}])),
        shown_visitor=draw(st.sampled_from([{}, {"a": 2}])),
        dismissed_session=draw(st.sampled_from([frozenset(), frozenset({"a"})])),
        overlays_session=draw(st.sampled_from([0, 1])),
        last_overlay_dismissed=draw(st.booleans()),
    )


@st.composite
def _states_near_empty(draw: Any) -> VisitorState:
    state = draw(_states())
    own = state.session.session_id if state.session is not None else "s"
    state.history = draw(_histories(own))
    return state


@settings(max_examples=400, deadline=None)
@given(_states())
def test_generated_states_are_written_as_format_4_first_wrote_them(state: VisitorState) -> None:
    _same(state)


@settings(max_examples=300, deadline=None)
@given(_states_near_empty())
def test_histories_with_nothing_shown_are_written_as_before(state: VisitorState) -> None:
    _same(state)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_FINITE, st.sampled_from([-0.0, 0.0, 1.0])), max_size=300),
       st.sampled_from([frozenset(), frozenset({"shown"}), frozenset({"clicked", "ignored"})]),
       st.booleans(), _FINITE, st.integers(0, 300), st.lists(_TEXT, max_size=3))
def test_pending_rows_are_written_as_before(context: list[float], kinds: frozenset[str],
                                            observed: bool, revenue: float, visitors: int,
                                            closed: list[str]) -> None:
    # Contexts over 256 values (16-bit positions), -0.0 anywhere, many strings (2-byte
    # varint indexes), closed ids.
    entries = [PendingDecision(f"d{i}", f"v{i % (visitors + 1)}", f"a{i}", tuple(context),
                               i, 0.5, kinds, revenue, observed) for i in range(3)]
    entries += [PendingDecision(f"e{i}", f"w{i}", "a", (), i, 1.0) for i in range(visitors)]
    assert encode_rows(entries, closed) == reference.encode_rows(entries, closed)


def test_a_negative_zero_beside_a_byte_0x80_is_kept() -> None:
    # 0x80 bytes in the packed context send the row to the 8-byte search.
    value = 1.0000000000000284  # 0x3FF0000000000080: a byte 0x80 before a -0.0
    assert 0x80 in __import__("struct").pack("<d", value)
    entry = PendingDecision("d", "v", "a", (value, -0.0, 0.0), 0, 0.5)
    assert encode_rows([entry], []) == reference.encode_rows([entry], [])
    assert reference.encode_rows([entry], []) != reference.encode_rows(
        [PendingDecision("d", "v", "a", (value, 0.0, 0.0), 0, 0.5)], [])


def _new_visitor_events(count: int) -> list[dict[str, Any]]:
    from bench.state_codec import new_visitor_events

    return new_visitor_events("test-codec-", count, 1_800_000_000_000)


def test_new_visitor_states_of_the_latency_traffic_are_written_as_before() -> None:
    engine = Engine()
    states = [engine.on_event(None, e).state for e in _new_visitor_events(40)]
    assert all(s.pending and s.label is not None and s.session is not None for s in states)
    for state in states:
        _same(state)


def test_simulator_states_are_written_as_before() -> None:
    from bench.state_size import _simulated_states

    every, _, _ = _simulated_states(15)
    assert len(every) > 50
    assert any(VisitorState.from_bytes(d).history.delivered for d in every)
    for data in every:
        state = VisitorState.from_bytes(data, OPTIONS)
        assert _same(state) == data


@st.composite
def _signals(draw: Any) -> SignalState:
    """Every rule's state empty or not (the empty ones are written without a call)."""
    times = st.integers(0, 10**9)
    small = st.integers(0, 10**6)
    some = st.booleans()
    return SignalState(
        base_ms=draw(st.none() | times),
        fired={r: (draw(times), draw(small)) for r in STRUGGLE_RULES if draw(some)},
        rage_click=RageClickState(draw(st.lists(st.tuples(times, small, small), max_size=3))),
        dead_click=DeadClickState(draw(st.none() | times), draw(_TEXT), draw(_TEXT),
                                  draw(_TEXT)),
        pogo_sticking=PogoStickingState(draw(st.lists(st.tuples(times, small, small),
                                                      max_size=3))),
        hesitation=HesitationState(page_time=draw(st.none() | times),
                                   latest_time=draw(st.none() | times),
                                   product_counts=draw(st.dictionaries(small, small,
                                                                       max_size=2))),
        form_struggle=FormStruggleState(draw(st.dictionaries(small, small, max_size=2))),
        calculator_fiddling=CalculatorFiddlingState(draw(st.dictionaries(small, small,
                                                                         max_size=2))),
        search_refresh_loop=SearchRefreshLoopState(draw(st.lists(st.tuples(times, small),
                                                                 max_size=3))),
    )


@settings(max_examples=300, deadline=None)
@given(_signals())
def test_signal_states_are_written_as_before(signals: SignalState) -> None:
    assert signals.to_obj() == reference.signals_obj(signals)
    session = SessionState(visitor_id="v", first_event_ms=0, started_ms=0, last_ms=0,
                           signals=signals)
    assert session.to_bytes() == reference.session_bytes(session)


@pytest.mark.parametrize("field", ["cart_value", "max_scroll_pct", "conversion_value"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_session_number_is_refused_by_both(field: str, bad: float) -> None:
    session = SessionState(visitor_id="v", first_event_ms=0, started_ms=0, last_ms=0)
    setattr(session, field, bad)
    state = VisitorState(session=session, pending=PendingRewards(OPTIONS))
    with pytest.raises(ValueError, match="non-finite"):
        reference.encode(state)
    with pytest.raises(ValueError, match="non-finite"):
        state.to_bytes()
