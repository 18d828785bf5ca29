"""The decision path: per-visitor records through the engine, on a librdkafka loop.

:class:`DecisionPath` is the :class:`~topologies.loop.loop.Processor` of ``rtp worker``.
It reads everything keyed by visitor id (co-partitioned, so one worker owns a visitor's
events, outcomes and profile views together):

- ``clickstream.events``  → engine.on_event → signals, actions, decision log, conversions,
  learning records
- ``personalization.outcomes`` → engine.on_outcome (rewards, dismissals)
- ``rtp.internal.visitor-profiles`` (from the profile side) → views, consent, erasure
- ``profiles.updates``: consent answers and erasures of the update's own visitor id, applied
  at once (:mod:`pipeline.profiles.direct`); the loop applies these two inputs before the
  events of the same batch, so page views sent with an opt-out are not decided. An update
  on another partition than its visitor's (keyed by user id, or by a producer with another
  partitioner) is re-keyed to the internal topic, on the visitor's partition
  (:func:`~pipeline.topics.partitioning.partition_for`).

Between batches it fires the detector timers that fell due (a dwell on Shipping & Returns,
a dead-click window: a per-partition index of due times, asked on every turn of the loop,
the engine deciding at each due time as for an event), expires the rewards that fell due
(a timer index of the visitors' deadlines) and deletes expired visitor states (session
TTL, a chunked sweep that also expires rewards the index lost in a restart and rebuilds
the timer index of a partition as soon as it is assigned); it takes the learner's newest
model snapshot when :class:`~topologies.model_feed.ModelFeed` has one, and the newest
published config when :class:`~topologies.config_feed.ConfigFeed` has one (an engine per
config version). A partition moves to a newer model or config only at a commit, whose
offset metadata names the snapshot and the config version it decides with from then on
(``rtp-model=5@50;rtp-config=3@2``); a new owner redoes the partition's uncommitted records
with those (:mod:`pipeline.learning.pins`), so a redone decision is the one made before.
The worker learns nothing itself: rewards and labels go to ``personalization.learning``
for the learner service. Outputs are produced without waiting. Its commit (called by the loop):

1. every output sent so far acknowledged by the broker,
2. every visitor state and profile view changed since the last commit written
   (changelog acknowledged, then locally),
3. (the loop) the input offsets committed.

A crash anywhere before 3 delivers the records after the committed offsets again:
their outputs go out again with the same ids and content (same state, same event, same
model, seeded exploration), the learner keeps the first learning record of an id, and an
event already in a stored visitor state is recognised by its source offset. Tables are
RocksDB stores per partition with compacted changelogs (:mod:`topologies.loop`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from pipeline.config import ConfigRef, RtpConfig, engine_options, live_problems
from pipeline.config.ref import MARK_PREFIX as CONFIG_MARK
from pipeline.config.ref import STARTUP
from pipeline.engine import Engine, VisitorState
from pipeline.engine.answers import answer_output
from pipeline.engine.cache import StateCache
from pipeline.engine.deadlines import Deadlines
from pipeline.engine.event_clock import EventClock
from pipeline.engine.routing import LATE, Output, event_outputs, learning_outputs, timer_outputs
from pipeline.learning import Model, ModelPins, ModelRef
from pipeline.learning.commit_mark import join_marks, mark_part
from pipeline.learning.pins import Schedule, VersionPins, parse_schedule
from pipeline.profiles import (
    ProfileView,
    VisitorMessage,
    decode_view,
    decode_visitor_message,
    encode_visitor_message,
    privacy_message,
    visitor_side_change,
)
from pipeline.serde import (
    Codec,
    LateEvent,
    MeaningRules,
    MessageGate,
    ProcessingError,
    Rejected,
    SerdeError,
)
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, DECISIONS_LOG, EVENTS, OUTCOMES, PROFILES, SIGNALS
from pipeline.topics.headers import is_awaited
from pipeline.topics.partitioning import partition_for
from topologies.config_feed import ConfigFeed, Published
from topologies.loop.loop import Record
from topologies.loop.outputs import OutputError, Outputs
from topologies.loop.tables import Tables
from topologies.loop.timers import Interval
from topologies.loop.turns import LoopTurns
from topologies.metrics import WorkerMetrics
from topologies.model_feed import ModelFeed, Snapshot

__all__ = ["VIEWS", "VISITORS", "VISITOR_PROFILES", "DecisionPath", "PathOptions"]

log = structlog.get_logger(__name__)

#: How a commit mark's model part starts (:meth:`ModelRef.mark`).
_MODEL_MARK = "rtp-model"

#: Table names (the changelog topic is ``<group>-<table>-changelog``).
VISITORS, VIEWS = "visitors", "visitor-profiles"
#: Internal topic: profile views re-keyed by visitor id (written by the profile side).
VISITOR_PROFILES = "rtp.internal.visitor-profiles"


@dataclass(frozen=True)
class PathOptions:
    """How the decision path commits and expires state.

    >>> PathOptions().commit_timeout_s
    120.0
    """

    #: How long a commit waits for the broker before it fails (and the worker stops).
    commit_timeout_s: float = 120.0
    #: Expired visitor states (session TTL) are deleted this often, per partition, seconds.
    sweep_every_s: float = 60.0
    #: Visitor states a sweep looks at per turn of the loop (~20 µs each to decode).
    sweep_chunk: int = 200
    #: Visitors whose reward fell due handled per turn of the loop, at most.
    expire_chunk: int = 200
    #: Visitors whose detector timer fell due handled per turn of the loop, at most.
    timer_chunk: int = 200
    #: A partition's timers fire on the wall clock only once nothing was applied in it for
    #: this long, ms (:class:`~pipeline.engine.event_clock.EventClock`); before that, at
    #: its newest event time, so that records still coming decide first.
    timers_idle_after_ms: int = 1_000
    #: A newer model snapshot (or config version) decides the records stamped from this
    #: long after the commit that schedules it takes its marks, ms, at least (and after
    #: every record applied since the commit was sealed). The loop takes them once the
    #: commit's writes are in, just before its offsets go: records stamped later that come
    #: before the offsets are in wait for them (see pipeline/learning/pins.py).
    switch_margin_ms: int = 500


class DecisionPath:
    """Reads, calls the engine, stages state, writes: one worker's stream adapter."""

    def __init__(self, settings: Settings, engine: Engine,
                 tables: Tables, outputs: Outputs, models: ModelFeed | None = None,
                 options: PathOptions | None = None,
                 clock: Callable[[], float] = time.time,
                 metrics: WorkerMetrics | None = None,
                 configs: ConfigFeed | None = None) -> None:
        self.settings = settings
        #: Counted as the path goes (the worker serves them on its /metrics).
        self.metrics = metrics or WorkerMetrics()
        #: The engine of the partition being applied (one per config version in use).
        self.engine = engine
        #: The startup engine (version 0: the ``--config`` file and flags).
        self.startup = engine
        self.configs = configs
        self.tables = tables
        self.outputs = outputs
        self.options = options or PathOptions()
        self.clock = clock
        self.models = models
        self.cache: StateCache[VisitorState] = StateCache()
        codec = Codec.default()
        self.codec = codec
        rules = MeaningRules(max_future_skew_ms=settings.max_future_skew_ms)
        group = tables.group
        self.gates = {
            settings.topic(EVENTS): MessageGate(codec, ("ClickEvent",), rules, worker=group),
            settings.topic(OUTCOMES): MessageGate(codec, ("Outcome",), rules, worker=group),
            settings.topic(PROFILES): MessageGate(codec, ("ProfileUpdate",), rules,
                                                  worker=group),
        }
        self._events_topic = settings.topic(EVENTS)
        #: Output topic names under the settings' prefix, by unprefixed name.
        self._topics: dict[str, str] = {}
        #: :meth:`Codec.encoder` by schema name.
        self._encoders: dict[str, Callable[[dict[str, Any]], bytes]] = {}
        self._apply = {settings.topic(EVENTS): self._apply_event,
                       settings.topic(OUTCOMES): self._apply_outcome,
                       settings.topic(VISITOR_PROFILES): self._apply_visitor_profile,
                       settings.topic(PROFILES): self._apply_profile_update}
        #: Per partition: when its visitors' pending rewards fall due (event time), and
        #: the newest event time applied (the reward wait is in event time, per partition:
        #: a partition that lags is not expired by one that is ahead).
        self.deadlines: dict[int, Deadlines[bytes]] = {}
        #: Per partition: event time now (its newest event time, moved on by the wall clock)
        #: and when its visitors' detector timers fall due (event time).
        self.event_clock = EventClock(self.options.timers_idle_after_ms)
        self.timers: dict[int, Deadlines[bytes]] = {}
        #: Whether a partition's input has records not applied yet (the consumer loop's
        #: :meth:`~topologies.loop.loop.ConsumerLoop.behind`; never, without a loop).
        self.input_behind: Callable[[int], bool] = lambda partition: False
        #: The consumer loop's turn timer: the tick's and the commit's steps are marked as
        #: phases of their own (None: not timed).
        self.turns: LoopTurns | None = None
        self._sweep = Interval(self.options.sweep_every_s / max(settings.partitions, 1))
        self._sweep_next = 0
        #: Partitions assigned and not swept since: swept first (their timers are found).
        self._unswept: set[int] = set()
        self._sweep_partition = 0
        #: Where the sweep of the current partition goes on (None: between passes).
        self._sweep_after: bytes | None = None
        self.applied = 0
        #: The commit's writes in progress (:meth:`start_write`), if any.
        self._writing: _Write | None = None
        #: The newest record timestamp applied since the last seal (ms; -1: none).
        self._stamped_ms = -1
        #: The model each partition decides with (moved at commits, named in their marks).
        self.pins: ModelPins[Model] = ModelPins()
        self.pins.offer(ModelRef(engine.model.version, -1), engine.model)
        #: Logs when every partition decides with a newer snapshot or config version.
        self.in_use_log = InUseLog()
        #: The engine (config version) each partition decides with, moved like the model.
        self.config_pins: VersionPins[ConfigRef, Engine] = VersionPins()
        self.config_pins.offer(STARTUP, engine)

    # -- models ---------------------------------------------------------------------------

    def offer_model(self, snapshot: Snapshot) -> None:
        """A newer snapshot: each partition's next commit schedules it (it decides the records
        stamped from a moment a little after that commit's seal on)."""
        self.pins.offer(snapshot.ref, snapshot.model)
        log.info("model snapshot received", version=snapshot.ref.version)

    def resume(self, partition: int, mark: str, end_offset: int) -> str | None:
        """The partition is ours: redo what its last owner did not commit with the model
        and the config that owner used (the snapshot and version the last commit's mark
        names); a partition without a mark (or a mark written before configs were
        published: no config part) gets the newest's (returned: the loop commits it
        before any record)."""
        models = _schedule_of(mark_part(mark, _MODEL_MARK), ModelRef.from_mark,
                              self._model_at, "snapshot", partition)
        first = self.pins.resume(partition, models, end_offset)
        configs = _schedule_of(mark_part(mark, CONFIG_MARK), ConfigRef.from_mark,
                               self._engine_at, "config version", partition)
        first_config = self.config_pins.resume(partition, configs, end_offset)
        if first is None and first_config is None:
            return None
        model_in_use = self.pins.in_use().get(partition)
        config_in_use = self.config_pins.in_use().get(partition)
        return join_marks([model_in_use.mark() if model_in_use is not None else "",
                           config_in_use.mark() if config_in_use is not None else ""])

    def marks(self, positions: Mapping[int, int]) -> Mapping[int, str]:
        """The commit's marks: the snapshot and config version that decide each committed
        partition's records from then on (a newer one for the records stamped from a
        moment a little ahead: :attr:`PathOptions.switch_margin_ms`)."""
        # After every record applied since the seal (decided by the last commit's marks,
        # and redone by these after a crash), even one stamped ahead of this clock.
        switch_at_ms = max(self._now_ms() + self.options.switch_margin_ms,
                           self._stamped_ms + 1)
        models = self.pins.marks(positions, switch_at_ms)
        configs = self.config_pins.marks(positions, switch_at_ms)
        return {partition: join_marks([models.get(partition, ""), configs.get(partition, "")])
                for partition in positions if partition in models or partition in configs}

    def waits(self, partition: int, timestamp_ms: int) -> bool:
        """Whether the partition's record stamped ``timestamp_ms`` waits for the commit being
        written (which decides it with another snapshot or config version than the last)."""
        return (self.pins.waits(partition, timestamp_ms)
                or self.config_pins.waits(partition, timestamp_ms))

    def committed(self, partitions: Iterable[int]) -> None:
        """The commit with the marks is in: the partitions' schedules hold."""
        partitions = list(partitions)
        self.pins.committed(partitions)
        self.config_pins.committed(partitions)
        self.in_use_log.scheduled("model snapshot in use", self.pins.schedules())
        self.in_use_log.scheduled("config version in use", self.config_pins.schedules())

    # -- configs --------------------------------------------------------------------------

    def offer_config(self, published: Published) -> None:
        """A newer published config: each partition's next commit schedules it, as a snapshot
        (refused, with an error logged, when it cannot replace the running one live)."""
        engine = self._engine_of(published.ref, published.config)
        if engine is not None:
            self.config_pins.offer(published.ref, engine)
            log.info("config version received", version=published.ref.version)

    def _engine_of(self, ref: ConfigRef, config: RtpConfig) -> Engine | None:
        options = engine_options(config, base=self.startup.options)
        problems = live_problems(self.startup.options, options)
        if problems:
            log.error("published config not applied: it cannot change live",
                      version=ref.version, problems=problems)
            return None
        return Engine(options, learn_inline=False, config_version=ref.version,
                      story=self.startup.story)  # the test-only override, if on, holds too

    def _engine_at(self, ref: ConfigRef) -> Engine | None:
        engine = self.config_pins.known().get(ref)
        if engine is not None:
            return engine
        if ref == STARTUP:  # this worker's startup config (the last owner's may differ)
            return self.startup
        config = self.configs.get(ref) if self.configs is not None else None
        return self._engine_of(ref, config) if config is not None else None

    def _model_at(self, ref: ModelRef) -> Model | None:
        model = self.pins.known().get(ref)
        if model is not None:
            return model
        if ref.offset < 0:  # the untrained model every worker starts from
            return Model.new(self.engine.options) if ref.version == 0 else None
        return self.models.fetch(ref) if self.models is not None else None

    def _decide_with(self, partition: int, timestamp_ms: int) -> None:
        """Decide the partition's record stamped ``timestamp_ms`` (a timer's: its due time)
        with the engine of its config version and its model."""
        engine = self.config_pins.model_for(partition, timestamp_ms)
        if engine is not None:
            self.engine = engine
        model = self.pins.model_for(partition, timestamp_ms)
        if model is not None and self.engine.model is not model:
            self.engine.use(model)

    # -- partitions -----------------------------------------------------------------------

    def assigned(self, partitions: list[int]) -> None:
        """Open and catch up the stores; the folders of partitions no longer ours go (the
        range assignor's assignment is whole)."""
        self.tables.assign(partitions)
        self._unswept |= set(partitions)  # the next sweeps rebuild their timer index
        # restored timers wait for the partitions' records (or for them to be idle)
        self.event_clock.assigned(partitions, self._now_ms())
        pruned = self.tables.prune()
        if pruned:
            log.info("stores of partitions no longer assigned deleted", partitions=pruned)

    def revoked(self, partitions: list[int]) -> None:
        """Close the stores of ``partitions`` (the loop committed everything before)."""
        self.tables.revoke(partitions)
        self.pins.forget(partitions)
        self.config_pins.forget(partitions)
        self.cache.clear()
        self.deadlines.clear()  # the sweep finds the rewards due of what stays ours
        for partition in partitions:  # a revoked partition's timers go with it
            self.timers.pop(partition, None)
        self.event_clock.forget(partitions)
        self._unswept -= set(partitions)
        self._sweep_after = None  # the partition being swept may be gone: start afresh

    def lost(self) -> None:
        """Drop everything since the last commit."""
        self.tables.drop_uncommitted()
        self._writing = None  # its states reflect records the new owners apply again
        self.tables.close()
        self.pins.forget(list(self.pins.in_use()))
        self.config_pins.forget(list(self.config_pins.in_use()))
        self.cache.clear()
        self.deadlines.clear()
        self.timers.clear()
        self.event_clock.forget()
        self._unswept.clear()
        self._sweep_after = None

    # -- records --------------------------------------------------------------------------

    def apply(self, message: Record) -> None:
        """Apply one record; a failure costs that record (dead-lettered), not the worker."""
        self.applied += 1
        if message.timestamp_ms > self._stamped_ms:
            self._stamped_ms = message.timestamp_ms
        if message.topic == self._events_topic:
            self.metrics.event()
        try:
            self._apply[message.topic](message)
        except Exception:  # a bug must cost one record, not the worker
            log.exception("record failed", topic=message.topic, offset=message.offset)

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _admitted(self, message: Record) -> dict[str, Any] | None:
        result = self.gates[message.topic].record(
            message.value, key=message.key, topic=message.topic,
            partition=message.partition, offset=message.offset, now_ms=self._now_ms())
        if not isinstance(result, Rejected):
            return result
        self._dead_letter(result)
        return None

    def _dead_letter(self, rejected: Rejected) -> None:
        self.metrics.dead_letter(str(rejected.dead_letter["source_topic"]), rejected.reason)
        value = self.codec.encode("DeadLetter", rejected.dead_letter)
        self.outputs.send(rejected.dlq_topic, rejected.key, value)

    def _reject(self, message: Record, error: SerdeError) -> None:
        self._dead_letter(self.gates[message.topic].reject(
            error, value=message.value, key=message.key, topic=message.topic,
            partition=message.partition, offset=message.offset, now_ms=self._now_ms()))

    def _write(self, outputs: list[Output], message: Record) -> bool:
        """Send an event's outputs in order (a late event's dead letter at its place);
        whether a decision was logged."""
        decided = False
        todo: list[Output] = []
        for out in outputs:
            if out.topic == LATE:
                decided = self._send(todo) or decided
                todo = []
                self._reject(message, LateEvent(str(out.record["reason"])))
            else:
                todo.append(out)
        return self._send(todo) or decided

    def _view(self, partition: int, key: bytes) -> ProfileView | None:
        _, view_bytes = self.tables.get(VIEWS, partition, key)
        return decode_view(view_bytes) if view_bytes is not None else None

    def visitor(self, partition: int, key: bytes) -> VisitorState | None:
        """The visitor's latest state: staged, cached, or stored (the store is read only
        when the cache has no state: a cached one is what the worker last stored)."""
        tables = self.tables
        staged, value = tables.staged(VISITORS, key)
        if staged:
            return value
        state = self.cache.get(key)
        if state is None:
            value = tables.stored(VISITORS, partition, key)
            if value is not None:
                state = VisitorState.from_bytes(value)
                self.cache.put(key, state)
        return state

    def stage_visitor(self, partition: int, key: bytes, state: VisitorState | None) -> None:
        """Change the visitor's state (None: delete it) at the next commit."""
        self.tables.stage(VISITORS, partition, key, state)
        if state is None:
            self.cache.forget(key)
        else:
            self.cache.put(key, state)
            due = state.next_deadline_ms()
            if due is not None:
                deadlines = self.deadlines.get(partition)
                if deadlines is None:
                    deadlines = self.deadlines[partition] = Deadlines()
                deadlines.add(key, due)
            self._remember_timer(partition, key, state)

    def _remember_timer(self, partition: int, key: bytes, state: VisitorState) -> None:
        due = self.engine.timer_due_ms(state)
        if due is not None:
            timers = self.timers.get(partition)
            if timers is None:
                timers = self.timers[partition] = Deadlines()
            timers.add(key, due)

    def _advance(self, partition: int, event_time_ms: int) -> None:
        self.event_clock.advance(partition, event_time_ms, self._now_ms())

    def _send(self, outputs: list[Output]) -> bool:
        """Send outputs; whether one of them is a decision log."""
        topics, encoders, send = self._topics, self._encoders, self.outputs.send
        decided = False
        for out in outputs:
            name = out.topic
            if name == DECISIONS_LOG:
                decided = True
                decision = out.record["decision"]
                self.metrics.decision(str(decision["experiment_arm"]), str(decision["action_id"]))
            elif name == SIGNALS:
                self.metrics.signal(str(out.record["rule"]))
            topic = topics.get(name)
            if topic is None:
                topic = topics[name] = self.settings.topic(name)
            encode = encoders.get(out.schema)
            if encode is None:
                encode = encoders[out.schema] = self.codec.encoder(out.schema)
            record = out.record  # encode reads it and changes nothing: no copy of a dict
            send(topic, out.key.encode(), encode(record if type(record) is dict
                                                 else dict(record)))
        return decided

    def _write_learning(self, learning: list[dict[str, Any]]) -> None:
        self._send(learning_outputs(learning))

    def _apply_event(self, message: Record) -> None:
        record = self._admitted(message)
        if record is None:
            return
        key = str(record["visitor_id"]).encode()
        partition, offset = message.partition, message.offset
        self._advance(partition, int(record["event_time"]))
        try:
            state = self.visitor(partition, key)
            if state is not None and offset <= state.source_offset:
                return  # delivered again after a crash and already in the stored state
            self._decide_with(partition, message.timestamp_ms)
            result = self.engine.on_event(state, record, self._view(partition, key))
        except Exception as exc:  # a bug must cost one event, not the worker
            self.cache.forget(key)  # the state object may be half-updated
            log.exception("event failed", event_id=record.get("event_id"))
            self._reject(message, ProcessingError(repr(exc)))
            return
        if not result.duplicate and result.late_reason is None:
            if result.state is not None:
                result.state.source_offset = offset
            self.stage_visitor(partition, key, result.state)
        elif result.timers:  # timers fired before the event: their changes are kept
            self.stage_visitor(partition, key, result.state)
        outputs = event_outputs(result, record)
        if is_awaited(message.headers) and not result.duplicate:
            # a client holds a request for this event's decision: if it delivers no action,
            # say so (written like the other outputs, acknowledged before the commit)
            answer = answer_output(outputs, record)
            if answer is not None:
                self.metrics.answered()
                outputs.append(answer)
        if self._write(outputs, message) and message.timestamp_ms >= 0:
            self.metrics.latency((self._now_ms() - message.timestamp_ms) / 1000)

    def _apply_outcome(self, message: Record) -> None:
        record = self._admitted(message)
        if record is None:
            return
        key = str(record["visitor_id"]).encode()
        partition = message.partition
        self._advance(partition, int(record["event_time"]))
        try:
            # (a timer due before the outcome decides first, with the same)
            self._decide_with(partition, message.timestamp_ms)
            result = self.engine.on_outcome(self.visitor(partition, key), record,
                                            self._view(partition, key))
        except Exception as exc:
            self.cache.forget(key)
            log.exception("outcome failed", decision_id=record.get("decision_id"))
            self._reject(message, ProcessingError(repr(exc)))
            return
        if result.state is not None:
            self.stage_visitor(partition, key, result.state)
        for fired in result.timers:
            self._send(timer_outputs(fired, key.decode()))
        self._write_learning(result.learning)

    def _apply_visitor_profile(self, message: Record) -> None:
        value = message.value
        if value is None:
            return
        try:
            change_of = decode_visitor_message(value)
        except ValueError as exc:
            log.warning("visitor profile message skipped", error=str(exc))
            return
        self.apply_visitor_message(message.partition, change_of)

    def _apply_profile_update(self, message: Record) -> None:
        if message.value is None:
            return  # the profile side's erasure tombstone on the compacted topic
        record = self._admitted(message)
        if record is None:
            return
        try:
            change_of = privacy_message(record)
        except ValueError as exc:
            self._reject(message, ProcessingError(str(exc)))
            return
        if change_of is None:
            return  # identity and traits reach the visitor through the profile side
        key = change_of.visitor_id.encode()
        home = partition_for(key, self.settings.partitions)
        if home == message.partition:
            self.apply_visitor_message(home, change_of)
        else:  # the visitor lives on another partition (maybe another worker): send it there
            self.outputs.send(self.settings.topic(VISITOR_PROFILES), key,
                              encode_visitor_message(change_of), partition=home)

    def apply_visitor_message(self, partition: int, change_of: VisitorMessage) -> None:
        """Apply a view, consent answer or erasure to the visitor's stored view and state; an
        erased or opted-out visitor's behavioural state is deleted and a tombstone on the
        actions topic makes delivery drop its decisions at once."""
        key = change_of.visitor_id.encode()
        _, stored_bytes = self.tables.get(VIEWS, partition, key)
        stored = decode_view(stored_bytes) if stored_bytes is not None else None
        change = visitor_side_change(change_of, stored)
        self.tables.stage(VIEWS, partition, key, change.view)
        if not change.keep_behaviour:
            self.stage_visitor(partition, key, None)
            if change_of.erase or stored is None or stored.personalization_allowed:
                self.outputs.send(self.settings.topic(ACTIONS), key, None)

    # -- timers ---------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Take a newer model snapshot; fire the detector timers due; expire the rewards due;
        delete expired visitor states
        (session TTL): one partition per share of the sweep interval, a chunk of its states
        per turn of the loop, so that a sweep never holds the event path for more than a
        chunk's decoding. The outputs of the batch before it (:meth:`Outputs.poll`) and its
        own are handed to librdkafka."""
        try:
            self._tick(now)
        finally:
            self.outputs.hand_over()  # timers fired, rewards expired: out now, not next turn

    def _mark(self, phase: str) -> None:
        if self.turns is not None:
            self.turns.mark(phase)

    def _tick(self, now: float) -> None:
        self.outputs.poll()  # serve delivery reports as they come, not all at the commit
        self._mark("outputs.poll")
        for what, version, partitions in self.in_use_log.tick(self._now_ms()):
            log.info(what, version=version, partitions=partitions)
        if self.models is not None:
            snapshot = self.models.take()
            if snapshot is not None:
                self.offer_model(snapshot)
        if self.configs is not None:
            published = self.configs.take()
            if published is not None:
                self.offer_config(published)
        # The reward wait is in event time: due when the partition's events have passed it
        # (live, that is the wall clock; a backfill of old events expires as it goes).
        self.fire_timers()
        self._mark("timers")
        self.expire_due()
        self._mark("expire")
        owned = sorted(self.tables.partitions)
        if not owned:
            return
        if self._sweep_after is None:  # between passes: start the next one when due
            unswept = sorted(self._unswept & set(owned))
            if unswept:  # just assigned: find its timers now, not a sweep interval later
                self._sweep_partition = unswept[0]
            elif self._sweep.due(now):
                self._sweep_partition = owned[self._sweep_next % len(owned)]
                self._sweep_next += 1
            else:
                return
            self._unswept.discard(self._sweep_partition)
            self._sweep_after = b""
        done = self.sweep_some(self._sweep_partition, self._now_ms())
        self._mark("sweep")
        if done:
            self._sweep_after = None

    def fire_timers(self) -> int:
        """Fire the detector timers due at their partition's event time now (each at its due
        time, decided as for an event); how many visitors were looked at (at most
        ``timer_chunk``). The wall clock only says when to ask."""
        looked, wall = 0, self._now_ms()
        for partition in sorted(self.tables.partitions):
            timers = self.timers.get(partition)
            if not timers:
                continue
            now_ms = self.event_clock.now_ms(partition, wall)
            due = timers.next_due_ms()
            if now_ms is None or due is None or due > now_ms:
                continue  # nothing due even live: no need to ask librdkafka whether behind
            if self.input_behind(partition):
                now_ms = self.event_clock.now_ms(partition, wall, behind=True)
                if now_ms is None:
                    continue
            for key in timers.pop_due(now_ms, self.options.timer_chunk - looked):
                looked += 1
                state = self.visitor(partition, key)
                if state is None:
                    continue  # deleted since (erased, expired)
                try:
                    self._decide_with(partition, now_ms)  # as for its events
                    fired = self.engine.on_timers(state, now_ms, self._view(partition, key))
                except Exception:  # a bug must cost one visitor's timer, not the worker
                    self.cache.forget(key)  # the state object may be half-updated
                    log.exception("timer failed", partition=partition)
                    continue
                if fired:
                    self.stage_visitor(partition, key, state)
                    visitor = key.decode()
                    for result in fired:
                        self._send(timer_outputs(result, visitor))
            if looked >= self.options.timer_chunk:
                break
        return looked

    def expire_due(self) -> int:
        """The default reward for visitors' decisions whose wait passed at their partition's
        event time; how many visitors were looked at (at most ``expire_chunk``)."""
        looked = 0
        for partition in sorted(self.tables.partitions):
            deadlines = self.deadlines.get(partition)
            now_ms = self.event_clock.watermark(partition)
            if deadlines is None or now_ms is None:
                continue
            for key in deadlines.pop_due(now_ms, self.options.expire_chunk - looked):
                looked += 1
                state = self.visitor(partition, key)
                if state is None:
                    continue
                self._decide_with(partition, now_ms)  # the partition's config (reward options)
                learning = self.engine.expire(state, now_ms)
                if learning:
                    self.stage_visitor(partition, key, state)
                    self._write_learning(learning)
            if looked >= self.options.expire_chunk:
                break
        return looked

    def sweep_some(self, partition: int, now_ms: int) -> bool:
        """Stage the deletion of the expired states among the next chunk of ``partition``'s
        visitors; True when the partition has been gone through."""
        chunk = self.options.sweep_chunk
        self._decide_with(partition, now_ms)  # its config (session and reward options)
        batch = self.tables.scan(VISITORS, partition, self._sweep_after or None, chunk)
        expired = []
        for key, staged, value in batch:
            if not staged:
                state = self.cache.get(key)  # the cached object is the state to change
                if state is None:
                    try:
                        state = VisitorState.from_bytes(value)
                    except ValueError:
                        state = None  # unreadable (an older format): delete it
            else:
                state = value
            watermark = self.event_clock.watermark(partition)
            swept = self.engine.sweep(state, now_ms, -1 if watermark is None else watermark)
            if swept.delete:
                expired.append(key)
            elif swept.changed and state is not None:
                self.stage_visitor(partition, key, state)
            elif state is not None:
                self._remember_timer(partition, key, state)  # rebuilds the index
            self._write_learning(swept.learning)
        for key in expired:
            self.stage_visitor(partition, key, None)
        if expired:
            log.info("expired visitor states deleted", partition=partition, count=len(expired))
        if len(batch) < chunk:
            return True
        self._sweep_after = batch[-1][0]
        return False

    # -- the commit -----------------------------------------------------------------------

    def write(self) -> bool:
        """The commit's writes, waited for: a write begun in the background finished, then
        every output sent so far acknowledged, then the changed states (changelog, then
        locally). False: there was nothing to write."""
        timeout = self.options.commit_timeout_s
        self._finish(timeout)
        self.outputs.flush(timeout)
        began = self.start_write()
        self._finish(timeout)
        return began

    def start_write(self) -> bool:
        """Begin the commit's writes without waiting (False: nothing to write): the changed
        states are sealed, to be encoded as they are now; :meth:`written` encodes them a
        slice at a time, sends them to their changelogs once every output sent before is
        acknowledged, and stores them locally once the changelogs acknowledge them. One
        write at a time: call :meth:`written` until True before the next."""
        if self._writing is not None:
            raise RuntimeError("a write is in progress")
        self._stamped_ms = -1  # the records applied from now on are after the seal
        changes = self.tables.staging.take_staged()
        if not changes and not self.applied:
            self.tables.staging.done()
            return False
        self.tables.seal_staged(changes, _encode_state)
        self.pins.seal()  # until it is in, records older than the last switch wait for it
        self.config_pins.seal()
        self._mark("commit.seal")
        self._writing = _Write(outputs=self.outputs.cut(), started=time.monotonic(),
                               records=self.applied)
        self.applied = 0
        return True

    def written(self, budget_s: float | None = None) -> bool:
        """Whether the write begun is complete (True when none is in progress); moves it on
        without waiting, encoding, sending and storing its states for about ``budget_s``
        (None: no limit). Raises if an output failed or the commit timeout passed."""
        writing = self._writing
        if writing is None:
            return True
        slice_s = float("inf") if budget_s is None else budget_s
        if writing.states is None:
            encoded = self.tables.encode_some(slice_s)
            self._mark("commit.encode")
            if not encoded:
                self._check_timeout(writing)
                return False
            writing.states = self.tables.take_encoded()
            writing.to_send = _chunks(writing.states)
        states = writing.states
        if writing.changelogs is None:
            if not self.outputs.settled(writing.outputs):
                self._check_timeout(writing)
                return False
            # Every output of the records the states reflect is in: the states may go.
            if not writing.acknowledged:
                writing.acknowledged = time.monotonic()
            sent = _slices(writing.to_send, slice_s, lambda chunk: self.tables.send(
                {chunk[0]: chunk[1]}, self.outputs))
            self._mark("commit.send")
            if not sent:
                return False
            writing.changelogs = self.outputs.cut() if states else -1
        if writing.offsets is None:
            if not self.outputs.settled(writing.changelogs):
                self._check_timeout(writing)
                return False
            writing.offsets = self.outputs.take_offsets()
            writing.to_store = _chunks(states)
        offsets = writing.offsets
        stored = _slices(writing.to_store, slice_s, lambda chunk: self.tables.store(
            {chunk[0]: chunk[1]}, offsets, moves_offset=chunk[2]))
        self._mark("commit.store")
        if not stored:
            return False
        self.tables.staging.done()
        self._writing = None
        log.debug("commit written", records=writing.records,
                  states=sum(len(values) for values in states.values()),
                  outputs_ms=round(1000 * (writing.acknowledged - writing.started), 1),
                  states_ms=round(1000 * (time.monotonic() - writing.acknowledged), 1))
        return True

    def _finish(self, timeout_s: float) -> None:
        """Wait until the write in progress (if any) is complete."""
        while not self.written():
            self.outputs.flush(timeout_s)

    def _check_timeout(self, writing: _Write) -> None:
        if time.monotonic() - writing.started > self.options.commit_timeout_s:
            raise OutputError(f"outputs or states not acknowledged within "
                              f"{self.options.commit_timeout_s} s")


class InUseLog:
    """Logs ``<what> in use`` once every partition decides its records stamped from now
    on with a version at least that new (its commit is in and the switch time passed).

    >>> from pipeline.learning.pins import Schedule
    >>> logged = InUseLog(); s = Schedule((ModelRef(1, 0), "m1"), (ModelRef(2, 0), "m2"), 500)
    >>> logged.scheduled("model snapshot in use", {0: s, 1: Schedule((ModelRef(3, 0), "m3"))})
    >>> logged.tick(499), logged.tick(500), logged.tick(900)
    ([], [('model snapshot in use', 2, 2)], [])
    """

    def __init__(self) -> None:
        self._newest: dict[str, int] = {}
        self._due: dict[str, tuple[int, int, int]] = {}

    def scheduled(self, what: str, schedules: Mapping[int, Schedule[Any, Any]]) -> None:
        """Partitions' schedules now in (after a commit)."""
        oldest = min((s.latest[0].version for s in schedules.values()), default=-1)
        if oldest > self._newest.get(what, -1):
            self._newest[what] = oldest
            self._due[what] = (oldest, max(s.at_ms for s in schedules.values()),
                               len(schedules))

    def tick(self, now_ms: int) -> list[tuple[str, int, int]]:
        """What the clock made true, to log: (what, version, partitions)."""
        due = []
        for what, (version, at_ms, partitions) in list(self._due.items()):
            if now_ms >= at_ms:
                del self._due[what]
                due.append((what, version, partitions))
        return due


@dataclass
class _Write:
    """A commit's writes in progress (:meth:`DecisionPath.start_write`)."""

    #: The batch of outputs the states wait for (:meth:`Outputs.cut`).
    outputs: int
    started: float
    records: int
    #: The changed states, once all encoded: (table, partition) -> key -> value (None:
    #: deleted).
    states: dict[tuple[str, int], dict[bytes, bytes | None]] | None = None
    #: The chunks of states still to send, then still to store.
    to_send: list[_Chunk] = field(default_factory=list)
    to_store: list[_Chunk] = field(default_factory=list)
    #: The batch ending with the states' changelog records, once all sent.
    changelogs: int | None = None
    #: The changelog offsets the states reflect, once all acknowledged.
    offsets: dict[tuple[str, int], int] | None = None
    acknowledged: float = 0.0


#: States sent to their changelogs, and stored locally, this many at a time at most: a
#: slice of a commit's writes ends after a chunk (a whole partition's states at once, ~500
#: at 1,000 new visitors/s, held the loop 10-30 ms on the shared machine).
CHUNK = 64

#: A chunk of one (table, partition)'s encoded states, and whether it is the group's last.
_Chunk = tuple[tuple[str, int], dict[bytes, bytes | None], bool]


def _chunks(states: dict[tuple[str, int], dict[bytes, bytes | None]]) -> list[_Chunk]:
    """The states of each (table, partition) in chunks of :data:`CHUNK`, in order, each
    saying whether it is its group's last (which moves the store's changelog offset).

    >>> states = {("visitors", 0): {bytes([i]): b"s" for i in range(CHUNK + 1)},
    ...           ("visitors", 1): {b"v": None}}
    >>> [(group, len(values), last) for group, values, last in _chunks(states)]
    [(('visitors', 0), 64, False), (('visitors', 0), 1, True), (('visitors', 1), 1, True)]
    """
    out: list[_Chunk] = []
    for group, values in states.items():
        items = list(values.items())
        for start in range(0, len(items), CHUNK):
            out.append((group, dict(items[start:start + CHUNK]), start + CHUNK >= len(items)))
    return out


def _slices(todo: list[Any], budget_s: float, do: Callable[[Any], None]) -> bool:
    """Do the first items of ``todo`` (removing them) for about ``budget_s``, at least one;
    True when none is left.

    >>> done = []; todo = [1, 2, 3]
    >>> _slices(todo, 0.0, done.append), list(done)
    (False, [1])
    >>> _slices(todo, 10.0, done.append), done
    (True, [1, 2, 3])
    """
    deadline = time.perf_counter() + budget_s
    while todo:
        do(todo.pop(0))
        if time.perf_counter() >= deadline:
            break
    return not todo


def _schedule_of(part: str, from_mark: Callable[[str], Any], load: Callable[[Any], Any],
                 what: str, partition: int) -> Schedule[Any, Any] | None:
    """The schedule a commit mark's part names, its versions loaded (None: no mark, or a
    version that is gone: the partition then decides with the newest)."""
    before, after, at_ms = parse_schedule(part, from_mark)
    if before is None:
        return None
    loaded = [(ref, load(ref)) for ref in (before, after) if ref is not None]
    gone = [ref.version for ref, value in loaded if value is None]
    if gone:
        log.warning(f"the {what} a partition's last commit names is gone: its redo decides "
                    "with the newest (a redone decision may differ)",
                    partition=partition, versions=gone)
        return None
    return Schedule(loaded[0], loaded[1] if len(loaded) > 1 else None, at_ms)


def _encode_state(value: Any) -> bytes:
    """A staged value as stored: visitor states are encoded here, once per commit."""
    return value.to_bytes() if isinstance(value, VisitorState) else bytes(value)
