"""Model pins: a record applied again after a crash is decided with the model that
decided it the first time, whatever the commits, crashes and snapshots in between."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.learning import ModelPins, ModelRef


@dataclass
class Broker:
    """What survives a crash: per partition, the committed offset and its mark."""

    committed: dict[int, tuple[int, str]] = field(default_factory=dict)
    end: dict[int, int] = field(default_factory=dict)


def _worker(broker: Broker, live: ModelRef, partitions: range,
            ) -> tuple[ModelPins[ModelRef], dict[int, int]]:
    """A worker taking ``partitions``: resumes each at its committed offset and mark."""
    pins: ModelPins[ModelRef] = ModelPins()
    pins.offer(live, live)
    positions = {}
    for p in partitions:
        offset, mark = broker.committed.get(p, (0, ""))
        ref = ModelRef.from_mark(mark)
        # The models topic keeps every snapshot here: the pinned one is always found.
        first_mark = pins.resume(p, ref, ref, end_offset=broker.end.get(p, 0))
        if first_mark is not None:  # committed before anything is applied
            broker.committed[p] = (offset, first_mark)
        positions[p] = offset
    return pins, positions


# Steps: ("event", partition) | ("commit",) | ("crash",) | ("snapshot",)
_steps = st.lists(st.one_of(
    st.tuples(st.just("event"), st.integers(0, 2)),
    st.tuples(st.just("commit")), st.tuples(st.just("crash")), st.tuples(st.just("snapshot")),
), max_size=120)


@settings(max_examples=300, deadline=None)
@given(_steps)
def test_every_record_is_decided_with_one_model_across_crashes(steps: list[tuple]) -> None:
    broker = Broker()
    version = 1
    live = ModelRef(version, version * 10)
    pins, positions = _worker(broker, live, range(3))
    decided_with: dict[tuple[int, int], ModelRef] = {}
    applied_since_commit: set[int] = set()
    for step in steps:
        if step[0] == "event":
            p = step[1]
            offset = positions[p]
            broker.end[p] = max(broker.end.get(p, 0), offset + 1)  # the record exists
            model = pins.model_for(p)
            assert model is not None
            first = decided_with.setdefault((p, offset), model)
            assert model == first, f"record {p}@{offset}: {first} then {model}"
            positions[p] = offset + 1
            applied_since_commit.add(p)
        elif step[0] == "commit":
            # As the loop commits: partitions with records, and idle ones whose mark changes.
            marks = {p: m for p, m in pins.marks(dict(positions)).items()
                     if p in applied_since_commit or m != broker.committed.get(p, (0, ""))[1]}
            for p, mark in marks.items():
                broker.committed[p] = (positions[p], mark)
            pins.committed(marks)
            applied_since_commit.clear()
        elif step[0] == "crash":
            pins, positions = _worker(broker, live, range(3))
            applied_since_commit.clear()
        else:
            version += 1
            live = ModelRef(version, version * 10)
            pins.offer(live, live)


def test_a_partition_moves_to_the_newest_model_at_its_first_commit_after_the_redo() -> None:
    pins: ModelPins[str] = ModelPins()
    pins.offer(ModelRef(9, 90), "m9")
    assert pins.resume(0, ModelRef(4, 40), "m4", end_offset=3) is None
    assert pins.marks({0: 2}) == {0: "rtp-model=4@40"}
    pins.committed([0])
    assert pins.model_for(0) == "m4"
    assert pins.marks({0: 3}) == {0: "rtp-model=9@90"}
    assert pins.model_for(0) == "m4"  # not before the commit is in
    pins.committed([0])
    assert pins.model_for(0) == "m9"
    pins.offer(ModelRef(10, 100), "m10")
    assert pins.model_for(0) == "m9"  # a newer snapshot waits for the next commit
    assert pins.marks({0: 4}) == {0: "rtp-model=10@100"}
    pins.committed([0])
    assert pins.in_use() == {0: ModelRef(10, 100)}


def test_a_failed_commit_moves_nothing() -> None:
    pins: ModelPins[str] = ModelPins()
    pins.offer(ModelRef(1, 10), "m1")
    assert pins.model_for(0) == "m1"
    pins.offer(ModelRef(2, 20), "m2")
    pins.marks({0: 5})  # the commit carrying it fails: committed() is never called
    assert pins.model_for(0) == "m1"
    assert pins.marks({0: 6}) == {0: "rtp-model=2@20"}


def test_without_the_pinned_snapshot_a_partition_uses_the_newest() -> None:
    pins: ModelPins[str] = ModelPins()
    pins.offer(ModelRef(5, 50), "m5")
    assert pins.resume(1, ModelRef(3, 30), None, end_offset=100) is None  # compacted away
    assert pins.model_for(1) == "m5"
    assert pins.marks({1: 1}) == {1: "rtp-model=5@50"}
