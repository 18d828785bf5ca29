"""The consumer loop of the decision path: take a batch, apply each record, commit when due.

One thread, no event loop: ``poll`` blocks until a record is there (or the poll
timeout passes, so that timers and the stop flag are checked), then ``consume(n, 0)``
takes whatever else is already fetched (records of the ``first`` topics put ahead of the
rest, each partition's order kept). Each record goes to the
:class:`Processor`, which applies it in memory and produces its outputs without
waiting. Every ``commit_every_s`` the loop commits **in the background**, never waiting:
it seals the commit (the offsets of every record applied so far; the processor encodes its
changed state), then on each turn asks the processor whether its writes are in (outputs
acknowledged, then state; see :mod:`topologies.decision_path`) and, once they are, commits
the offsets asynchronously; records go on being applied meanwhile. While the writes are
in progress each poll blocks only briefly, so that their slices go on back to back when
no record comes (and their acknowledgements are seen at once). Before partitions are
revoked and at the end, the loop commits and waits (:meth:`ConsumerLoop.commit`).

Partitions are assigned by the ``range`` assignor: every input topic has the same
partition count and range gives a member the same partition numbers of each, so a
visitor's events, outcomes and profile views reach the same worker (cooperative-sticky
balances topic-partitions one by one and does not keep them together).

With :class:`CommitMarks`, each commit of the first topic's offsets carries a mark per
partition (Kafka's offset-commit metadata) and a new owner of a partition is told the mark
of its last commit and where the partition ended when it took it: the decision path names
the model snapshot a partition decides with this way (:mod:`pipeline.learning.pins`). A
commit in the background takes its marks once its writes are in, just before its offsets
go; a partition whose mark changes then holds its records stamped past the switch until
that commit is in (they must be decided with the model the mark names, and only a commit
that is in names it): one offset commit's way to the broker and back, not the writes'
(taken at the seal, the marks held records for the writes of thousands of states: up to
hundreds of ms on a busy machine); other partitions go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from pipeline.client.watermarks import watermarks
from pipeline.kafka_log import kafka_config
from topologies.loop.gc_pauses import GcPolicy
from topologies.loop.timers import Interval
from topologies.loop.turns import POLL, LoopTurns

__all__ = ["CommitMarks", "ConsumerLoop", "ConsumerOptions", "Processor", "Record"]

log = structlog.get_logger(__name__)


class Record(NamedTuple):
    """One consumed record, as the processor sees it.

    >>> Record("t", 0, 7, b"k", b"v").offset
    7
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    #: The record's Kafka timestamp (ms; -1 when the broker gave none).
    timestamp_ms: int = -1
    #: The record's headers (None: it has none), e.g. ``rtp-wait`` on an awaited event.
    headers: list[tuple[str, bytes | None]] | None = None


class Processor(Protocol):
    """What the loop drives: the stream adapter of one worker."""

    def assigned(self, partitions: list[int]) -> None:
        """Partitions (numbers, the same in every input topic) now ours."""

    def revoked(self, partitions: list[int]) -> None:
        """Partitions no longer ours (after the loop committed)."""

    def lost(self) -> None:
        """The assignment was lost without a chance to commit: drop uncommitted work."""

    def apply(self, record: Record) -> None:
        """Apply one record; must not raise for anything the record contains."""

    def tick(self, now: float) -> None:
        """Called between batches (wall-clock work such as expiring state)."""

    def write(self) -> bool:
        """The commit's writes, waited for (outputs acknowledged, state stored), after any
        write in progress; False: nothing to do."""

    def start_write(self) -> bool:
        """Begin the commit's writes without waiting (False: nothing to write)."""

    def written(self, budget_s: float | None = None) -> bool:
        """Whether the writes begun are complete (moves them on; never waits), spending
        about ``budget_s`` on them at most (None: no limit)."""


class CommitMarks(Protocol):
    """Marks carried by the commits of the first input topic, per partition."""

    def resume(self, partition: int, mark: str, end_offset: int) -> str | None:
        """A partition is ours: the mark of its last commit ("" if none) and its end offset
        now (the records below it may have been applied before, by a worker now gone).
        Returns a mark to commit at once at the partition's position (None: none)."""

    def marks(self, positions: Mapping[int, int]) -> Mapping[int, str]:
        """The marks for a commit of these positions (partition -> next offset)."""

    def committed(self, partitions: Iterable[int]) -> None:
        """The commit with the last marks is in for ``partitions``."""

    def waits(self, partition: int, timestamp_ms: int) -> bool:
        """Whether the partition's record stamped ``timestamp_ms`` must wait until the
        commit being written is in (its marks decide the record otherwise than the last)."""


@dataclass(frozen=True)
class ConsumerOptions:
    """librdkafka consumer settings of the decision path.

    >>> ConsumerOptions().to_config("k:9092", "g")["partition.assignment.strategy"]
    'range'
    """

    #: How long the broker holds a fetch that finds no data (low: records do not wait).
    fetch_wait_ms: int = 10
    #: Records taken per batch at most.
    batch_size: int = 500
    #: How long one poll blocks when nothing is there (timers and stop are checked between).
    poll_timeout_s: float = 0.05
    #: How long one poll blocks while a commit's writes are in progress: its slices go on
    #: between short polls, and its acknowledgements are noticed at once (with the long
    #: timeout an idle loop wrote one slice per 50 ms: a commit took seconds).
    commit_poll_timeout_s: float = 0.001
    #: A commit still not written after this long, s, is waiting for a broker that does
    #: not answer: the short polls lengthen (by 50 ms a second) back to ``poll_timeout_s``,
    #: so that the loop does not spin on 1 ms polls through an outage.
    commit_poll_backoff_after_s: float = 1.0
    #: How long a commit in the background may hold the event path per turn while the loop
    #: keeps up, ms (its states are encoded, sent and stored a slice at a time). After a
    #: full batch the loop is behind, and while records wait for the commit (a newer model's
    #: mark) nothing else is to be done: the commit's writes then go on without a limit.
    commit_slice_ms: float = 3.0
    session_timeout_ms: int = 10_000

    def poll_timeout(self, commit_age_s: float | None) -> float:
        """How long a poll blocks: with a commit's writes in progress for ``commit_age_s``
        (None: none), short, lengthening once it is overdue.

        >>> options = ConsumerOptions()
        >>> options.poll_timeout(None), options.poll_timeout(0.2), options.poll_timeout(1.5)
        (0.05, 0.001, 0.026)
        >>> options.poll_timeout(30.0)
        0.05
        """
        if commit_age_s is None:
            return self.poll_timeout_s
        overdue = commit_age_s - self.commit_poll_backoff_after_s
        if overdue <= 0:
            return self.commit_poll_timeout_s
        return round(min(self.poll_timeout_s, self.commit_poll_timeout_s + overdue * 0.05), 6)

    #: librdkafka's max.poll.interval.ms: above the longest a commit (three waits of up to
    #: the commit timeout) or a restore inside a rebalance callback may hold the loop.
    max_poll_interval_ms: int = 600_000
    #: How long a call to the broker inside a rebalance (committed offsets, end offsets)
    #: may take before the worker stops.
    broker_timeout_s: float = 30.0
    #: Kafka client id (``rtp ready --client-id`` finds this member by it).
    client_id: str = "rtp-worker"
    #: Commit in the background (the loop never waits for a commit but at a rebalance and
    #: at the end); False: every commit waits for the writes and the offsets (a baseline
    #: for benchmarks).
    background_commits: bool = True

    def to_config(self, bootstrap: str, group: str) -> dict[str, Any]:
        """The confluent-kafka configuration."""
        return kafka_config({
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": self.client_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "range",
            "fetch.wait.max.ms": self.fetch_wait_ms,
            "session.timeout.ms": self.session_timeout_ms,
            "max.poll.interval.ms": self.max_poll_interval_ms,
            "isolation.level": "read_committed",
        })


#: Commit errors that say the group is changing (or the coordinator is away for a moment):
#: the offsets are tried again; any other error (authorization, ...) stops the worker.
_GROUP_CHANGING = frozenset({
    KafkaError.UNKNOWN_MEMBER_ID, KafkaError.ILLEGAL_GENERATION,
    KafkaError.REBALANCE_IN_PROGRESS, KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_NOT_AVAILABLE, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
})


def _passing(err: KafkaError) -> bool:
    """Whether a failed offset commit may be tried again later: the group is changing, the
    broker says it is retriable, or it is a local (negative) error such as a timeout or a
    coordinator being looked up."""
    return not err.fatal() and (err.code() in _GROUP_CHANGING or err.retriable()
                                or err.code() < 0)


class ConsumerLoop:
    """Consume ``topics`` in group ``group`` and drive ``processor`` until :meth:`stop`."""

    def __init__(self, bootstrap: str, group: str, topics: Sequence[str], processor: Processor,
                 commit_every_s: float, options: ConsumerOptions | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 consumer: Any | None = None, first: Collection[str] = (),
                 marks: CommitMarks | None = None,
                 extra_config: Mapping[str, Any] | None = None,
                 gc_policy: GcPolicy | None = None,
                 turns: LoopTurns | None = None) -> None:
        self.options = options or ConsumerOptions()
        #: Times each turn's phases (None: not timed).
        self.turns = turns
        #: Python's cycle collector while the loop runs (None: Python's own policy).
        self.gc_policy = gc_policy
        self.topics = list(topics)
        #: Topics whose records in a batch are applied before the others' (consent and
        #: erasure before the events fetched with them); order within a partition is kept.
        self.first = frozenset(first)
        self.processor = processor
        self.marks = marks
        self.clock = clock
        #: librdkafka's consumer (another object with its methods in unit tests).
        # extra_config: more librdkafka settings (statistics); on_commit is the loop's own.
        self.consumer = consumer or Consumer({**self.options.to_config(bootstrap, group),
                                              **(extra_config or {}),
                                              "on_commit": self._on_commit})
        self._commit_due = Interval(commit_every_s)
        #: Next offset to commit per input partition, for the records applied since the last.
        self._next: dict[tuple[str, int], int] = {}
        #: With marks, per partition of the first topic: the offset and the mark last
        #: committed (a commit moves an idle partition too when its mark changes).
        self._committed: dict[int, tuple[int, str]] = {}
        self._stopping = False
        #: A commit or record failed past recovery: nothing is committed any more (not even
        #: at the revocation that closing the consumer brings), the worker stops.
        self._broken = False
        #: Bumped by every rebalance callback (they run inside poll and consume).
        self._rebalances = 0
        #: Whether the last batch was full (the loop is behind its input).
        self._behind = False
        self.assignment: set[int] = set()
        #: The commit in the background: sealed, its writes in progress, then its offsets
        #: sent (at most one at a time).
        self._pending: _Commit | None = None
        #: The broker's answer to the pending commit's offsets (from ``on_commit``).
        self._answer: tuple[KafkaError | None, list[TopicPartition]] | None = None
        #: Per partition, records that wait for the pending commit (its marks decide the
        #: first of them otherwise than the last commit's) and every later one.
        self._held: dict[int, list[Record]] = {}

    def behind(self, partition: int) -> bool:
        """Whether records of ``partition`` (of any input topic) are known and not applied
        yet: held for the pending commit, or below the end of the partition as the last
        fetch saw it (librdkafka's cached high watermark; unknown counts as not behind).

        >>> class Seen:  # a consumer that fetched up to offset 10 and returned up to 7
        ...     def position(self, tps): return [type(t)(t.topic, t.partition, 7) for t in tps]
        ...     def get_watermark_offsets(self, tp, cached=False): return (0, 10)
        >>> loop = ConsumerLoop("unused:1", "g", ["events"], None, 2.0, consumer=Seen())
        >>> loop.behind(0)
        True
        """
        if partition in self._held:
            return True
        try:
            for tp in self.consumer.position([TopicPartition(topic, partition)
                                              for topic in self.topics]):
                if tp.offset < 0:
                    continue  # nothing consumed there yet: unknown
                _, high = self.consumer.get_watermark_offsets(tp, cached=True)
                if tp.offset < high:
                    return True
        except KafkaException:
            return False  # not assigned (any more): its timers are not ours to fire either
        return False

    def stop(self) -> None:
        """Ask the loop to finish (safe from a signal handler or another thread): it
        commits and leaves."""
        self._stopping = True

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopping

    # -- rebalance callbacks (called by librdkafka inside poll/consume) --------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._rebalances += 1
        numbers = sorted({tp.partition for tp in partitions})
        # Consumption restarts at the committed offsets: offsets of records applied before
        # (a commit that failed while the group changed) are set again as they come.
        for tp in partitions:
            self._next.pop((tp.topic, tp.partition), None)
        if self.marks is not None:
            self._resume(consumer, numbers)
        self.processor.assigned(numbers)
        self.assignment |= set(numbers)
        log.info("partitions assigned; applying records", owned=sorted(self.assignment))

    def _resume(self, consumer: Consumer, numbers: list[int]) -> None:
        """Tell the marks each new partition's last mark and end offset (first topic)."""
        assert self.marks is not None
        primary = self.topics[0]
        timeout = self.options.broker_timeout_s
        committed = consumer.committed([TopicPartition(primary, p) for p in numbers],
                                       timeout=timeout)
        first_marks = []
        for tp in committed:
            if tp.error is not None:
                raise KafkaException(tp.error)
            # A topic created a moment ago answers NOT_LEADER until its leader is elected.
            low, high = watermarks(consumer, tp, timeout_s=timeout)
            mark = self.marks.resume(tp.partition, tp.metadata or "", int(high))
            # Where consumption starts (auto.offset.reset=earliest when none committed).
            start = tp.offset if tp.offset >= 0 else int(low)
            self._committed[tp.partition] = (start, tp.metadata or "")
            if mark is not None:
                first_marks.append(TopicPartition(primary, tp.partition, start, metadata=mark))
        if first_marks:
            try:
                consumer.commit(offsets=first_marks, asynchronous=False)
            except KafkaException as exc:
                # The partitions are redone with the newest model if this worker dies before
                # its first commit: a redone decision may then differ.
                log.warning("first model marks not committed", error=str(exc))
                return
            for tp in first_marks:
                self._committed[tp.partition] = (tp.offset, tp.metadata or "")

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._rebalances += 1
        # Still ours until this returns: commit everything applied, so nothing is dropped
        # (unless a commit failed before: then what was applied must not be committed).
        if not self._broken:
            self.commit(release=False)  # takes over a commit in the background
        self._drop_pending()
        for tp in partitions:  # not committed (the group moved on): the new owner reapplies
            self._next.pop((tp.topic, tp.partition), None)
        numbers = sorted({tp.partition for tp in partitions})
        for number in numbers:
            self._committed.pop(number, None)
        self.processor.revoked(numbers)
        self.assignment -= set(numbers)
        log.info("partitions revoked", revoked=numbers)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._rebalances += 1
        dropped = len(self._next)
        self._next.clear()
        self._committed.clear()
        self._drop_pending()
        self.processor.lost()
        self.assignment.clear()
        consumer.unassign()  # then the consumer rejoins the group
        log.warning("partitions lost; uncommitted work dropped (the new owners apply it again)",
                    partitions_with_records=dropped)

    # -- the loop -------------------------------------------------------------------------

    def run(self) -> None:
        """Consume until stopped; commit at the end and leave the group."""
        self.consumer.subscribe(self.topics, on_assign=self._on_assign,
                                on_revoke=self._on_revoke, on_lost=self._on_lost)
        if self.gc_policy is not None:
            self.gc_policy.start()
        try:
            while not self._stopping:
                self.run_once()
            self.commit(release=False)
            log.info("final commit written")
        except BaseException:
            self._broken = True  # close() below revokes: that must not commit past the failure
            raise
        finally:
            if self.gc_policy is not None:
                self.gc_policy.stop()
            if self.turns is not None:
                self.turns.close()
            self.consumer.close()  # leaves the group: the others take over at once

    def run_once(self) -> int:
        """One turn: a batch (possibly empty), the processor's tick, the commit in the
        background moved on, or a commit begun if due (each phase timed by :attr:`turns`)."""
        turns = self.turns
        if turns is not None:
            turns.begin()
        applied = 0
        try:
            applied = self._turn(turns)
        finally:
            if turns is not None:
                turns.end(applied)
        return applied

    def _turn(self, turns: LoopTurns | None) -> int:
        pending = self._pending
        first = self.consumer.poll(self.options.poll_timeout(
            None if pending is None or pending.sent else time.monotonic() - pending.begun))
        if turns is not None:
            turns.mark(POLL)
        batch = [] if first is None else [first]
        if first is not None and self.options.batch_size > 1:
            before = self._rebalances
            batch += self.consumer.consume(self.options.batch_size - 1, 0)
            if self._rebalances != before:
                # A rebalance ran inside consume: librdkafka dropped what consume had
                # fetched before it, but not the record poll returned, which may belong to
                # a partition revoked meanwhile (its owner reads it again).
                batch = batch[1:]
            if turns is not None:
                turns.mark("consume")
        if turns is not None and turns.diagnosing and batch:
            turns.fetched(min(m.timestamp()[1] for m in batch), int(time.time() * 1000))
        self._behind = len(batch) >= self.options.batch_size
        if self.first and len(batch) > 1:
            batch.sort(key=lambda m: m.topic() not in self.first)  # stable: per-partition order
        applied = 0
        for message in batch:
            err = message.error()
            if err is not None:
                self._on_error(err)
                continue
            # A message without an error always has its topic, partition and offset.
            record = Record(message.topic(), message.partition(), message.offset(),  # type: ignore[arg-type]
                            message.key(), message.value(), message.timestamp()[1],
                            message.headers())  # type: ignore[arg-type]  # a list when consumed
            if record.partition not in self.assignment:
                continue  # not ours (any more): never applied, never committed
            if self._waits(record):
                self._held.setdefault(record.partition, []).append(record)
                continue
            self._apply(record)
            applied += 1
        if turns is not None and batch:
            turns.mark("apply")
        now = self.clock()
        self.processor.tick(now)
        if turns is not None:
            turns.mark("tick")
        if self.gc_policy is not None:
            self.gc_policy.tick(now)
            if turns is not None:
                turns.mark("gc_policy")
        if not self.options.background_commits:
            if self._commit_due.due(now):
                self.commit()
                if turns is not None:
                    turns.mark("commit")
            return applied
        self._move_commit_on()
        if self._pending is None and self._commit_due.due(now):
            self._begin_commit()
        if turns is not None:
            turns.mark("commit")
        return applied

    def _apply(self, record: Record) -> None:
        self.processor.apply(record)
        self._next[record.topic, record.partition] = record.offset + 1

    def _waits(self, record: Record) -> bool:
        """Whether the record waits for the pending commit (order kept per partition)."""
        return record.partition in self._held or (
            self.marks is not None and self.marks.waits(record.partition, record.timestamp_ms))

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            raise KafkaException(err)
        log.warning("consumer error", error=str(err))

    def commit(self, release: bool = True) -> None:
        """Commit and wait: the processor's writes, then the offsets of every record
        applied. A commit in the background is taken over (its offsets go with this one);
        records waiting for it are applied once this one is in (unless not ``release``:
        the loop stops or the partitions go, and their next owner applies them)."""
        if self._broken:
            raise RuntimeError("an earlier commit failed: nothing more is committed")
        self._take_over_pending()
        try:
            wrote = self.processor.write()
        except BaseException:
            self._broken = True
            raise
        self._commit_due.reset(self.clock())
        marks = self._marks()
        offsets = self._offsets(marks)
        if not offsets:
            self._offsets_in([], {})  # nothing to commit: the commit is over
            return
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            if err is None or not _passing(err):
                raise
            # The group changed (broker restart, rebalance) or the broker is away: the
            # state is stored; the offsets are tried again at the next commit, or the
            # records come again after the next assignment and are recognised.
            log.warning("offsets not committed; tried again at the next commit",
                        error=str(err))
            return
        self._next.clear()
        self._offsets_in(offsets, marks)
        log.debug("committed", partitions=len(offsets), wrote=wrote)
        if release:
            self._release()

    # -- the commit in the background -----------------------------------------------------

    def _begin_commit(self) -> None:
        """Seal a commit: the offsets of every record applied so far; the processor begins
        its writes. The commit's marks are taken once the writes are in, just before its
        offsets are sent: a newer model is scheduled then, so that records wait for the
        commit (:meth:`CommitMarks.waits`) only while its offsets are on their way, never
        for its writes (thousands of states sent and stored a slice at a time)."""
        try:
            self.processor.start_write()
        except BaseException:
            self._broken = True
            raise
        self._commit_due.reset(self.clock())
        self._pending = _Commit(dict(self._next))
        self._next.clear()
        self._move_commit_on()

    def _move_commit_on(self) -> None:
        """The pending commit's next step, if it can be taken without waiting."""
        pending = self._pending
        if pending is None:
            return
        if not pending.sent:
            try:
                budget = (None if self._behind or self._held
                          else self.options.commit_slice_ms / 1000)
                if not self.processor.written(budget):
                    return
            except BaseException:
                self._broken = True
                raise
            # The marks of the records applied up to the seal, as the commit that waits
            # takes them after its writes; records applied since were decided by the last
            # commit's marks, and the processor schedules any newer model after them.
            pending.marks = self._marks(pending.positions)
            pending.offsets = self._offsets(pending.marks, pending.positions)
            if not pending.offsets:
                self._pending = None
                self._offsets_in([], {})  # nothing to commit: the commit is over
                self._release()
                return
            pending.sent = True
            self._answer = None
            try:
                self.consumer.commit(offsets=pending.offsets, asynchronous=True)
            except KafkaException as exc:
                self._answer = (exc.args[0] if exc.args else None, [])
            if self._answer is None:
                return
        if self._answer is None:
            return
        (err, partitions), self._answer = self._answer, None
        self._pending = None
        failed = err or next((tp.error for tp in partitions if tp.error is not None), None)
        assert pending.offsets is not None  # sent
        if failed is None:
            self._offsets_in(pending.offsets, pending.marks)
        elif isinstance(failed, KafkaError) and _passing(failed):
            # As for a commit that waits: the state is stored; the offsets go with the next.
            log.warning("offsets not committed; tried again at the next commit",
                        error=str(failed))
            self._merge_back(pending)
        else:
            self._broken = True
            raise KafkaException(failed)
        self._release()

    def _on_commit(self, err: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """librdkafka's answer to an offset commit sent without waiting (served in poll)."""
        if self._pending is not None and self._pending.sent:
            self._answer = (err, partitions)

    def _take_over_pending(self) -> None:
        """A commit that waits takes the pending one's offsets (records waiting for it wait
        for this one: it carries the same marks)."""
        pending = self._pending
        self._pending, self._answer = None, None
        if pending is not None:
            self._merge_back(pending)

    def _merge_back(self, pending: _Commit) -> None:
        """Offsets not known to be committed go with the next commit (newer ones win)."""
        if pending.offsets is None:  # not sent yet: the positions sealed
            for topic_partition, offset in pending.positions.items():
                self._next.setdefault(topic_partition, offset)
            return
        for tp in pending.offsets:
            self._next.setdefault((tp.topic, tp.partition), tp.offset)

    def _release(self) -> None:
        """Apply the waiting records, in order, that need not wait any more (the pending
        commit is in; after a failed one, those the next carries still wait)."""
        held, self._held = self._held, {}
        if not held:
            return
        turns = self.turns
        if turns is not None:
            turns.mark("commit")
        for records in held.values():
            for record in records:
                if self._waits(record):
                    self._held.setdefault(record.partition, []).append(record)
                else:
                    self._apply(record)
                    if turns is not None:
                        turns.released += 1
        if turns is not None:
            turns.mark("apply.held")

    def _drop_pending(self) -> None:
        """Forget the pending commit and held records (partitions moved: their new owners
        apply the records after the last commit again)."""
        self._pending, self._answer = None, None
        self._held.clear()

    # -- offsets and marks ----------------------------------------------------------------

    def _offsets(self, marks: Mapping[int, str],
                 positions: Mapping[tuple[str, int], int] | None = None) -> list[TopicPartition]:
        """The offsets of a commit: every partition with records since the last (the first
        topic's with their marks), and idle partitions whose mark changes. ``positions``:
        the next offset per (topic, partition) to commit (default: every record applied)."""
        primary = self.topics[0]
        positions = self._next if positions is None else positions
        offsets = [TopicPartition(topic, partition, offset)
                   if topic != primary or partition not in marks
                   else TopicPartition(topic, partition, offset, metadata=marks[partition])
                   for (topic, partition), offset in positions.items()]
        offsets += [TopicPartition(primary, partition, self._committed[partition][0],
                                   metadata=mark)
                    for partition, mark in marks.items() if (primary, partition) not in positions]
        return offsets

    def _offsets_in(self, offsets: list[TopicPartition], marks: Mapping[int, str]) -> None:
        """A commit of ``offsets`` with ``marks`` is in."""
        if self.marks is None:
            return
        primary = self.topics[0]
        for tp in offsets:
            if tp.topic == primary:
                self._committed[tp.partition] = (tp.offset, marks.get(tp.partition, ""))
        self.marks.committed(marks)

    def _marks(self, positions: Mapping[tuple[str, int], int] | None = None
               ) -> Mapping[int, str]:
        """The marks of this commit: every partition of the first topic with records since
        the last commit, and every idle one whose mark changes (a newer model).
        ``positions``: as for :meth:`_offsets`."""
        if self.marks is None:
            return {}
        primary = self.topics[0]
        sealed = self._next if positions is None else positions
        active = {partition: offset for (topic, partition), offset in sealed.items()
                  if topic == primary}
        at = {partition: offset for partition, (offset, _) in self._committed.items()
              if partition in self.assignment}
        at.update(active)
        return {partition: mark for partition, mark in self.marks.marks(at).items()
                if partition in active or mark != self._committed.get(partition, (0, ""))[1]}


@dataclass
class _Commit:
    """A commit in the background: the positions sealed, then (once its writes are in) its
    marks and offsets, and whether the offsets are sent."""

    #: The next offset per (topic, partition) of the records applied up to the seal.
    positions: dict[tuple[str, int], int]
    marks: Mapping[int, str] = field(default_factory=dict)
    offsets: list[TopicPartition] | None = None
    sent: bool = False
    #: When it was sealed (monotonic clock, s).
    begun: float = field(default_factory=time.monotonic)
