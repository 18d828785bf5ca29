"""``rtp channel email|sms``: the Kafka adapter of a channel's outbox.

One consumer group per channel reads ``personalization.actions`` (the channel's decisions,
and the page decisions a dismissal refers to), ``personalization.outcomes`` (dismissals,
server-reported purchases) and ``rtp.internal.visitor-profiles`` (the profile side's views:
purchases on any device, consent, erasure) into a :class:`~pipeline.channels.Outbox`, asks
it what is due once a tick, and hands those messages to the sink.

State (pending messages, sends for the caps, dismissals, purchases) is a JSON snapshot
written atomically after every batch, *before* the batch's offsets are committed: a
restart resumes from both, and a decision id is sent at most once unless the process dies
between the sink taking a message and the next snapshot (at-least-once to the sink).
Bad Decisions and Outcomes go to their DLQ with the reason; the loop goes on. SIGTERM or
SIGINT: finish the batch, snapshot, commit, close.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException

from pipeline.channels import ContactResolver, Outbox, Sink, SinkError, Step
from pipeline.client import EventProducer
from pipeline.client.batches import read_ready
from pipeline.kafka_log import kafka_config
from pipeline.profiles.errors import ProfileError
from pipeline.profiles.fanout import decode_visitor_message
from pipeline.serde import Admitted, Codec, MeaningRules, MessageGate
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, OUTCOMES
from topologies.decision_path import VISITOR_PROFILES

__all__ = ["ChannelService", "ChannelServiceOptions"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ChannelServiceOptions:
    """How the service runs.

    >>> ChannelServiceOptions(state_path=Path("s.json")).tick_s
    1.0
    """

    state_path: Path
    group_id: str = ""
    tick_s: float = 1.0
    prune_every_s: float = 600.0


class ChannelService:
    """Consume, decide what is due, send, snapshot, commit (see the module docstring).

    ``clock`` is the wall clock (quiet hours, caps, expiry); ``on_step`` is called with every
    step after the sink took (or refused) it, e.g. for metrics or a test's observation.
    """

    def __init__(self, settings: Settings, options: ChannelServiceOptions, outbox: Outbox,
                 resolver: ContactResolver, sink: Sink, *,
                 clock: Callable[[], float] = time.time,
                 on_step: Callable[[Step], None] | None = None) -> None:
        self.settings = settings
        self.options = options
        self.outbox = outbox
        self.resolver = resolver
        self.sink = sink
        self.clock = clock
        self.on_step = on_step
        self.channel = outbox.options.channel
        self.group = options.group_id or f"{settings.topic_prefix}rtp-channel-{self.channel}"
        self.codec = Codec.default()
        self.gate = MessageGate(self.codec, ("Decision", "Outcome"),
                                MeaningRules(max_future_skew_ms=settings.max_future_skew_ms),
                                worker=self.group)
        self.dlq = EventProducer(settings, self.codec)
        self.topics = {settings.topic(ACTIONS): "Decision", settings.topic(OUTCOMES): "Outcome",
                       settings.topic(VISITOR_PROFILES): "profile"}
        self.sent = 0
        if options.state_path.exists():
            try:
                outbox.load_state(json.loads(options.state_path.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise SinkError(f"cannot resume from {options.state_path}: {exc}") from None

    def run(self, stop: threading.Event) -> None:
        """Until ``stop`` is set."""
        consumer = Consumer(kafka_config({
            "bootstrap.servers": self.settings.bootstrap, "group.id": self.group,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "enable.partition.eof": False,
            # rtp.internal.visitor-profiles is created by the workers: a service started
            # before them subscribes to it once it exists (librdkafka's default: 5 minutes).
            "topic.metadata.refresh.interval.ms": 5000}))
        consumer.subscribe(list(self.topics))
        log.info("channel_started", channel=self.channel, group=self.group,
                 topics=list(self.topics))
        last_prune = 0.0
        try:
            while not stop.is_set():
                messages = read_ready(consumer, 500, self.options.tick_s)
                for message in messages:
                    self._apply(message)
                now = self.clock()
                steps = self._send_due(int(now * 1000))
                if now - last_prune >= self.options.prune_every_s:
                    self.outbox.prune(int(now * 1000))
                    last_prune = now
                if messages or steps:
                    self._snapshot()
                if messages:
                    self._commit(consumer)
        finally:
            self._snapshot()
            self._commit(consumer)
            consumer.close()
            self.sink.close()
            self.dlq.flush()
            log.info("channel_stopped", channel=self.channel, sent=self.sent,
                     **{k.replace(":", "_"): v for k, v in sorted(self.outbox.counts.items())})

    def _apply(self, message: Any) -> None:
        err = message.error()
        if err is not None:
            if err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:  # the workers create it later
                log.info("channel_topic_not_yet", error=str(err))
            elif err.code() != KafkaError._PARTITION_EOF:
                log.warning("channel_consumer_error", error=str(err))
            return
        topic = message.topic() or ""
        kind = self.topics.get(topic)
        key = (message.key() or b"").decode("utf-8", "replace")
        value = message.value()
        if kind == "profile":
            if value is None:
                self.outbox.forget(key)
                return
            try:
                change = decode_visitor_message(value)
            except ProfileError as exc:
                log.warning("channel_bad_profile_message", error=str(exc))
                return
            view = change.view
            self.outbox.on_profile(
                change.visitor_id, erased=change.erase,
                purchased_ever=bool(view and view.purchased_ever),
                allowed=True if view is None else view.personalization_allowed,
                at_ms=int(self.clock() * 1000))
            return
        if value is None:  # an erased visitor's tombstone on the actions topic
            self.outbox.forget(key)
            return
        result = self.gate.admit(value, key=message.key(), topic=topic,
                                 partition=message.partition() or 0,
                                 offset=message.offset() or 0,
                                 now_ms=int(self.clock() * 1000))
        if not isinstance(result, Admitted):
            self.dlq.produce_raw(result.dlq_topic,
                                 self.codec.encode("DeadLetter", result.dead_letter), result.key)
            return
        if result.name == "Decision":
            self.outbox.on_decision(result.record)
        elif result.name == "Outcome":
            self.outbox.on_outcome(result.record)

    def _send_due(self, now_ms: int) -> list[Step]:
        steps = self.outbox.due(now_ms, self.resolver)
        for step in steps:
            self._handle(step, now_ms)
            if self.on_step is not None:
                self.on_step(step)
        return steps

    def _handle(self, step: Step, now_ms: int) -> None:
        if step.outcome == "held":
            log.info("channel_held", channel=self.channel, decision_id=step.decision_id,
                     reason=step.reason)
            return
        if not step.send:
            log.info("channel_not_sent", channel=self.channel, decision_id=step.decision_id,
                     reason=step.reason)
            return
        assert step.message is not None and step.contact is not None
        try:
            self.sink.send(step.message, step.contact)
        except SinkError as exc:
            self.outbox.failed(step, now_ms)
            log.warning("channel_sink_failed", channel=self.channel,
                        decision_id=step.decision_id, error=str(exc))
            return
        self.sent += 1
        log.info("channel_sent", channel=self.channel, decision_id=step.decision_id,
                 action_id=step.message.action_id, contact_ref=step.contact.ref)

    def _snapshot(self) -> None:
        path = self.options.state_path
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as file:
            json.dump(self.outbox.to_state(), file, separators=(",", ":"))
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(path)

    @staticmethod
    def _commit(consumer: Consumer) -> None:
        try:
            consumer.commit(asynchronous=False)
        except KafkaException as exc:  # nothing consumed yet, or a rebalance: next time
            if exc.args and getattr(exc.args[0], "code", lambda: None)() != \
                    KafkaError._NO_OFFSET:
                log.warning("channel_commit_failed", error=str(exc))
