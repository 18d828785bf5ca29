"""The personalization worker: Faust agents that read, call the engine, and write.

One agent reads everything keyed by visitor id (co-partitioned, so one worker owns
a visitor's events, outcomes and profile views together), in batches:

- ``clickstream.events``  → engine.on_event → signals, actions, decision log
- ``personalization.outcomes`` → engine.on_outcome (rewards, dismissals)
- internal visitor-profile topic → visitor-side profile views, consent, erasure
- internal ticks topic → deletion of expired visitor states (session TTL)

Its changes are staged and written by the commit of :mod:`topologies.committer`,
which is what makes a ``kill -9`` lose nothing. Two more agents keep profiles by
person: ``profiles.updates`` → profile table → per-visitor views (internal topic),
and the internal conversions topic → purchase history across devices.

Tables (RocksDB via rocksdict, recovered from their changelogs): ``visitors``,
``visitor-profiles``, ``profiles``, ``learners``. Every consumed record passes the
dead-letter gate first; nothing a message contains stops a worker.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
import structlog
from faust.types import TP, EventT, TableT

from pipeline.engine import Engine, EngineOptions
from pipeline.engine.commits import CommitPolicy
from pipeline.engine.routing import CONVERSIONS, LATE, Output, event_outputs
from pipeline.profiles import (
    apply_conversion,
    apply_profile_update,
    decode_view,
    decode_visitor_message,
    encode_visitor_message,
    messages_for_effect,
    profile_key,
    views_for,
    visitor_side_change,
)
from pipeline.profiles.state import ProfileState
from pipeline.serde import (
    Admitted,
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
from pipeline.topics.groups import GroupPositions
from topologies.committer import LEARNERS, VIEWS, VISITORS, Committer
from topologies.partition_table import PartitionTable

__all__ = ["TICKS", "VISITOR_PROFILES", "WorkerOptions", "build_app"]

log = structlog.get_logger(__name__)

#: Largest record the worker writes (learner checkpoints), bytes.
_MAX_MESSAGE = 16 * 1024 * 1024

#: A partition with records waiting that applies none for this long is read again
#: (records the consumer dropped during a rebalance); checked this often, seconds.
_STALLED_AFTER_S, _STALL_CHECK_S = 10.0, 2.0

#: Internal topic: one tick per partition asks the owner of that partition to sweep it.
TICKS = "rtp.internal.ticks"

#: Internal topic: profile views re-keyed by visitor id.
VISITOR_PROFILES = "rtp.internal.visitor-profiles"


@dataclass(frozen=True)
class WorkerOptions:
    """How the worker runs (what it decides is :class:`EngineOptions`).

    >>> WorkerOptions().app_id
    'rtp-personalize'
    """

    app_id: str = "rtp-personalize"
    #: RocksDB folder; default: <cache>/worker/<app id>.
    data_dir: Path | None = None
    #: Commit (learner checkpoint, changed states, input offsets) at least this often, seconds.
    commit_every_seconds: float = 2.0
    #: ... or after this many records, whichever comes first.
    commit_every_records: int = 20_000
    #: Records taken from the stream at once, and how long to wait for a batch to fill.
    batch_size: int = 500
    batch_wait_seconds: float = 0.002
    #: Faust's web server (metrics, table views); 0 disables it.
    web_port: int = 0
    #: How often expired visitor states (session TTL) are deleted, seconds.
    sweep_every_seconds: float = 60.0


def _worker_id(data_dir: Path) -> str:
    """This worker's id, kept in its data folder: a restart on the folder is the same worker."""
    path = data_dir / "worker-id"
    if not path.exists():
        path.write_text(uuid.uuid4().hex)
    return path.read_text().strip()


def _positions_reader(bootstrap: str, group: str) -> Callable[[list[TP]],
                                                               Awaitable[dict[TP, int]]]:
    """Where the group continues each partition (the admin calls block: in a thread)."""
    reader = GroupPositions(bootstrap, group)

    async def read(partitions: list[TP]) -> dict[TP, int]:
        found = await asyncio.to_thread(reader.read,
                                        [(tp.topic, tp.partition) for tp in partitions])
        return {tp: found[(tp.topic, tp.partition)] for tp in partitions}

    return read


def _broker_url(bootstrap: str) -> str:
    return ";".join(f"kafka://{host}" for host in bootstrap.split(","))


def build_app(settings: Settings, options: WorkerOptions | None = None,
              engine_options: EngineOptions | None = None,
              clock: Callable[[], float] = time.time) -> faust.App:
    """The Faust app of one worker process, wired to the topics of ``settings``."""
    options = options or WorkerOptions()
    engine_options = engine_options or EngineOptions()
    app_id = f"{settings.topic_prefix}{options.app_id}"
    data_dir = options.data_dir or settings.cache_dir / "worker" / app_id
    data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        app_id,
        broker=_broker_url(settings.bootstrap),
        store="rocksdb://",
        datadir=str(data_dir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        web_enabled=options.web_port > 0,
        web_port=options.web_port or 6066,
        consumer_auto_offset_reset="earliest",
        producer_linger_ms=5,
        # Learner checkpoints can exceed Kafka's 1 MB default once the bandit knows every arm.
        producer_max_request_size=_MAX_MESSAGE,
        stream_wait_empty=False,
    )
    codec = Codec.default()
    rules = MeaningRules(max_future_skew_ms=settings.max_future_skew_ms)
    engine = Engine(engine_options)

    raw: dict[str, Any] = {"key_type": bytes, "value_type": bytes,
                           "key_serializer": "raw", "value_serializer": "raw"}

    def topic(name: str, internal: bool = False) -> faust.TopicT:
        return app.topic(settings.topic(name), partitions=settings.partitions,
                         internal=internal, **raw)

    def table(name: str) -> TableT[bytes, bytes]:
        created = app.Table(name, default=None, partitions=settings.partitions,
                            key_type=bytes, value_type=bytes,
                            extra_topic_configs={"max.message.bytes": str(_MAX_MESSAGE)})
        # Faust derives table serializers from the types and falls back to JSON: our values
        # are already compact bytes, so store them as they are.
        created.key_serializer = created.value_serializer = "raw"  # type: ignore[attr-defined]
        return created

    profiles = topic(PROFILES)
    visitor_profiles_topic = topic(VISITOR_PROFILES, internal=True)
    ticks = topic(TICKS, internal=True)
    conversions = topic(CONVERSIONS, internal=True)
    sinks = {name: topic(name) for name in (ACTIONS, DECISIONS_LOG, SIGNALS)}
    sinks[CONVERSIONS] = conversions
    dlq = {name: app.topic(settings.topic(f"{name}.dlq"), **raw)
           for name in (EVENTS, OUTCOMES, PROFILES)}
    # Everything keyed by visitor, co-partitioned, in one stream: one commit covers it all
    # (declared internal so that Faust creates the two internal topics among them).
    by_visitor = app.topic(*(settings.topic(name) for name in
                             (EVENTS, OUTCOMES, VISITOR_PROFILES, TICKS)),
                           partitions=settings.partitions, internal=True, **raw)
    source_of = {settings.topic(name): name for name in
                 (EVENTS, OUTCOMES, VISITOR_PROFILES, TICKS)}

    people = table("profiles")
    committer = Committer(
        app, {name: PartitionTable(table(name)) for name in (VISITORS, VIEWS, LEARNERS)},
        engine, engine_options,
        CommitPolicy(options.commit_every_seconds, options.commit_every_records),
        settings.topic(EVENTS), clock, worker_id=_worker_id(data_dir),
        partitions=settings.partitions, input_topics=source_of,
        group_positions=_positions_reader(settings.bootstrap, app_id))

    gates = {
        EVENTS: MessageGate(codec, ("ClickEvent",), rules, worker=app_id),
        OUTCOMES: MessageGate(codec, ("Outcome",), rules, worker=app_id),
        PROFILES: MessageGate(codec, ("ProfileUpdate",), rules, worker=app_id),
    }

    def now_ms() -> int:
        return int(clock() * 1000)

    def dead_letter(source: str, rejected: Rejected) -> None:
        value = codec.encode("DeadLetter", rejected.dead_letter)
        committer.send(dlq[source].send_soon(key=rejected.key, value=value))

    def admitted(source: str, event: EventT) -> dict[str, Any] | None:
        msg = event.message
        result = gates[source].admit(event.value, key=event.key, topic=msg.topic,
                                     partition=msg.partition, offset=msg.offset,
                                     now_ms=now_ms())
        if isinstance(result, Admitted):
            return result.record
        dead_letter(source, result)
        return None

    def reject(source: str, event: EventT, error: SerdeError) -> None:
        msg = event.message
        dead_letter(source, gates[source].reject(
            error, value=event.value, key=event.key, topic=msg.topic,
            partition=msg.partition, offset=msg.offset, now_ms=now_ms()))

    def write(outputs: list[Output], source: str, event: EventT) -> None:
        for out in outputs:
            if out.topic == LATE:
                reject(source, event, LateEvent(str(out.record["reason"])))
            else:
                committer.send(sinks[out.topic].send_soon(
                    key=out.key.encode(), value=codec.encode(out.schema, dict(out.record))))

    def apply_event(event: EventT) -> None:
        record = admitted(EVENTS, event)
        if record is None:
            return
        key = str(record["visitor_id"]).encode()
        partition, offset = event.message.partition, event.message.offset
        try:
            state = committer.visitor(partition, key)
            if state is not None and offset <= state.source_offset:
                # Delivered again after a crash and already in the stored state: store it
                # once more, in case its changelog record was lost in the crash.
                committer.stage_visitor(partition, key, state)
                return
            view_bytes = committer.view(partition, key)
            view = decode_view(view_bytes) if view_bytes is not None else None
            result = engine.on_event(state, record, view)
        except Exception as exc:  # a bug must cost one event, not the worker
            committer.forget(key)  # the state object may be half-updated
            log.exception("event failed", event_id=record.get("event_id"))
            reject(EVENTS, event, ProcessingError(repr(exc)))
            return
        if not result.duplicate and result.late_reason is None:
            if result.state is not None:
                result.state.source_offset = offset
            committer.stage_visitor(partition, key, result.state)
        write(event_outputs(result, record), EVENTS, event)

    def apply_outcome(event: EventT) -> None:
        record = admitted(OUTCOMES, event)
        if record is None:
            return
        key = str(record["visitor_id"]).encode()
        partition = event.message.partition
        try:
            result = engine.on_outcome(committer.visitor(partition, key), record)
        except Exception as exc:
            committer.forget(key)
            log.exception("outcome failed", decision_id=record.get("decision_id"))
            reject(OUTCOMES, event, ProcessingError(repr(exc)))
            return
        if result.state is not None:
            committer.stage_visitor(partition, key, result.state)

    def apply_visitor_profile(event: EventT) -> None:
        try:
            message = decode_visitor_message(event.value)
        except ValueError as exc:
            log.warning("visitor profile message skipped", error=str(exc))
            return
        key, partition = message.visitor_id.encode(), event.message.partition
        change = visitor_side_change(message)
        committer.stage_view(partition, key, change.view)
        if not change.keep_behaviour:
            committer.stage_visitor(partition, key, None)

    def apply_tick(event: EventT) -> None:
        # Tables only change in the stream of the partition that owns the key, so a tick per
        # partition lets that partition's owner delete its own expired visitors.
        partition = event.message.partition
        now = int(event.value or b"0")
        expired = [key for key, state in committer.visitors_in(partition)
                   if engine.sweep(state, now)]
        for key in expired:
            committer.stage_visitor(partition, key, None)
        if expired:
            log.info("expired visitor states deleted", partition=partition, count=len(expired))

    apply = {EVENTS: apply_event, OUTCOMES: apply_outcome,
             VISITOR_PROFILES: apply_visitor_profile, TICKS: apply_tick}

    @app.agent(by_visitor)
    async def on_visitor_records(stream: faust.StreamT[bytes]) -> None:
        # noack_take: Faust acknowledges nothing by itself; the commit does.
        batches = stream.noack_take(  # type: ignore[attr-defined]  # missing from StreamT
            options.batch_size, within=options.batch_wait_seconds)
        async for batch in batches:
            async with committer.lock:
                # Fetched before a rebalance, or while one is under way: not applied, not
                # acknowledged; delivered again from the committed offsets after it.
                generation = app.consumer_generation_id
                current = [event for event in batch if not committer.suspended
                           and event.message.generation_id == generation]
                if current and await committer.positions_known(generation):
                    committer.restore()
                else:
                    current = []
                for event in current:
                    if committer.suspended or app.consumer_generation_id != generation:
                        break  # revoked during a seek below: the rest is not ours to apply
                    # Each partition in offset order, each record once, none missing.
                    if not await committer.admit(event):
                        continue
                    source = source_of[event.message.topic]
                    if event.value is not None or source in gates:  # gates refuse empty values
                        try:
                            apply[source](event)
                        except Exception:  # a bug must cost one record, not the worker
                            log.exception("record failed", topic=event.message.topic,
                                          offset=event.message.offset)
                    committer.applied(stream, event)
                try:
                    await committer.commit_locked()
                except Exception as exc:  # the broker failed us: a restart is safe, a stall not
                    log.exception("commit failed; stopping the worker")
                    await app.crash(exc)
                    raise

    @app.timer(interval=max(options.commit_every_seconds / 2, 0.05))
    async def commit_when_due() -> None:
        try:
            await committer.commit()  # also when no new record arrives to trigger it
        except Exception as exc:
            log.exception("commit failed; stopping the worker")
            await app.crash(exc)

    @app.timer(interval=_STALL_CHECK_S)
    async def read_stalled_partitions_again() -> None:
        await committer.read_stalled_again(after_s=_STALLED_AFTER_S,
                                           rewinding_after_s=_STALL_CHECK_S)

    async def on_revoked(*_: Any, **__: Any) -> None:
        committer.on_revoked()

    async def on_assigned(*_: Any, **__: Any) -> None:
        committer.on_assigned()

    async def on_shutdown(*_: Any, **__: Any) -> None:
        try:
            await committer.commit(force=True)
        except Exception:  # stopping anyway: the records are applied again on restart
            log.exception("final commit failed")
        else:
            log.info("final commit written")

    app.on_partitions_revoked.connect(on_revoked)
    app.on_partitions_assigned.connect(on_assigned)
    app.on_before_shutdown.connect(on_shutdown)

    async def fan_out(messages: list[Any]) -> None:
        for message in messages:
            await visitor_profiles_topic.send(key=message.visitor_id.encode(),
                                              value=encode_visitor_message(message))

    @app.agent(profiles)
    async def on_profiles(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            if event.value is None:
                continue  # our own erasure tombstone on the compacted topic
            update = admitted(PROFILES, event)
            if update is None:
                continue
            try:
                key = profile_key(update).encode()
                stored = people.get(key)
                state = ProfileState.from_bytes(stored) if stored is not None else None
                anon_key = str(update["visitor_id"]).encode()
                anon_bytes = people.get(anon_key) if anon_key != key else None
                anonymous = ProfileState.from_bytes(anon_bytes) if anon_bytes else None
                effect = apply_profile_update(state, update, engine_options.profiles,
                                              anonymous=anonymous)
            except Exception as exc:
                log.exception("profile update failed", update_id=update.get("update_id"))
                reject(PROFILES, event, ProcessingError(repr(exc)))
                continue
            if effect.state is None:
                people.pop(key, None)
            else:
                people[key] = effect.state.to_bytes()
            for gone in (*effect.absorbed_keys, *effect.erase_keys):
                people.pop(gone.encode(), None)
            for erased in effect.erase_keys:  # tombstones on the compacted topic
                await profiles.send(key=erased.encode(), value=None)
            await fan_out(messages_for_effect(effect, engine_options.profiles))

    @app.agent(conversions)
    async def on_conversions(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            try:
                _, purchase = codec.decode(event.value, ("ClickEvent",))
                key = event.key or b""
                stored = people.get(key)
                state = ProfileState.from_bytes(stored) if stored is not None else None
                new = apply_conversion(state, purchase, engine_options.profiles)
            except (SerdeError, ValueError) as exc:
                log.warning("conversion skipped", error=str(exc))
                continue
            if new is not None and new is not state:
                people[key] = new.to_bytes()
                await fan_out(views_for(new, engine_options.profiles))

    @app.timer(interval=options.sweep_every_seconds, on_leader=True)
    async def send_ticks() -> None:
        for partition in range(settings.partitions):
            await ticks.send(key=b"tick", value=str(now_ms()).encode(), partition=partition)

    app.rtp_engine = engine  # type: ignore[attr-defined]  # for tests and metrics
    return app
