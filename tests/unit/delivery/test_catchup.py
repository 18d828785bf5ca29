"""Catch-up (readiness) and lag from targets and positions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.delivery.catchup import CatchUp, start_offset


def test_empty_topic_is_caught_up_at_once() -> None:
    assert CatchUp({0: 0, 1: 0}).caught_up


def test_ready_only_when_every_partition_reached_its_target() -> None:
    c = CatchUp({0: 5, 1: 3})
    c.start(0, 2)
    c.start(1, 3)
    assert not c.caught_up
    c.advance(0, 5)
    assert c.caught_up


def test_readiness_is_sticky_and_lag_is_reported_after() -> None:
    c = CatchUp({0: 1})
    c.advance(0, 1)
    assert c.caught_up
    assert c.lag({0: 7}) == 6
    assert c.caught_up


def test_invalid_positions_before_the_first_fetch_are_ignored() -> None:
    c = CatchUp({0: 4})
    c.start(0, 1)
    c.advance(0, -1001)  # OFFSET_INVALID from consumer.position before a fetch
    assert c.positions[0] == 1 and not c.caught_up


def test_start_offset_for_the_broker_answers() -> None:
    assert start_offset(-1, low=3, high=9) == 9  # nothing inside the horizon: start at the end
    assert start_offset(5, low=3, high=9) == 5
    assert start_offset(1, low=3, high=9) == 3


@given(st.dictionaries(st.integers(0, 7), st.integers(0, 100), max_size=8), st.data())
def test_lag_is_never_negative_and_zero_at_the_end(targets: dict[int, int],
                                                   data: st.DataObject) -> None:
    c = CatchUp(targets)
    for p, t in targets.items():
        c.start(p, data.draw(st.integers(0, t)))
    assert c.lag(targets) >= 0
    for p, t in targets.items():
        c.advance(p, t)
    assert c.caught_up and c.lag(targets) == 0
