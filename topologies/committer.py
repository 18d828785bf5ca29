"""The worker's commit: what makes a crash lose nothing and apply nothing twice.

Records are applied in memory: visitor states and profile views are *staged*,
outputs are sent without waiting. Every :class:`~pipeline.engine.commits.CommitPolicy`
interval (and on shutdown) a commit

1. waits until the broker has acknowledged every output sent so far,
2. writes the learner checkpoint (with a commit sequence number),
3. writes every staged change (local RocksDB at once, changelog awaited),
4. acknowledges the input records, so Faust may commit their offsets.

A crash anywhere before 4 delivers the records after the last committed offsets
again: their outputs go out again with the same decision ids (delivery deduplicates
by id), the learner applies them again harmlessly (see :mod:`pipeline.engine.commits`),
and a visitor state already stored is recognised by its source offset. When partitions
are revoked, everything since the last commit is dropped, the learner included (it goes
back to the last checkpoint written), and nothing is applied until the new assignment:
the owners apply those records again. A commit that fails or hangs crashes the worker
(its restart is safe by the same argument) rather than stalling it.

Records are applied in offset order, each once, per partition (:meth:`Committer.admit`):
the consumer library drops records fetched during a rebalance and would then commit
past them; a record beyond the next expected offset makes the worker read the partition
again from there, so that what is acknowledged never has a hole. A partition with records
waiting that applies none for a while is read again too (the dropped records may have
been its last), and Faust's "gap" bookkeeping, which counts an offset jump as
acknowledged, is switched off for the inputs.

Each worker process keeps its checkpoint under its own key (``learner:<worker id>``, the
id kept in its data folder), so a restart on the same folder finds its own lineage; a
worker on a new folder adopts the most recently written checkpoint it is given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import structlog
from faust.types import TP, AppT, EventT, StreamT

from pipeline.engine import Engine, EngineOptions, Learner, VisitorState
from pipeline.engine.cache import StateCache
from pipeline.engine.commits import (
    CommitPolicy,
    checkpoint_learner,
    checkpoint_sequence,
    checkpoint_value,
    checkpoint_written_ms,
)
from pipeline.engine.positions import Admission, Positions
from pipeline.engine.staging import Change, Staging
from pipeline.topics.admin import TopicAdminError
from topologies.partition_table import PartitionTable

__all__ = ["LEARNERS", "VIEWS", "VISITORS", "Committer"]

log = structlog.get_logger(__name__)

#: Table names (Faust appends ``-changelog`` for the topic).
VISITORS, VIEWS, LEARNERS = "visitors", "visitor-profiles", "learners"
_LEARNER_PREFIX = b"learner"
#: How long a commit waits for the broker before it gives up and crashes the worker.
_COMMIT_TIMEOUT_S = 120.0
#: Outputs kept in flight between commits before finished ones are pruned.
_PRUNE_AT = 10_000


#: Reads where the worker's consumer group continues each of the partitions given.
GroupPositions = Callable[[list[TP]], Awaitable[Mapping[TP, int]]]


class Committer:
    """Staged state, outputs in flight and records to acknowledge, of one worker."""

    def __init__(self, app: AppT, tables: dict[str, PartitionTable], engine: Engine,
                 engine_options: EngineOptions, policy: CommitPolicy, events_topic: str,
                 clock: Callable[[], float], worker_id: str, partitions: int,
                 input_topics: Iterable[str], group_positions: GroupPositions) -> None:
        self.app = app
        self.learner_key = _LEARNER_PREFIX + b":" + worker_id.encode()
        self.partitions = partitions
        self.tables = tables
        self.engine = engine
        self.engine_options = engine_options
        self.policy = policy
        self.events_topic = events_topic
        self.input_topics = frozenset(input_topics)
        self._group_positions = group_positions
        self.positions: Positions[TP] = Positions()
        #: The consumer generation :attr:`positions` were started for.
        self._positions_generation: int | None = None
        self.clock = clock
        self.staging: Staging[Any] = Staging()
        self.cache: StateCache[VisitorState] = StateCache()
        self._in_flight: list[asyncio.Future[Any]] = []
        self._to_ack: list[tuple[StreamT[Any], EventT[Any]]] = []
        self._applied = 0
        self._sequence = 0
        #: Bumped when partitions move: a commit that started before is abandoned.
        self._generation = 0
        #: Whether this process has applied nothing yet (it may adopt a stored learner).
        self._fresh = True
        self._restore_due = True
        #: Between a revocation and the next assignment: apply nothing.
        self.suspended = False
        #: The learner as of the last commit (what a revocation goes back to).
        self._committed_learner: bytes | None = None
        self._lock = asyncio.Lock()

    # -- reads and staged writes --------------------------------------------------------

    def visitor(self, partition: int, key: bytes) -> VisitorState | None:
        """The visitor's latest state: staged, cached, or stored."""
        staged, value = self.staging.get(VISITORS, key)
        if staged:
            return value
        state = self.cache.get(key)
        if state is None:
            stored = self.tables[VISITORS].get(partition, key)
            if stored is not None:
                state = VisitorState.from_bytes(stored)
                self.cache.put(key, state)
        return state

    def stage_visitor(self, partition: int, key: bytes, state: VisitorState | None) -> None:
        """Change the visitor's state (None: delete it) at the next commit."""
        self.staging.put(VISITORS, key, partition, state)
        if state is None:
            self.cache.forget(key)
        else:
            self.cache.put(key, state)

    def forget(self, key: bytes) -> None:
        """Drop a decoded state that may be half-updated (the staged or stored one stays)."""
        self.cache.forget(key)

    def view(self, partition: int, key: bytes) -> bytes | None:
        """The visitor's profile view, encoded: staged or stored."""
        staged, value = self.staging.get(VIEWS, key)
        return value if staged else self.tables[VIEWS].get(partition, key)

    def stage_view(self, partition: int, key: bytes, value: bytes | None) -> None:
        """Change the visitor's profile view (None: delete it) at the next commit."""
        self.staging.put(VIEWS, key, partition, value)

    def visitors_in(self, partition: int) -> Iterable[tuple[bytes, VisitorState | None]]:
        """Every visitor of a partition with its latest state (staged over stored).

        Staged deletions are left out; an unreadable stored state comes as None.
        """
        staged = {c.key: c.value for c in self.staging.in_partition(VISITORS, partition)}
        yield from ((key, state) for key, state in staged.items() if state is not None)
        for key, value in self.tables[VISITORS].items(partition):
            if key not in staged:
                try:
                    yield key, VisitorState.from_bytes(value)
                except ValueError:
                    yield key, None  # unreadable (an older format): the sweep deletes it

    def send(self, future: asyncio.Future[Any]) -> None:
        """An output was sent: the next commit waits for its acknowledgement."""
        self._in_flight.append(future)
        if len(self._in_flight) >= _PRUNE_AT:  # acknowledged ones need no waiting
            self._in_flight = [f for f in self._in_flight
                               if not f.done() or f.cancelled() or f.exception()]

    def applied(self, stream: StreamT[Any], event: EventT[Any]) -> None:
        """A record was applied: acknowledge it at the next commit."""
        self._to_ack.append((stream, event))
        self._applied += 1
        self._fresh = False

    # -- partitions -----------------------------------------------------------------------

    def owned_partitions(self) -> set[int]:
        """Partitions of the events topic assigned to this worker (active, not standby)."""
        return {tp.partition for tp in self.app.assignor.assigned_actives()
                if tp.topic == self.events_topic}

    def on_assigned(self) -> None:
        """New assignment: read states afresh, look for a stored learner before applying."""
        self._drop_uncommitted()
        self._restore_due = True
        self.suspended = False
        log.info("partitions assigned; applying records", owned=sorted(self.owned_partitions()))

    def on_revoked(self) -> None:
        """Partitions move: drop everything since the last commit (the learner's part too);
        the owners apply it again. Nothing is applied until the next assignment."""
        self.suspended = True
        self._generation += 1
        dropped = self._applied
        self._drop_uncommitted()
        log.info("partitions revoked; applying nothing until the next assignment",
                 dropped_records=dropped)
        if not self._fresh:
            self.engine.learner = (
                Learner.from_bytes(self._committed_learner, self.engine_options)
                if self._committed_learner is not None else Learner.new(self.engine_options))

    def _drop_uncommitted(self) -> None:
        self.positions.clear()
        self._positions_generation = None
        self.staging.clear()
        self.cache.clear()
        self._to_ack.clear()
        self._applied = 0

    async def positions_known(self, generation: int) -> bool:
        """Whether it is known where each partition continues in consumer ``generation``
        (asked of the broker once per generation); see :meth:`admit`."""
        if self._positions_generation == generation:
            return True
        self._ignore_gaps_in_inputs()
        ours = [tp for tp in self.app.assignor.assigned_actives()
                if tp.topic in self.input_topics]
        try:
            continue_from = await self._group_positions(ours)
        except TopicAdminError as exc:  # the records come again: a gap is read again
            log.warning("committed offsets unknown; records skipped", error=str(exc))
            return False
        if self.app.consumer_generation_id != generation or self.suspended:
            return False  # the generation moved on meanwhile
        self.positions.start({tp: continue_from[tp] for tp in ours})
        self._positions_generation = generation
        return True

    async def admit(self, event: EventT[Any]) -> bool:
        """Whether ``event`` is the next record of its partition to apply (see
        :mod:`pipeline.engine.positions`); where records went missing, the partition is
        read again from the first missing one."""
        message = event.message
        admission = self.positions.admit(message.tp, message.offset)
        if admission is Admission.REWIND:
            await self._rewind(message.tp, message.offset)
            admission = self.positions.admit(message.tp, message.offset)
        return admission is Admission.APPLY

    async def read_stalled_again(self, after_s: float, rewinding_after_s: float) -> None:
        """Read again from the expected offset any partition that has records beyond it
        but has applied none for ``after_s`` (``rewinding_after_s`` when a seek back
        brought nothing yet): records dropped by the consumer with none after them to
        reveal the hole, or a seek undone by records fetched before it (see :meth:`admit`).
        """
        if self.suspended:
            return
        generation = self.app.consumer_generation_id
        async with self._lock:
            if not await self.positions_known(generation):
                return
            for tp in self.positions.partitions():
                try:
                    end = self.app.consumer.highwater(tp)
                except Exception:  # not known yet (nothing fetched): nothing to compare
                    continue
                wait = rewinding_after_s if self.positions.rewinding(tp) else after_s
                if end is None or not self.positions.stalled(tp, end, self.clock(), wait):
                    continue
                expected = self.positions.expected(tp)
                assert expected is not None  # stalled() is only said of a partition of ours
                log.warning("partition applies nothing though records wait; reading it again",
                            topic=tp.topic, partition=tp.partition, expected=expected, end=end)
                await self._seek(tp, expected)

    async def _seek(self, tp: TP, offset: int) -> None:
        self._ignore_gaps_in_inputs()
        try:
            await self.app.consumer.seek_wait({tp: offset})
        except Exception as exc:  # e.g. revoked meanwhile; the stall check tries again
            log.warning("seek failed", topic=tp.topic, partition=tp.partition,
                        offset=offset, error=repr(exc))

    def _ignore_gaps_in_inputs(self) -> None:
        """faust-streaming takes an offset jump between two fetched records for a compaction
        gap and counts the records in it as acknowledged: a record fetched before a seek
        back and delivered after it would let Faust commit past records not applied yet.
        Our inputs are neither compacted nor transactional, so they have no real gaps."""
        consumer: Any = self.app.consumer
        add_gap = consumer._add_gap
        if getattr(add_gap, "rtp_inputs_ignored", False):
            return

        async def add_gap_elsewhere(tp: TP, offset_from: int, offset_to: int) -> None:
            if tp.topic not in self.input_topics:
                await add_gap(tp, offset_from, offset_to)

        add_gap_elsewhere.rtp_inputs_ignored = True  # type: ignore[attr-defined]
        consumer._add_gap = add_gap_elsewhere
        for tp in [tp for tp in consumer._gap if tp.topic in self.input_topics]:
            consumer._gap.pop(tp, None)

    async def _rewind(self, tp: TP, offset: int) -> None:
        expected = self.positions.expected(tp)
        assert expected is not None  # REWIND is only said of a partition of ours
        try:
            earliest = (await self.app.consumer.earliest_offsets(tp)).get(tp, 0)
        except Exception as exc:  # broker trouble: read again anyway; asked again if in vain
            log.warning("earliest offset unknown", topic=tp.topic, error=repr(exc))
            earliest = 0
        if earliest > expected:
            log.warning("records deleted before they were applied (retention)",
                        topic=tp.topic, partition=tp.partition, expected=expected,
                        earliest=earliest)
            self.positions.skip_to(tp, earliest)
            return
        log.info("records missing from the stream; reading the partition again",
                 topic=tp.topic, partition=tp.partition, expected=expected, got=offset)
        await self._seek(tp, expected)

    def _stored_checkpoints(self, partitions: Iterable[int]) -> list[tuple[int, bytes, bytes]]:
        """(partition, key, value) of every learner checkpoint stored in ``partitions``."""
        found = []
        for partition in partitions:
            for key, value in self.tables[LEARNERS].items(partition):
                if key.startswith(_LEARNER_PREFIX):
                    found.append((partition, key, value))
        return found

    def restore(self) -> None:
        """Before the first records of an assignment: adopt a stored learner if fresh.

        Only a process that has applied nothing yet adopts one: its own lineage's newest
        checkpoint (a restart on the same folder; looked for in every partition it has
        on disk), else the most recently written one among the partitions it was given
        (a worker replacing a dead one). A running worker keeps learning with its own.
        """
        if not self._restore_due:
            return
        self._restore_due = False
        if not self._fresh:
            return
        local = [p for p in range(self.partitions) if self.tables[LEARNERS].on_disk(p)]
        own = sorted(((checkpoint_sequence(v), p, v)
                      for p, k, v in self._stored_checkpoints(local) if k == self.learner_key),
                     reverse=True)
        others = sorted(((checkpoint_written_ms(v), p, v)
                         for p, _, v in self._stored_checkpoints(self.owned_partitions())),
                        reverse=True)
        for _, partition, value in own or others:
            try:
                self.engine.learner = Learner.from_bytes(checkpoint_learner(value),
                                                         self.engine_options)
            except ValueError as exc:  # other versions are refused, never half-loaded
                log.warning("learner checkpoint refused", partition=partition, reason=str(exc))
                continue
            self._committed_learner = checkpoint_learner(value)
            if own:
                self._sequence = max(self._sequence, checkpoint_sequence(value))
            log.info("learner restored", partition=partition, own=bool(own),
                     sequence=checkpoint_sequence(value), updates=self.engine.learner.updates)
            return

    # -- the commit -----------------------------------------------------------------------

    @property
    def lock(self) -> asyncio.Lock:
        """Held by a commit; the agent applies a batch under it too, so that a commit (from
        the timer) never runs while records are half applied: the learner checkpoint then
        holds exactly the records whose states the same commit writes."""
        return self._lock

    async def commit(self, force: bool = False) -> None:
        """Commit if the policy says so (or ``force``); see the module docstring."""
        async with self._lock:
            await self.commit_locked(force)

    async def commit_locked(self, force: bool = False) -> None:
        """:meth:`commit` for a caller that holds :attr:`lock` already."""
        if force or self.policy.due(self._applied, self.clock()):
            await asyncio.wait_for(self._commit_locked(), _COMMIT_TIMEOUT_S)

    async def _commit_locked(self) -> None:
        generation = self._generation
        in_flight, self._in_flight = self._in_flight, []
        acks, self._to_ack = self._to_ack, []
        self._applied = 0
        changes = self.staging.take()
        try:
            await asyncio.gather(*in_flight)
            if generation != self._generation or not (acks or changes):
                return  # partitions moved while waiting: nothing of this is ours to store
            # The checkpoint is acknowledged before any state is written, on the changelogs
            # as locally: whoever restores the states finds a learner at least as recent.
            await self._write_learner()
            if generation != self._generation:
                return  # revoked while the checkpoint was written: the states are not ours
            await asyncio.gather(*(self._write(c) for c in changes))
        finally:
            self.staging.done()
        self.policy.committed(self.clock())
        if generation == self._generation:
            for stream, event in acks:
                await stream.ack(event)

    def _write_learner(self) -> asyncio.Future[Any]:
        owned = self.owned_partitions()
        if not owned:
            done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        self._sequence += 1
        learner = self.engine.learner.to_bytes()
        self._committed_learner = learner
        value = checkpoint_value(self._sequence, learner, int(self.clock() * 1000))
        # One partition holds the worker's checkpoint; the lowest owned one is as good as any.
        return self.tables[LEARNERS].write(min(owned), self.learner_key, value)

    def _write(self, change: Change[Any]) -> asyncio.Future[Any]:
        value = change.value
        if isinstance(value, VisitorState):
            value = value.to_bytes()
        return self.tables[change.table].write(change.partition, change.key, value)
