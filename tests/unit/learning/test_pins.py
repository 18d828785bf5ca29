"""Model pins: a record applied again after a crash is decided with the model that
decided it the first time, whatever the commits, crashes and snapshots in between."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.learning import ModelPins, ModelRef
from pipeline.learning.pins import Schedule, parse_schedule


@dataclass
class Broker:
    """What survives a crash: per partition, the committed offset and its mark, and the
    records' timestamps (the log)."""

    committed: dict[int, tuple[int, str]] = field(default_factory=dict)
    log: dict[int, list[int]] = field(default_factory=dict)


def _schedule(mark: str) -> Schedule[ModelRef, ModelRef] | None:
    """The schedule a mark names (the models topic keeps every snapshot here)."""
    before, after, at_ms = parse_schedule(mark, ModelRef.from_mark)
    if before is None:
        return None
    return Schedule((before, before), None if after is None else (after, after), at_ms)


@dataclass
class Worker:
    """A worker as the loop drives it: records applied in order per partition, those the
    commit being written must decide held until it is in."""

    pins: ModelPins[ModelRef]
    fetched: dict[int, int]
    applied: dict[int, int]
    held: dict[int, list[int]] = field(default_factory=dict)
    sealed: dict[int, str] | None = None  # the marks of the commit being written
    sealed_at: dict[int, int] = field(default_factory=dict)


def _worker(broker: Broker, live: ModelRef, partitions: range) -> Worker:
    """A worker taking ``partitions``: resumes each at its committed offset and mark."""
    pins: ModelPins[ModelRef] = ModelPins()
    pins.offer(live, live)
    positions = {}
    for p in partitions:
        offset, mark = broker.committed.get(p, (0, ""))
        first_mark = pins.resume(p, _schedule(mark), end_offset=len(broker.log.get(p, [])))
        if first_mark is not None:  # committed before anything is applied
            broker.committed[p] = (offset, first_mark)
        positions[p] = offset
    return Worker(pins, dict(positions), dict(positions))


# Steps: ("event", partition, skew ms) | ("tick", ms) | ("seal",) | ("land",) | ("fail",)
# | ("crash",) | ("snapshot",)
_steps = st.lists(st.one_of(
    st.tuples(st.just("event"), st.integers(0, 1), st.integers(-3_000, 3_000)),
    st.tuples(st.just("tick"), st.integers(0, 2_000)),
    st.tuples(st.just("seal")), st.tuples(st.just("land")), st.tuples(st.just("fail")),
    st.tuples(st.just("crash")), st.tuples(st.just("snapshot")),
), min_size=20, max_size=150)


@settings(max_examples=300, deadline=None)
@given(_steps, st.integers(0, 1_500))
def test_every_record_is_decided_with_one_model_across_crashes(steps: list[tuple],
                                                               margin_ms: int) -> None:
    broker = Broker()
    version, now = 1, 10_000
    live = ModelRef(version, version * 10)
    worker = _worker(broker, live, range(3))
    decided_with: dict[tuple[int, int], ModelRef] = {}

    def decide(p: int, offset: int) -> None:
        timestamp = broker.log[p][offset]
        model = worker.pins.model_for(p, timestamp)
        assert model is not None
        first = decided_with.setdefault((p, offset), model)
        assert model == first, f"record {p}@{offset}: {first} then {model}"
        worker.applied[p] = offset + 1

    def release() -> None:
        for p, records in list(worker.held.items()):
            while records and not worker.pins.waits(p, broker.log[p][records[0]]):
                decide(p, records.pop(0))
            if not records:
                del worker.held[p]

    for step in steps:
        if step[0] == "event":
            p, log = step[1], broker.log.setdefault(step[1], [])
            offset = worker.fetched[p]
            if offset == len(log):  # a new record (a redo reads the one there)
                log.append(now + step[2])
            worker.fetched[p] = offset + 1
            if p in worker.held or worker.pins.waits(p, log[offset]):
                worker.held.setdefault(p, []).append(offset)
            else:
                decide(p, offset)
        elif step[0] == "tick":
            now += step[1]
        elif step[0] == "seal" and worker.sealed is None:
            # As the loop seals: partitions with records, and idle ones whose mark changes.
            marks = worker.pins.marks(dict(worker.applied), switch_at_ms=now + margin_ms)
            worker.sealed = {p: m for p, m in marks.items()
                             if worker.applied[p] != broker.committed.get(p, (0, ""))[0]
                             or m != broker.committed.get(p, (0, ""))[1]}
            worker.sealed_at = dict(worker.applied)
        elif step[0] == "land" and worker.sealed is not None:
            for p, mark in worker.sealed.items():
                broker.committed[p] = (worker.sealed_at[p], mark)
            worker.pins.committed(worker.sealed)
            worker.sealed = None
            release()
            assert not worker.held, "records still held after the commit is in"
        elif step[0] == "fail" and worker.sealed is not None:
            worker.sealed = None  # never committed: the next commit carries it again
            release()
        elif step[0] == "crash":
            worker = _worker(broker, live, range(3))
        elif step[0] == "snapshot":
            version += 1
            live = ModelRef(version, version * 10)
            worker.pins.offer(live, live)


def test_a_record_waits_only_where_the_commit_being_written_decides_otherwise() -> None:
    pins: ModelPins[str] = ModelPins()
    pins.offer(ModelRef(1, 10), "m1")
    assert pins.resume(0, None, end_offset=0) == "rtp-model=1@10"
    pins.offer(ModelRef(2, 20), "m2")
    assert pins.marks({0: 5}, switch_at_ms=1_000) == {0: "rtp-model=1@10>2@20>1000"}
    assert not pins.waits(0, 999) and pins.waits(0, 1_000)
    assert pins.model_for(0, 1_000) == "m1"  # if it did not wait: the last commit's
    pins.committed([0])
    assert not pins.waits(0, 1_000) and pins.model_for(0, 1_000) == "m2"
    pins.offer(ModelRef(3, 30), "m3")  # the next schedule drops m1: older records wait
    assert pins.marks({0: 9}, switch_at_ms=5_000) == {0: "rtp-model=2@20>3@30>5000"}
    assert pins.waits(0, 999) and not pins.waits(0, 1_000) and pins.waits(0, 5_000)


def test_a_partition_schedules_the_newest_model_at_its_first_commit_after_the_redo() -> None:
    pins: ModelPins[str] = ModelPins()
    pins.offer(ModelRef(9, 90), "m9")
    assert pins.resume(0, Schedule((ModelRef(4, 40), "m4")), end_offset=3) is None
    assert pins.marks({0: 2}, switch_at_ms=0) == {0: "rtp-model=4@40"}
    pins.committed([0])
    assert pins.model_for(0, 10**12) == "m4"
    assert pins.marks({0: 3}, switch_at_ms=100) == {0: "rtp-model=4@40>9@90>100"}
    assert pins.model_for(0, 100) == "m4"  # not before the commit is in
    pins.committed([0])
    assert (pins.model_for(0, 99), pins.model_for(0, 100)) == ("m4", "m9")
    pins.offer(ModelRef(10, 100), "m10")
    assert pins.model_for(0, 10**12) == "m9"  # a newer snapshot waits for the next commit
    assert pins.marks({0: 4}, switch_at_ms=200) == {0: "rtp-model=9@90>10@100>200"}
    pins.committed([0])
    assert pins.in_use() == {0: ModelRef(10, 100)}


def test_a_failed_commit_moves_nothing() -> None:
    pins: ModelPins[str] = ModelPins()
    pins.offer(ModelRef(1, 10), "m1")
    assert pins.model_for(0, 0) == "m1"
    pins.offer(ModelRef(2, 20), "m2")
    pins.marks({0: 5}, switch_at_ms=50)  # the commit fails: committed() is never called
    assert pins.model_for(0, 60) == "m1"
    # The next commit carries the same schedule: records that waited for it keep waiting.
    assert pins.marks({0: 6}, switch_at_ms=90) == {0: "rtp-model=1@10>2@20>50"}
    assert pins.waits(0, 60)


def test_without_the_pinned_snapshot_a_partition_uses_the_newest() -> None:
    pins: ModelPins[str] = ModelPins()
    pins.offer(ModelRef(5, 50), "m5")
    assert pins.resume(1, None, end_offset=100) == "rtp-model=5@50"  # compacted away
    assert pins.model_for(1, 0) == "m5"
    assert pins.marks({1: 1}, switch_at_ms=0) == {1: "rtp-model=5@50"}
