"""Delayed labels: snapshots at prediction time, released with the session's label."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.intent import IntentModel, PendingLabels, PendingLabelsError


def test_keeps_only_the_last_snapshots_per_session() -> None:
    pending = PendingLabels(max_per_session=2)
    for views in (1.0, 2.0, 3.0):
        pending.record("s", {"page_views": views}, {})
    released = pending.release("s", converted=True)
    assert [e.numeric["page_views"] for e in released] == [2.0, 3.0]
    assert all(e.converted for e in released)


def test_sessions_are_independent_and_released_once() -> None:
    pending = PendingLabels()
    pending.record("a", {"page_views": 1.0}, {"sector": "travel"})
    pending.record("b", {"page_views": 9.0}, {"sector": "saas"})
    assert [e.categorical["sector"] for e in pending.release("b", converted=False)] == ["saas"]
    assert pending.release("b", converted=False) == []
    assert "a" in pending and len(pending) == 1


def test_bounded_number_of_sessions_forgets_the_least_recent() -> None:
    pending = PendingLabels(max_sessions=2)
    pending.record("a", {}, {})
    pending.record("b", {}, {})
    pending.record("a", {"page_views": 2.0}, {})  # touching "a" makes "b" the oldest
    pending.record("c", {}, {})
    assert "b" not in pending and "a" in pending and "c" in pending


def test_snapshots_are_copies_not_views_of_live_features() -> None:
    live = {"page_views": 1.0}
    pending = PendingLabels()
    pending.record("s", live, {})
    live["page_views"] = 50.0
    assert pending.release("s", converted=False)[0].numeric["page_views"] == 1.0


def test_released_examples_feed_the_model() -> None:
    pending = PendingLabels()
    model = IntentModel()
    for i in range(60):
        sid = f"s{i}"
        pending.record(sid, {"cart_value": 80.0 if i % 2 else 0.0}, {})
        for example in pending.release(sid, converted=bool(i % 2)):
            model.learn(example.numeric, example.categorical, example.converted)
    assert model.predict({"cart_value": 80.0}, {}) > model.predict({"cart_value": 0.0}, {})


def test_discard_forgets_without_labels() -> None:
    pending = PendingLabels()
    pending.record("s", {}, {})
    assert pending.discard("s") and pending.release("s", converted=True) == []


@pytest.mark.parametrize(
    "data", [b"", b"[]", b'{"v": 2}', b'{"v":1,"max_per_session":0,"max_sessions":1,"sessions":[]}']
)
def test_bad_bytes_raise_pending_labels_error(data: bytes) -> None:
    with pytest.raises(PendingLabelsError):
        PendingLabels.from_bytes(data)


_names = st.text(min_size=1, max_size=12)
_numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)
_snapshots = st.tuples(
    st.dictionaries(_names, _numbers, max_size=4), st.dictionaries(_names, _names, max_size=3)
)


@settings(max_examples=60, deadline=None)
@given(
    records=st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), _snapshots), max_size=12),
    per_session=st.integers(1, 3),
    sessions=st.integers(1, 4),
)
def test_serialization_round_trips(
    records: list[tuple[str, tuple[dict[str, float], dict[str, str]]]],
    per_session: int,
    sessions: int,
) -> None:
    pending = PendingLabels(max_per_session=per_session, max_sessions=sessions)
    for session_id, (numeric, categorical) in records:
        pending.record(session_id, numeric, categorical)
    restored = PendingLabels.from_bytes(pending.to_bytes())
    assert restored.to_bytes() == pending.to_bytes()
    for session_id in "abcd":
        assert restored.release(session_id, True) == pending.release(session_id, True)
