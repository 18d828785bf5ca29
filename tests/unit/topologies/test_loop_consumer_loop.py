"""ConsumerLoop: what is committed, and when, against a scripted consumer (a unit test:
the real broker runs it in tests/integration and tests/fault)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from topologies.loop.loop import ConsumerLoop, ConsumerOptions, Record


@dataclass
class Msg:
    """The part of confluent_kafka.Message the loop reads."""

    t: str
    p: int
    o: int
    ts: int = 1_700_000_000_000

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return self.t

    def partition(self) -> int:
        return self.p

    def offset(self) -> int:
        return self.o

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return b"v"

    def headers(self) -> None:
        return None

    def timestamp(self) -> tuple[int, int]:
        return 1, self.ts  # TIMESTAMP_CREATE_TIME


@dataclass
class ScriptedConsumer:
    batches: list[list[Msg]]
    calls: list[Any] = field(default_factory=list)
    #: Called inside the next consume (a rebalance callback librdkafka serves there).
    during_consume: Any = None
    #: The timeout of every poll.
    timeouts: list[float] = field(default_factory=list)

    def poll(self, timeout: float) -> Msg | None:
        self.timeouts.append(timeout)
        batch = self.batches.pop(0) if self.batches else []
        self._rest = batch[1:]
        return batch[0] if batch else None

    def consume(self, n: int, timeout: float) -> list[Msg]:
        if self.during_consume is not None:
            callback, self.during_consume = self.during_consume, None
            callback()
            self._rest = []  # librdkafka drops what consume fetched before the rebalance
        rest, self._rest = self._rest[:n], self._rest[n:]
        return rest

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> None:
        self.calls.append(("commit async" if asynchronous else "commit",
                           sorted((o.topic, o.partition, o.offset) for o in offsets)))

    def unassign(self) -> None:
        self.calls.append(("unassign",))


@dataclass
class Recorder:
    calls: list[Any]

    def assigned(self, partitions: list[int]) -> None:
        self.calls.append(("assigned", partitions))

    def revoked(self, partitions: list[int]) -> None:
        self.calls.append(("revoked", partitions))

    def lost(self) -> None:
        self.calls.append(("lost",))

    def apply(self, record: Record) -> None:
        self.calls.append(("apply", record.topic, record.partition, record.offset))

    def tick(self, now: float) -> None:
        pass

    def write(self) -> bool:
        self.calls.append(("write",))
        return True

    #: What :meth:`written` answers (a test holds the writes in progress with False).
    done: bool = True
    #: The time each call of :meth:`written` may spend (None: no limit).
    budgets: list[float | None] = field(default_factory=list)

    def start_write(self) -> bool:
        self.calls.append(("start_write",))
        return True

    def written(self, budget_s: float | None = None) -> bool:
        self.budgets.append(budget_s)
        return self.done


def _loop(batches: list[list[Msg]], commit_every: float = 10.0) -> tuple[ConsumerLoop, list[Any]]:
    consumer = ScriptedConsumer(batches)
    calls = consumer.calls
    now = [0.0]

    def clock() -> float:
        now[0] += 1.0
        return now[0]

    loop = ConsumerLoop("unused:1", "g", ["e"], Recorder(calls), commit_every, clock=clock,
                        consumer=consumer)
    loop._on_assign(consumer, [TopicPartition("e", 0), TopicPartition("e", 1)])
    calls.clear()
    return loop, calls


def test_commit_writes_first_then_commits_the_next_offset_of_each_partition() -> None:
    loop, calls = _loop([[Msg("e", 0, 5), Msg("e", 1, 2), Msg("e", 0, 6)], [Msg("o", 0, 9)]])
    loop.run_once()
    loop.run_once()
    loop.commit()
    assert calls == [("apply", "e", 0, 5), ("apply", "e", 1, 2), ("apply", "e", 0, 6),
                     ("apply", "o", 0, 9), ("write",),
                     ("commit", [("e", 0, 7), ("e", 1, 3), ("o", 0, 10)])]
    calls.clear()
    loop.commit()  # nothing applied since: writes (flushes outputs), commits no offsets
    assert calls == [("write",)]


def test_a_commit_is_due_after_the_interval_and_runs_in_the_background() -> None:
    loop, calls = _loop([[Msg("e", 0, 1)], [Msg("e", 0, 2)], [Msg("e", 0, 3)]],
                        commit_every=2.0)
    for _ in range(3):
        loop.run_once()
    # not due after 1 s; due after 2 s, with the record of that turn applied first; the
    # writes are begun and, once in, the offsets sent without waiting
    assert calls == [("apply", "e", 0, 1), ("apply", "e", 0, 2), ("apply", "e", 0, 3),
                     ("start_write",), ("commit async", [("e", 0, 4)])]


def test_a_commit_that_waits_when_background_commits_are_off() -> None:
    consumer = ScriptedConsumer([[Msg("e", 0, 1)], [Msg("e", 0, 2)]])
    now = [0.0]
    loop = ConsumerLoop("unused:1", "g", ["e"], Recorder(consumer.calls), 2.0,
                        ConsumerOptions(background_commits=False),
                        clock=lambda: now[0], consumer=consumer)
    loop._on_assign(consumer, [TopicPartition("e", 0)])
    consumer.calls.clear()
    loop.run_once()
    now[0] = 5.0
    loop.run_once()
    assert consumer.calls == [("apply", "e", 0, 1), ("apply", "e", 0, 2), ("write",),
                              ("commit", [("e", 0, 3)])]


def _background(batches: list[list[Msg]]) -> tuple[ConsumerLoop, ScriptedConsumer, Recorder]:
    """A loop whose next commit is due at its first turn, then never by itself."""
    consumer = ScriptedConsumer(batches)
    processor = Recorder(consumer.calls)
    loop = ConsumerLoop("unused:1", "g", ["e"], processor, 10.0, clock=lambda: 100.0,
                        consumer=consumer)
    loop._on_assign(consumer, [TopicPartition("e", 0), TopicPartition("e", 1)])
    loop._commit_due.due(0.0)  # the interval starts
    consumer.calls.clear()
    return loop, consumer, processor


def test_records_go_on_while_the_writes_are_in_progress_and_the_offsets_wait_for_them() -> None:
    loop, consumer, processor = _background([[Msg("e", 0, 1)], [Msg("e", 0, 2)],
                                             [Msg("e", 1, 7)]])
    processor.done = False
    loop.run_once()  # applies offset 1, seals the commit: its writes are in progress
    loop.run_once()  # offset 2 is applied at once: the loop does not wait
    processor.done = True
    loop.run_once()  # the writes are in: the sealed offsets (not 2's) are committed
    assert consumer.calls == [("apply", "e", 0, 1), ("start_write",), ("apply", "e", 0, 2),
                              ("apply", "e", 1, 7), ("commit async", [("e", 0, 2)])]
    loop._on_commit(None, [TopicPartition("e", 0, 2)])
    loop.run_once()
    consumer.calls.clear()
    loop.commit()  # what was applied after the seal goes with the next commit
    assert consumer.calls == [("write",), ("commit", [("e", 0, 3), ("e", 1, 8)])]


def test_a_commit_in_the_background_writes_a_slice_per_turn_unless_the_loop_is_behind() -> None:
    consumer = ScriptedConsumer([[Msg("e", 0, 1)], [Msg("e", 0, 2), Msg("e", 0, 3)],
                                 [Msg("e", 0, 4)]])
    processor = Recorder(consumer.calls, done=False)
    loop = ConsumerLoop("unused:1", "g", ["e"], processor, 10.0, clock=lambda: 100.0,
                        consumer=consumer, options=ConsumerOptions(batch_size=2))
    loop._on_assign(consumer, [TopicPartition("e", 0)])
    loop._commit_due.due(0.0)
    for _ in range(3):
        loop.run_once()
    # keeping up: 3 ms a turn; after the full batch (2 records): no limit
    assert processor.budgets == [0.003, None, 0.003]


def test_while_a_commit_is_written_the_loop_polls_briefly_so_its_slices_go_on() -> None:
    """An idle loop blocked 50 ms per poll and wrote one 3 ms slice in between: a commit
    took seconds (and records waiting for it waited as long). While the writes are in
    progress each poll blocks 1 ms; once the offsets are sent, polls are long again."""
    consumer = ScriptedConsumer([[Msg("e", 0, 1)], [], [], [], []])
    processor = Recorder(consumer.calls, done=False)
    loop = ConsumerLoop("unused:1", "g", ["e"], processor, 10.0, clock=lambda: 100.0,
                        consumer=consumer)
    loop._on_assign(consumer, [TopicPartition("e", 0)])
    loop._commit_due.due(0.0)
    loop.run_once()  # applies 1 and seals the commit
    loop.run_once()
    loop.run_once()
    processor.done = True
    loop.run_once()  # the writes are in: the offsets are sent
    loop.run_once()
    assert consumer.timeouts == [0.05, 0.001, 0.001, 0.001, 0.05]
    assert consumer.calls[-1] == ("commit async", [("e", 0, 2)])


def test_offsets_of_a_background_commit_that_failed_go_with_the_next() -> None:
    loop, consumer, _ = _background([[Msg("e", 0, 1)], [Msg("e", 1, 4)]])
    loop.run_once()
    loop._on_commit(KafkaError(KafkaError.REBALANCE_IN_PROGRESS), [])
    loop.run_once()
    consumer.calls.clear()
    loop.commit()
    assert consumer.calls == [("write",), ("commit", [("e", 0, 2), ("e", 1, 5)])]


def test_a_background_commit_refused_for_good_stops_the_loop() -> None:
    loop, _, _ = _background([[Msg("e", 0, 1)], []])
    loop.run_once()
    loop._on_commit(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED), [])
    with pytest.raises(KafkaException):
        loop.run_once()
    with pytest.raises(RuntimeError, match="earlier commit failed"):
        loop.commit()


def test_revocation_commits_everything_applied_before_giving_partitions_up() -> None:
    loop, calls = _loop([[Msg("e", 0, 1), Msg("e", 1, 4)]])
    loop.run_once()
    loop._on_revoke(None, [TopicPartition("e", 1)])
    assert calls[-3:] == [("write",), ("commit", [("e", 0, 2), ("e", 1, 5)]), ("revoked", [1])]
    assert loop.assignment == {0}


def test_a_lost_assignment_commits_nothing_and_drops_what_was_applied() -> None:
    loop, calls = _loop([[Msg("e", 0, 1)]])
    loop.run_once()
    loop._on_lost(loop.consumer, [TopicPartition("e", 0)])
    loop.commit()
    assert ("lost",) in calls
    assert not [c for c in calls if c[0] == "commit"]


class FailingOnce(ScriptedConsumer):
    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> None:
        if not any(c[0] == "failed" for c in self.calls):
            self.calls.append(("failed",))
            from confluent_kafka import KafkaError, KafkaException
            raise KafkaException(KafkaError(KafkaError.UNKNOWN_MEMBER_ID))
        super().commit(offsets, asynchronous)


def _assigned(consumer: ScriptedConsumer, processor: Any) -> ConsumerLoop:
    loop = ConsumerLoop("unused:1", "g", ["e"], processor, 10.0, consumer=consumer)
    loop._on_assign(consumer, [TopicPartition("e", 0), TopicPartition("e", 1)])
    consumer.calls.clear()
    return loop


def test_offsets_a_failed_commit_left_are_committed_at_the_next() -> None:
    consumer = FailingOnce([[Msg("e", 0, 1)], [Msg("e", 1, 5)]])
    loop = _assigned(consumer, Recorder(consumer.calls))
    loop.run_once()
    loop.commit()  # the group moved: not committed, not fatal
    loop.run_once()  # another partition: partition 0's offset must still be there
    loop.commit()
    assert [c for c in consumer.calls if c[0] in ("failed", "commit")] == [
        ("failed",), ("commit", [("e", 0, 2), ("e", 1, 6)])]


def test_offsets_of_newly_assigned_partitions_restart_from_what_comes() -> None:
    consumer = FailingOnce([[Msg("e", 0, 7)]])
    loop = _assigned(consumer, Recorder(consumer.calls))
    loop.run_once()
    loop.commit()  # fails: 8 is kept
    loop._on_assign(consumer, [TopicPartition("e", 0)])  # reassigned: resumes at the committed
    loop.commit()  # nothing applied since: 8 must not be committed over the group's offset
    assert not [c for c in consumer.calls if c[0] == "commit"]


class FailingWrite(Recorder):
    def write(self) -> bool:
        self.calls.append(("write",))
        raise RuntimeError("an output was not acknowledged")


def test_after_a_failed_commit_the_revocation_of_closing_commits_nothing() -> None:
    consumer = ScriptedConsumer([[Msg("e", 0, 1)]])
    loop = _assigned(consumer, FailingWrite(consumer.calls))
    loop.run_once()
    with pytest.raises(RuntimeError):
        loop.commit()
    loop._on_revoke(consumer, [TopicPartition("e", 0)])  # what consumer.close() does
    assert not [c for c in consumer.calls if c[0] == "commit"]


def test_a_record_polled_before_a_rebalance_inside_consume_is_not_applied() -> None:
    consumer = ScriptedConsumer([[Msg("e", 1, 3), Msg("e", 0, 9)]])
    loop = _assigned(consumer, Recorder(consumer.calls))
    # partition 1 moves away while consume runs (eager: revoke all, assign what is left)
    consumer.during_consume = lambda: (loop._on_revoke(consumer, [TopicPartition("e", 0),
                                                                  TopicPartition("e", 1)]),
                                       loop._on_assign(consumer, [TopicPartition("e", 0)]))
    loop.run_once()
    loop.commit()
    assert not [c for c in consumer.calls if c[0] == "apply"]
    assert not [c for c in consumer.calls if c[0] == "commit"]


def test_records_of_partitions_not_assigned_are_skipped() -> None:
    consumer = ScriptedConsumer([[Msg("e", 5, 1), Msg("e", 0, 2)]])
    loop = _assigned(consumer, Recorder(consumer.calls))
    loop.run_once()
    loop.commit()
    assert [c for c in consumer.calls if c[0] in ("apply", "commit")] == [
        ("apply", "e", 0, 2), ("commit", [("e", 0, 3)])]


@dataclass
class MarkedConsumer(ScriptedConsumer):
    """Also answers the committed offsets (with metadata) and the end offsets."""

    stored: dict[int, tuple[int, str]] = field(default_factory=dict)

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        out = []
        for tp in partitions:
            offset, mark = self.stored.get(tp.partition, (-1001, ""))
            out.append(TopicPartition(tp.topic, tp.partition, offset, metadata=mark))
        return out

    def get_watermark_offsets(self, tp: TopicPartition, timeout: float) -> tuple[int, int]:
        return 0, 50

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> None:
        self.calls.append(("commit", sorted((o.topic, o.partition, o.offset, o.metadata)
                                            for o in offsets)))


@dataclass
class FakeMarks:
    """Marks by hand: ``marks`` says what each partition's mark becomes; a changed mark
    decides records stamped from ``switch_at_ms`` on otherwise (they wait for it)."""

    calls: list[Any]
    next_mark: dict[int, str] = field(default_factory=dict)
    switch_at_ms: int = 0
    durable: dict[int, str] = field(default_factory=dict)
    pending: dict[int, str] = field(default_factory=dict)

    def resume(self, partition: int, mark: str, end_offset: int) -> str | None:
        self.calls.append(("resume", partition, mark, end_offset))
        self.durable[partition] = mark or f"first-{partition}"
        return None if mark else f"first-{partition}"

    def marks(self, positions: dict[int, int]) -> dict[int, str]:
        self.pending = {p: self.next_mark.get(p, "m1") for p in positions}
        return dict(self.pending)

    def committed(self, partitions: Any) -> None:
        self.calls.append(("marks committed", sorted(partitions)))
        for p in partitions:
            self.durable[p] = self.pending.pop(p)

    def waits(self, partition: int, timestamp_ms: int) -> bool:
        return (partition in self.pending and timestamp_ms >= self.switch_at_ms
                and self.pending[partition] != self.durable.get(partition))


def test_marks_ride_on_the_first_topics_commits_and_move_idle_partitions() -> None:
    consumer = MarkedConsumer([[Msg("e", 0, 5), Msg("o", 0, 3)], [], []],
                              stored={1: (40, "m1")})
    marks = FakeMarks(consumer.calls)
    loop = ConsumerLoop("unused:1", "g", ["e", "o"], Recorder(consumer.calls), 10.0,
                        clock=lambda: 0.0, consumer=consumer, marks=marks)
    loop._on_assign(consumer, [TopicPartition("e", 0), TopicPartition("e", 1),
                               TopicPartition("o", 0), TopicPartition("o", 1)])
    # Partition 0 had no mark: its first one is committed at once, where it starts (the
    # low watermark, as nothing was committed); partition 1 keeps its own.
    assert consumer.calls[:3] == [("resume", 0, "", 50), ("resume", 1, "m1", 50),
                                  ("commit", [("e", 0, 0, "first-0")])]
    consumer.calls.clear()
    loop.run_once()
    loop.commit()
    # Partition 0 had records: its offset carries the mark (the other topic's does not);
    # idle partition 1's mark is unchanged: not committed again.
    assert consumer.calls[-2:] == [("commit", [("e", 0, 6, "m1"), ("o", 0, 4, None)]),
                                   ("marks committed", [0])]
    consumer.calls.clear()
    marks.next_mark = {0: "m1", 1: "m2"}  # a newer model for partition 1
    loop.commit()
    assert consumer.calls[-2:] == [("commit", [("e", 1, 40, "m2")]),
                                   ("marks committed", [1])]
    consumer.calls.clear()
    loop.commit()  # nothing new: nothing committed (the commit is over for the marks)
    assert consumer.calls == [("write",), ("marks committed", [])]


def test_records_of_the_first_topics_are_applied_before_the_rest_of_their_batch() -> None:
    """Consent and erasure (``profiles``) fetched with page views (``e``) go first, each
    partition's own order kept, and every offset is committed as before."""
    consumer = ScriptedConsumer([[Msg("e", 0, 5), Msg("e", 0, 6), Msg("profiles", 0, 3),
                                  Msg("e", 1, 2), Msg("profiles", 1, 8), Msg("profiles", 0, 4)]])
    calls = consumer.calls
    loop = ConsumerLoop("unused:1", "g", ["e", "profiles"], Recorder(calls), 10.0,
                        consumer=consumer, first=("profiles",))
    loop._on_assign(consumer, [TopicPartition("e", 0), TopicPartition("e", 1)])
    calls.clear()
    loop.run_once()
    loop.commit()
    assert calls == [("apply", "profiles", 0, 3), ("apply", "profiles", 1, 8),
                     ("apply", "profiles", 0, 4), ("apply", "e", 0, 5), ("apply", "e", 0, 6),
                     ("apply", "e", 1, 2), ("write",),
                     ("commit", [("e", 0, 7), ("e", 1, 3), ("profiles", 0, 5),
                                 ("profiles", 1, 9)])]


@dataclass
class NewTopicConsumer(MarkedConsumer):
    """A topic created a moment ago: its first end-offset requests find no leader yet."""

    not_led: int = 2

    def get_watermark_offsets(self, tp: TopicPartition, timeout: float) -> tuple[int, int]:
        if self.not_led:
            self.not_led -= 1
            raise KafkaException(KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION))
        return super().get_watermark_offsets(tp, timeout)


def test_an_assignment_waits_for_a_new_topics_leader_instead_of_failing() -> None:
    """CI saw a worker on a new prefix die of NOT_LEADER_FOR_PARTITION at its assignment."""
    consumer = NewTopicConsumer([])
    marks = FakeMarks(consumer.calls)
    loop = ConsumerLoop("unused:1", "g", ["e"], Recorder(consumer.calls), 10.0,
                        consumer=consumer, marks=marks)
    loop._on_assign(consumer, [TopicPartition("e", 0)])
    assert consumer.not_led == 0
    assert consumer.calls[:2] == [("resume", 0, "", 50), ("commit", [("e", 0, 0, "first-0")])]


SWITCH_MS = 1_700_000_000_000


def test_a_record_the_commit_being_written_decides_otherwise_waits_until_it_is_in() -> None:
    """A commit that moves a partition's model decides its records stamped from the switch
    time on with the new one, which holds only once the commit is in: those records wait
    for it, with every later record of their partition; records stamped before the switch
    and another partition's records do not."""
    consumer = MarkedConsumer([[Msg("e", 0, 5)],
                               [Msg("e", 0, 6, SWITCH_MS - 1), Msg("e", 0, 7),
                                Msg("e", 0, 8, SWITCH_MS - 1), Msg("e", 1, 40)], []],
                              stored={1: (40, "m1")})
    marks = FakeMarks(consumer.calls, switch_at_ms=SWITCH_MS)
    loop = ConsumerLoop("unused:1", "g", ["e"], Recorder(consumer.calls), 10.0,
                        clock=lambda: 100.0, consumer=consumer, marks=marks)
    loop._on_assign(consumer, [TopicPartition("e", 0), TopicPartition("e", 1)])
    loop._commit_due.due(0.0)
    consumer.calls.clear()
    loop.run_once()  # 0 moves from its first mark to m1 with this commit
    loop.run_once()  # 0's 6 is stamped before the switch; 7 waits, and 8 after it
    assert consumer.calls == [("apply", "e", 0, 5), ("start_write",),
                              ("commit", [("e", 0, 6, "m1")]), ("apply", "e", 0, 6),
                              ("apply", "e", 1, 40)]
    consumer.calls.clear()
    loop._on_commit(None, [TopicPartition("e", 0, 6)])
    loop.run_once()
    assert consumer.calls == [("marks committed", [0]), ("apply", "e", 0, 7),
                              ("apply", "e", 0, 8)]


def test_records_go_on_and_no_mark_is_taken_while_the_writes_are_in_progress() -> None:
    """A commit's marks are taken once its writes are in, just before its offsets go:
    while thousands of states are written a slice at a time, no record waits for them
    (taken at the seal, records stamped past a newer model's switch waited for the writes:
    hundreds of ms at 1,000 events/s on a busy machine), and the writes stay in slices."""
    consumer = MarkedConsumer([[Msg("e", 0, 5)], [Msg("e", 0, 6)], [], []])
    processor = Recorder(consumer.calls, done=False)
    marks = FakeMarks(consumer.calls)
    loop = ConsumerLoop("unused:1", "g", ["e"], processor, 10.0, clock=lambda: 100.0,
                        consumer=consumer, marks=marks)
    loop._on_assign(consumer, [TopicPartition("e", 0)])
    loop._commit_due.due(0.0)
    consumer.calls.clear()
    for _ in range(3):
        loop.run_once()
    assert processor.budgets == [0.003, 0.003, 0.003]
    assert consumer.calls == [("apply", "e", 0, 5), ("start_write",), ("apply", "e", 0, 6)]
    assert marks.pending == {}  # no mark taken yet
    processor.done = True
    loop.run_once()  # the writes are in: the marks of the records up to the seal, sent
    assert consumer.calls[-1] == ("commit", [("e", 0, 6, "m1")])
    assert marks.pending == {0: "m1"}


def test_while_records_wait_for_the_commit_its_writes_go_on_without_a_slice_limit() -> None:
    """Records still waiting for a commit that failed (a newer model's mark) have nothing to
    do but wait for the next: its writes are not cut into 3 ms slices then."""
    loop, consumer = _waiting_for_m1(turns_after=3)
    processor: Recorder = loop.processor  # type: ignore[assignment]
    loop._on_commit(KafkaError(KafkaError.REBALANCE_IN_PROGRESS), [])
    loop.run_once()  # the failed commit's offsets go back; 6 still waits
    processor.done = False
    loop._commit_due.reset(0.0)  # the next commit is due
    loop.run_once()
    loop.run_once()
    assert processor.budgets[-2:] == [None, None]
    assert ("apply", "e", 0, 6) not in consumer.calls


def _waiting_for_m1(turns_after: int = 0) -> tuple[ConsumerLoop, MarkedConsumer]:
    """A loop whose commit moving partition 0 to m1 is in the background, offset 6 waiting
    for it (its calls cleared)."""
    consumer = MarkedConsumer([[Msg("e", 0, 5)], [Msg("e", 0, 6)], *([[]] * turns_after)])
    loop = ConsumerLoop("unused:1", "g", ["e"], Recorder(consumer.calls), 10.0,
                        clock=lambda: 100.0, consumer=consumer, marks=FakeMarks(consumer.calls))
    loop._on_assign(consumer, [TopicPartition("e", 0)])
    loop._commit_due.due(0.0)
    loop.run_once()
    loop.run_once()  # offset 6 waits: the commit with m1 is not in
    consumer.calls.clear()
    return loop, consumer


def test_a_commit_that_waits_takes_over_and_leaves_waiting_records_to_the_next_owner() -> None:
    loop, consumer = _waiting_for_m1()
    loop._on_revoke(consumer, [TopicPartition("e", 0)])  # commits and waits, taking over
    # The commit carries the pending one's offsets and marks; 6 is never applied here: the
    # next owner applies it from the committed offset with m1, as it would have been.
    assert consumer.calls == [("write",), ("commit", [("e", 0, 6, "m1")]),
                              ("marks committed", [0]), ("revoked", [0])]


def test_a_commit_that_waits_applies_the_waiting_records_once_it_is_in() -> None:
    loop, consumer = _waiting_for_m1()
    loop.commit()
    assert consumer.calls == [("write",), ("commit", [("e", 0, 6, "m1")]),
                              ("marks committed", [0]), ("apply", "e", 0, 6)]


def test_records_waiting_for_a_commit_that_failed_wait_for_the_next_one() -> None:
    """The failed commit's marks never held: the waiting records are not applied with the
    old model either; the next commit carries the same marks and releases them."""
    loop, consumer = _waiting_for_m1(turns_after=2)
    loop._on_commit(KafkaError(KafkaError.REBALANCE_IN_PROGRESS), [])
    loop.run_once()
    assert ("apply", "e", 0, 6) not in consumer.calls  # still waiting
    consumer.calls.clear()
    loop.commit()
    assert consumer.calls == [("write",), ("commit", [("e", 0, 6, "m1")]),
                              ("marks committed", [0]), ("apply", "e", 0, 6)]
