"""LoopTurns: each turn's phases timed (a scripted clock, no real time), slow turns logged
with where the time went, and the consumer loop marking its phases."""

from __future__ import annotations

import gc
from collections.abc import Iterator

from confluent_kafka import TopicPartition
from structlog.testing import capture_logs

from tests.unit.topologies.test_loop_consumer_loop import Msg, Recorder, ScriptedConsumer
from topologies.loop.loop import ConsumerLoop
from topologies.loop.turns import LoopTurns


def _clock(*ticks: float) -> Iterator[float]:
    return iter(ticks)


def _turn(turns: LoopTurns, *phases: str, records: int = 0) -> None:
    """One turn whose phases end at the clock's next ticks."""
    turns.begin()
    for phase in phases:
        turns.mark(phase)
    turns.end(records=records)


def test_phases_add_up_per_turn_and_the_poll_wait_is_not_busy() -> None:
    ticks = _clock(0.0, 0.040, 0.045, 0.050,  # poll 40 ms, apply 5, commit 5
                   1.0, 1.001, 1.003)  # poll 1 ms, apply 2
    busy: list[float] = []
    turns = LoopTurns(clock=lambda: next(ticks), observe=busy.append)
    _turn(turns, "poll", "apply", "commit", records=3)
    _turn(turns, "poll", "apply", records=1)
    assert [round(b, 6) for b in busy] == [0.010, 0.002]
    assert {k: round(v, 6) for k, v in turns.totals.items()} == {
        "poll": 0.041, "apply": 0.007, "commit": 0.005}
    assert turns.turns == 2 and round(turns.longest, 6) == 0.010


def test_a_slow_turn_is_logged_with_its_phases_and_a_quick_one_is_not() -> None:
    ticks = _clock(0.0, 0.001, 0.031, 1.0, 1.001, 1.002)
    turns = LoopTurns(slow_ms=20.0, clock=lambda: next(ticks))
    with capture_logs() as logs:
        _turn(turns, "poll", "commit.store")
        _turn(turns, "poll", "apply", records=2)
    turns.close()
    assert [log["event"] for log in logs] == ["slow loop turn"]
    assert logs[0]["busy_ms"] == 30.0 and logs[0]["phases"] == {"poll": 1.0,
                                                                  "commit.store": 30.0}
    assert logs[0]["records"] == 0 and logs[0]["age_ms"] == -1 and logs[0]["released"] == 0


def test_a_turn_whose_records_came_late_is_logged_with_their_age() -> None:
    ticks = _clock(0.0, 0.001, 0.002)
    turns = LoopTurns(slow_ms=20.0, clock=lambda: next(ticks))
    with capture_logs() as logs:
        turns.begin()
        turns.mark("poll")
        turns.fetched(oldest_ms=1_000, now_ms=1_055)  # stamped 55 ms before it was fetched
        turns.mark("apply")
        turns.end(records=4)
    turns.close()
    assert [(log["event"], log["age_ms"]) for log in logs] == [("slow loop turn", 55)]


def test_nothing_is_logged_and_no_collector_callback_is_added_when_off() -> None:
    before = list(gc.callbacks)
    ticks = _clock(0.0, 5.0)
    turns = LoopTurns(clock=lambda: next(ticks))  # slow_ms 0: off
    with capture_logs() as logs:
        _turn(turns, "apply", records=1)
    assert logs == [] and gc.callbacks == before and not turns.diagnosing
    slow = LoopTurns(slow_ms=1.0)
    slow.begin()
    assert len(gc.callbacks) == len(before) + 1
    slow.close()
    assert gc.callbacks == before


def test_the_consumer_loop_marks_its_phases() -> None:
    consumer = ScriptedConsumer([[Msg("e", 0, 1), Msg("e", 0, 2)], []])
    turns = LoopTurns()
    loop = ConsumerLoop("unused:1", "g", ["e"], Recorder(consumer.calls), 10.0,
                        consumer=consumer, turns=turns)
    loop._on_assign(consumer, [TopicPartition("e", 0)])
    assert loop.run_once() == 2
    assert loop.run_once() == 0  # nothing fetched: no consume, no apply
    assert turns.turns == 2
    assert set(turns.totals) == {"poll", "consume", "apply", "tick", "commit"}
