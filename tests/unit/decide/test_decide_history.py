"""Decision history: counts, dismissals, session scoping, serialization."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.decide import DecisionHistory, HistoryDecodeError


def test_counts_per_session_and_visitor() -> None:
    history = DecisionHistory()
    history = history.with_delivered("s1", "d1", "cta_change", "cta")
    history = history.with_delivered("s1", "d2", "cta_change", "cta")
    history = history.with_delivered("s2", "d3", "cta_change", "cta")
    assert history.session_id == "s2"
    assert history.shown_in_session("cta_change") == 1
    assert history.shown_to_visitor("cta_change") == 3
    assert (history.total_session, history.total_visitor) == (1, 3)


def test_history_is_immutable() -> None:
    empty = DecisionHistory()
    empty.with_delivered("s", "d", "a", "hero")
    assert empty == DecisionHistory()


def test_outcomes_of_another_session_are_ignored() -> None:
    history = DecisionHistory().with_delivered("s1", "d1", "a", "overlay").for_session("s2")
    assert history.with_outcome("d1", "dismissed") == history


def test_only_dismissals_change_the_history() -> None:
    history = DecisionHistory().with_delivered("s1", "d1", "a", "overlay")
    for kind in ("shown", "clicked", "converted", "ignored"):
        assert history.with_outcome("d1", kind) == history


def test_delivered_memory_is_bounded() -> None:
    history = DecisionHistory()
    for i in range(100):
        history = history.with_delivered("s", f"d{i}", "a", "cta")
    assert len(history.delivered) == 32 and history.delivered[-1].decision_id == "d99"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"null",
        b'{"v": 9}',
        b'{"v": 1}',
        b'{"v":1,"session":"s","ss":[],"sv":{},"dis":[],"ov":0,"ovd":false,"del":[]}',
    ],
)
def test_bad_bytes_raise_history_decode_error(data: bytes) -> None:
    with pytest.raises(HistoryDecodeError):
        DecisionHistory.from_bytes(data)


_ids = st.text(min_size=1, max_size=10)
_steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("deliver"),
            st.sampled_from(["s1", "s2"]),
            _ids,
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["hero", "overlay", "cta"]),
        ),
        st.tuples(st.just("outcome"), _ids, st.sampled_from(["dismissed", "clicked"])),
    ),
    max_size=15,
)


@settings(max_examples=80, deadline=None)
@given(steps=_steps)
def test_serialization_round_trips(steps: list[tuple[str, ...]]) -> None:
    history = DecisionHistory()
    for step in steps:
        if step[0] == "deliver":
            _, session, decision, action, slot = step
            history = history.with_delivered(session, decision, action, slot)
        else:
            _, decision, kind = step
            history = history.with_outcome(decision, kind)
    restored = DecisionHistory.from_bytes(history.to_bytes())
    assert restored == history
    assert restored.to_bytes() == history.to_bytes()
