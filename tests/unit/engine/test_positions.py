"""Positions: whatever the consumer drops, repeats or delivers early, each offset is applied
once and in order (the worker acknowledges exactly the applied ones)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.engine.positions import Admission, Positions

#: What the consumer does next: deliver the record at its position, drop it silently (a
#: record skipped during a rebalance), jump back (deliver again), or hand over a stale
#: record from before a seek.
_ACTIONS = st.lists(st.sampled_from(["deliver", "drop", "back", "stale"]), max_size=200)


def _consume(start: int, length: int, actions: list[str],
             rewind_again_after: int = 5) -> tuple[list[int], int]:
    """Run a partition of ``length`` records from ``start`` through Positions; return the
    applied offsets and how many seeks the worker asked for."""
    end = start + length
    positions: Positions[str] = Positions(rewind_again_after=rewind_again_after)
    positions.start({"p": start})
    position, applied, seeks = start, [], 0
    script = iter(actions)
    for _ in range(20 * length + 10 * len(actions) + 10):
        action = next(script, "deliver")
        if action == "drop":
            position += 1
            continue
        if action == "back":
            position = max(start, position - 3)
            continue
        offset = position + 2 if action == "stale" else position
        if offset >= end:
            if position >= end and positions.expected("p") == end:
                break
            if action == "stale":
                continue
            # The consumer reached the end having dropped something: the next record
            # delivered would reveal it; with none coming, the worker waits (the
            # production worker sees the next record, or the tick of its partition).
            offset = end - 1
        if action == "deliver":
            position += 1
        admission = positions.admit("p", offset)
        if admission is Admission.APPLY:
            applied.append(offset)
        elif admission is Admission.REWIND:
            seeks += 1
            expected = positions.expected("p")
            assert expected is not None
            position = expected
    return applied, seeks


@given(start=st.integers(0, 1_000), length=st.integers(1, 60), actions=_ACTIONS)
def test_every_offset_is_applied_once_and_in_order(start: int, length: int,
                                                   actions: list[str]) -> None:
    applied, _ = _consume(start, length, actions)
    assert applied == list(range(start, start + length))


def test_a_dropped_record_is_read_again_not_skipped() -> None:
    applied, seeks = _consume(0, 5, ["deliver", "drop", "deliver"])
    assert applied == [0, 1, 2, 3, 4]
    assert seeks == 1


def test_a_partition_not_given_is_not_applied() -> None:
    positions: Positions[str] = Positions()
    positions.start({"mine": 0})
    assert positions.admit("theirs", 0) is Admission.NOT_OURS
    positions.clear()
    assert not positions.started
    assert positions.admit("mine", 0) is Admission.NOT_OURS


def test_records_deleted_by_retention_are_skipped_once_known() -> None:
    positions: Positions[str] = Positions()
    positions.start({"p": 10})
    assert positions.admit("p", 50) is Admission.REWIND
    positions.skip_to("p", 50)
    assert positions.admit("p", 50) is Admission.APPLY
    positions.skip_to("p", 20)  # never backwards
    assert positions.expected("p") == 51


def test_a_seek_that_brings_nothing_is_asked_for_again() -> None:
    positions: Positions[str] = Positions(rewind_again_after=2)
    positions.start({"p": 0})
    seen = [positions.admit("p", 5) for _ in range(4)]
    assert seen == [Admission.REWIND, Admission.WAIT, Admission.WAIT, Admission.REWIND]


def test_a_partition_is_stalled_only_when_records_wait_and_none_is_applied() -> None:
    positions: Positions[str] = Positions()
    positions.start({"p": 0})
    assert not positions.stalled("p", end_offset=5, now=0.0, after_s=10.0)
    assert positions.admit("p", 0) is Admission.APPLY  # progress restarts the wait
    assert not positions.stalled("p", end_offset=5, now=11.0, after_s=10.0)
    assert not positions.stalled("p", end_offset=5, now=20.0, after_s=10.0)
    assert positions.stalled("p", end_offset=5, now=21.0, after_s=10.0)
    assert not positions.stalled("p", end_offset=5, now=22.0, after_s=10.0)  # wait restarted
    assert not positions.stalled("other", end_offset=5, now=99.0, after_s=10.0)
