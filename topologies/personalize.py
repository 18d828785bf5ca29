"""The personalization worker: Faust agents that read, call the engine, and write.

Agents (all inputs keyed by visitor id share partitions, so one worker owns a
visitor's events, outcomes and profile views together):

- ``clickstream.events``  → engine.on_event → signals, actions, decision log
- ``personalization.outcomes`` → engine.on_outcome (rewards, dismissals)
- ``profiles.updates`` (by person) → profile table → per-visitor views (internal topic)
- internal visitor-profile topic → visitor-side profile views, consent, erasure
- internal conversions topic (by person) → purchase history across devices

Tables (RocksDB via rocksdict, recovered from their changelogs): ``visitors``,
``visitor-profiles``, ``profiles``, ``learners``. Every consumed record passes the
dead-letter gate first; nothing a message contains stops a worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
import structlog
from faust.types import EventT, TableT

from pipeline.engine import Engine, EngineOptions, Learner, VisitorState
from pipeline.engine.cache import StateCache
from pipeline.engine.checkpoints import CheckpointPolicy
from pipeline.engine.routing import CONVERSIONS, LATE, Output, event_outputs
from pipeline.profiles import (
    apply_conversion,
    apply_profile_update,
    decode_view,
    decode_visitor_message,
    encode_view,
    encode_visitor_message,
    messages_for_effect,
    profile_key,
    views_for,
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

__all__ = ["TICKS", "VISITOR_PROFILES", "WorkerOptions", "build_app"]

log = structlog.get_logger(__name__)

#: Keys Faust keeps in every RocksDB partition for itself (e.g. the changelog offset).
_FAUST_KEYS = b"__faust"

#: Largest record the worker writes (learner checkpoints), bytes.
_MAX_MESSAGE = 16 * 1024 * 1024

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
    checkpoint_every_updates: int = 500
    checkpoint_every_seconds: float = 10.0
    #: Faust's web server (metrics, table views); 0 disables it.
    web_port: int = 0
    #: How often expired visitor states (session TTL) are deleted, seconds.
    sweep_every_seconds: float = 60.0


def _decode_visitor(value: bytes) -> VisitorState | None:
    try:
        return VisitorState.from_bytes(value)
    except ValueError:
        return None  # unreadable (older format): it goes too


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
        producer_linger_ms=2,
        # Learner checkpoints can exceed Kafka's 1 MB default once the bandit knows every arm.
        producer_max_request_size=_MAX_MESSAGE,
        stream_wait_empty=False,
    )
    codec = Codec.default()
    rules = MeaningRules(max_future_skew_ms=settings.max_future_skew_ms)
    engine = Engine(engine_options)
    policy = CheckpointPolicy(options.checkpoint_every_updates, options.checkpoint_every_seconds)

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

    events, outcomes, profiles = topic(EVENTS), topic(OUTCOMES), topic(PROFILES)
    visitor_profiles_topic = topic(VISITOR_PROFILES, internal=True)
    conversions = topic(CONVERSIONS, internal=True)
    sinks = {name: topic(name) for name in (ACTIONS, DECISIONS_LOG, SIGNALS)}
    sinks[CONVERSIONS] = conversions
    dlq = {name: app.topic(settings.topic(f"{name}.dlq"), **raw)
           for name in (EVENTS, OUTCOMES, PROFILES)}

    visitors = table("visitors")
    visitor_views = table("visitor-profiles")
    people = table("profiles")
    learners = table("learners")

    gates = {
        EVENTS: MessageGate(codec, ("ClickEvent",), rules, worker=app_id),
        OUTCOMES: MessageGate(codec, ("Outcome",), rules, worker=app_id),
        PROFILES: MessageGate(codec, ("ProfileUpdate",), rules, worker=app_id),
    }

    def now_ms() -> int:
        return int(clock() * 1000)

    async def dead_letter(source: str, rejected: Rejected) -> None:
        value = codec.encode("DeadLetter", rejected.dead_letter)
        await dlq[source].send(key=rejected.key, value=value)

    async def admitted(source: str, event: EventT) -> dict[str, Any] | None:
        msg = event.message
        result = gates[source].admit(event.value, key=event.key, topic=msg.topic,
                                     partition=msg.partition, offset=msg.offset,
                                     now_ms=now_ms())
        if isinstance(result, Admitted):
            return result.record
        await dead_letter(source, result)
        return None

    async def reject(source: str, event: EventT, error: SerdeError) -> None:
        msg = event.message
        await dead_letter(source, gates[source].reject(
            error, value=event.value, key=event.key, topic=msg.topic,
            partition=msg.partition, offset=msg.offset, now_ms=now_ms()))

    async def write(outputs: list[Output], source: str, event: EventT) -> None:
        for out in outputs:
            if out.topic == LATE:
                await reject(source, event, LateEvent(str(out.record["reason"])))
            else:
                await sinks[out.topic].send(key=out.key.encode(),
                                            value=codec.encode(out.schema, dict(out.record)))

    def restore_and_checkpoint(partition: int) -> None:
        if policy.needs_restore(partition):
            stored = learners.get(b"learner")
            if stored is not None and Learner.updates_in(stored) > engine.learner.updates:
                try:
                    engine.learner = Learner.from_bytes(stored, engine_options)
                    log.info("learner restored", partition=partition,
                             updates=engine.learner.updates)
                except ValueError as exc:  # other versions are refused, never half-loaded
                    log.warning("learner checkpoint refused; keeping the current learner",
                                partition=partition, reason=str(exc))
        if policy.due(engine.learner.updates, clock()):
            learners[b"learner"] = engine.learner.to_bytes()
            policy.written(engine.learner.updates, clock())

    cache: StateCache[VisitorState] = StateCache()

    async def forget_all(*_: Any, **__: Any) -> None:
        cache.clear()  # partitions moved: another worker may have changed these visitors

    app.on_partitions_revoked.connect(forget_all)
    app.on_partitions_assigned.connect(forget_all)

    def visitor_state(key: bytes) -> VisitorState | None:
        state = cache.get(key)
        if state is None:
            stored = visitors.get(key)
            state = VisitorState.from_bytes(stored) if stored is not None else None
        return state

    def store_visitor(key: bytes, state: VisitorState | None) -> None:
        if state is None:
            cache.forget(key)
            visitors.pop(key, None)
        else:
            cache.put(key, state)
            visitors[key] = state.to_bytes()

    @app.agent(events)
    async def on_events(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            record = await admitted(EVENTS, event)
            if record is None:
                continue
            key = str(record["visitor_id"]).encode()
            offset = event.message.offset
            state = visitor_state(key)
            if state is not None and offset <= state.source_offset:
                continue  # redelivered after a crash or rebalance and already applied
            try:
                view_bytes = visitor_views.get(key)
                view = decode_view(view_bytes) if view_bytes is not None else None
                result = engine.on_event(state, record, view)
            except Exception as exc:  # a bug must cost one event, not the worker
                cache.forget(key)  # the state object may be half-updated
                log.exception("event failed", event_id=record.get("event_id"))
                await reject(EVENTS, event, ProcessingError(repr(exc)))
                continue
            if not result.duplicate and result.late_reason is None:
                if result.state is not None:
                    result.state.source_offset = offset
                store_visitor(key, result.state)
            await write(event_outputs(result, record), EVENTS, event)
            restore_and_checkpoint(event.message.partition)

    @app.agent(outcomes)
    async def on_outcomes(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            record = await admitted(OUTCOMES, event)
            if record is None:
                continue
            key = str(record["visitor_id"]).encode()
            try:
                result = engine.on_outcome(visitor_state(key), record)
            except Exception as exc:
                cache.forget(key)
                log.exception("outcome failed", decision_id=record.get("decision_id"))
                await reject(OUTCOMES, event, ProcessingError(repr(exc)))
                continue
            if result.state is not None:
                store_visitor(key, result.state)
            restore_and_checkpoint(event.message.partition)

    async def fan_out(messages: list[Any]) -> None:
        for message in messages:
            await visitor_profiles_topic.send(key=message.visitor_id.encode(),
                                              value=encode_visitor_message(message))

    @app.agent(profiles)
    async def on_profiles(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            if event.value is None:
                continue  # our own erasure tombstone on the compacted topic
            update = await admitted(PROFILES, event)
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
                await reject(PROFILES, event, ProcessingError(repr(exc)))
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

    @app.agent(visitor_profiles_topic)
    async def on_visitor_profiles(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            try:
                message = decode_visitor_message(event.value)
            except ValueError as exc:
                log.warning("visitor profile message skipped", error=str(exc))
                continue
            key = message.visitor_id.encode()
            if message.erase or message.view is None:
                store_visitor(key, None)
                visitor_views.pop(key, None)
            else:
                visitor_views[key] = encode_view(message.view)
                if not message.view.personalization_allowed:
                    store_visitor(key, None)  # opted out: keep no behaviour at all

    ticks = topic(TICKS, internal=True)

    @app.timer(interval=options.sweep_every_seconds, on_leader=True)
    async def send_ticks() -> None:
        for partition in range(settings.partitions):
            await ticks.send(key=b"tick", value=str(now_ms()).encode(), partition=partition)

    @app.agent(ticks)
    async def on_ticks(stream: faust.StreamT[bytes]) -> None:
        # Tables only change inside an event of the partition that owns the key, so a tick
        # per partition lets that partition's owner delete its own expired visitors.
        async for event in stream.events():
            partition = event.message.partition
            store = getattr(visitors.data, "_db_for_partition", None)
            if store is None:
                continue
            expired = [key for key, value in store(partition).items()
                       if not key.startswith(_FAUST_KEYS)  # Faust's own offset bookkeeping
                       and engine.sweep(_decode_visitor(value), int(event.value or b"0"))]
            for key in expired:
                store_visitor(key, None)
            if expired:
                log.info("expired visitor states deleted", partition=partition,
                         count=len(expired))

    app.rtp_engine = engine  # type: ignore[attr-defined]  # for tests and metrics
    return app
