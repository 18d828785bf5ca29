"""``rtp learner``: the learning service, one per deployment.

It folds ``personalization.learning`` (one partition, so one order) into the model with
a :class:`~pipeline.learning.Trainer` and publishes:

- the model to ``personalization.models`` every ``snapshot_every_updates`` records or
  ``snapshot_every_s`` seconds (whichever comes first, when something changed): workers
  decide with the newest;
- its checkpoint (model + position + recent record ids, one value) to
  ``rtp.internal.learner-checkpoints`` every ``checkpoint_every_s`` seconds and at a
  clean stop.

A restart reads the newest checkpoint and goes on from its position: no record is
applied twice or skipped, so a learner killed at any point ends with the model an
uninterrupted one has (``tests/fault/test_learner_crash.py``). Its input position lives
in the checkpoint, not in consumer-group offsets, which is what makes this exact: the
state and the position are one value, written at once. (A Faust agent commits offsets
on its own schedule, apart from any table write: a kill between the two applies records
twice or never, unless the whole model were written per record.)
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from pipeline.client.watermarks import watermarks
from pipeline.engine import EngineOptions
from pipeline.kafka_log import kafka_config
from pipeline.learning import Model, Trainer, TrainerCheckpoint
from pipeline.serde import Codec, SerdeError
from pipeline.settings import Settings
from pipeline.topics import LEARNER_CHECKPOINTS, LEARNING, MODELS, topic_specs
from pipeline.topics.admin import apply_topics

__all__ = ["LearnerOptions", "LearnerService"]

log = structlog.get_logger(__name__)

_MODEL_KEY, _CHECKPOINT_KEY = b"model", b"checkpoint"


@dataclass(frozen=True)
class LearnerOptions:
    """When the learner publishes.

    >>> LearnerOptions().snapshot_every_s
    1.0
    """

    #: A model snapshot after this many new records at the latest...
    snapshot_every_updates: int = 1000
    #: ...or after this many seconds with something new (reward → workers p99 goal: 2 s).
    snapshot_every_s: float = 1.0
    #: The learner's own restart point, this often (and at a clean stop), seconds.
    checkpoint_every_s: float = 5.0
    #: Record ids remembered for first-wins de-duplication.
    seen_capacity: int = 100_000
    #: Records read per batch at most.
    batch: int = 500


class LearnerService:
    """Reads learning records, trains, publishes snapshots and checkpoints."""

    def __init__(self, settings: Settings, engine_options: EngineOptions | None = None,
                 options: LearnerOptions | None = None) -> None:
        self.settings = settings
        self.engine_options = engine_options or EngineOptions()
        self.options = options or LearnerOptions()
        self.codec = Codec.default()
        self.topics = {name: settings.topic(name)
                       for name in (LEARNING, MODELS, LEARNER_CHECKPOINTS)}
        self.producer = Producer(kafka_config({
            "bootstrap.servers": settings.bootstrap, "acks": "all", "enable.idempotence": True,
            "linger.ms": 5, "compression.type": "zstd", "message.max.bytes": 16 * 1024 * 1024}))
        self._stop = threading.Event()
        self.trainer: Trainer | None = None
        self.published_version = -1

    def stop(self) -> None:
        """Ask :meth:`run` to publish, checkpoint and return."""
        self._stop.set()

    def _consumer(self) -> Consumer:
        return Consumer(kafka_config({
            "bootstrap.servers": self.settings.bootstrap,
            "group.id": f"rtp-learner-{uuid.uuid4().hex[:12]}",  # assigned by hand, never joined
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "enable.partition.eof": True, "fetch.wait.max.ms": 50}))

    def restore(self) -> Trainer:
        """The newest checkpoint as a trainer, or a fresh one (the topic holds none)."""
        topic = self.topics[LEARNER_CHECKPOINTS]
        consumer = self._consumer()
        try:
            low, high = watermarks(consumer, TopicPartition(topic, 0))
            if high <= low:
                return Trainer(Model.new(self.engine_options))
            consumer.assign([TopicPartition(topic, 0, high - 1)])
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                message = consumer.poll(0.5)
                if message is None or message.error() is not None:
                    continue
                checkpoint = TrainerCheckpoint.from_bytes(message.value() or b"",
                                                          self.engine_options,
                                                          self.options.seen_capacity)
                log.info("learner restored", position=checkpoint.position,
                         version=checkpoint.model.version)
                return Trainer.resume(checkpoint)
            raise RuntimeError(f"the newest learner checkpoint on {topic} did not come in 30 s")
        finally:
            consumer.close()

    def _publish(self, key: bytes, topic: str, value: bytes) -> None:
        self.producer.produce(topic, key=key, value=value)
        self.producer.poll(0)

    def publish_model(self, trainer: Trainer) -> None:
        """A snapshot of the model, if it changed since the last one."""
        if trainer.model.version == self.published_version:
            return
        self._publish(_MODEL_KEY, self.topics[MODELS], trainer.model.to_bytes())
        self.published_version = trainer.model.version
        log.debug("model published", version=trainer.model.version, position=trainer.position)

    def checkpoint(self, trainer: Trainer) -> None:
        """The restart point, acknowledged before this returns."""
        self._publish(_CHECKPOINT_KEY, self.topics[LEARNER_CHECKPOINTS],
                      trainer.checkpoint().to_bytes())
        if self.producer.flush(60) > 0:
            raise RuntimeError("learner checkpoint not acknowledged in 60 s")

    def run(self) -> int:
        """Create the topics it needs, restore, then fold until stopped; 0 on a clean stop."""
        specs = [s for s in topic_specs(self.settings.partitions, self.settings.replication,
                                        self.settings.topic_prefix)
                 if s.name in self.topics.values()]
        apply_topics(self.settings.bootstrap, specs)
        trainer = self.trainer = self.restore()
        opts = self.options
        consumer = self._consumer()
        consumer.assign([TopicPartition(self.topics[LEARNING], 0, trainer.position)])
        published_at = checkpointed_at = time.monotonic()
        applied_since = 0
        checkpointed_position = trainer.position
        log.info("learner running", position=trainer.position, version=trainer.model.version)
        try:
            while not self._stop.is_set():
                messages = consumer.consume(opts.batch, 0.1)
                for message in messages:
                    error = message.error()
                    if error is not None:
                        if error.code() != KafkaError._PARTITION_EOF:
                            log.warning("learning topic error", error=str(error))
                        continue
                    applied_since += self._apply(trainer, message)
                now = time.monotonic()
                if applied_since and (applied_since >= opts.snapshot_every_updates
                                      or now - published_at >= opts.snapshot_every_s):
                    self.publish_model(trainer)
                    published_at, applied_since = now, 0
                if (trainer.position != checkpointed_position
                        and now - checkpointed_at >= opts.checkpoint_every_s):
                    self.checkpoint(trainer)
                    checkpointed_at, checkpointed_position = now, trainer.position
            self.publish_model(trainer)
            self.checkpoint(trainer)
            log.info("learner stopped", position=trainer.position, version=trainer.model.version)
        finally:
            consumer.close()
        return 0

    def _apply(self, trainer: Trainer, message: Any) -> int:
        try:
            _, record = self.codec.decode(message.value())
        except SerdeError as exc:  # our own topic: a bad record is a bug, skipped loudly
            log.error("learning record unreadable", offset=message.offset(), error=str(exc))
            trainer.position = message.offset() + 1
            return 0
        try:
            return int(trainer.apply(record, message.offset()))
        except (ValueError, KeyError, TypeError) as exc:  # e.g. a bandit of another catalog
            log.error("learning record refused", offset=message.offset(), error=str(exc))
            return 0


def run_learner(settings: Settings, engine_options: EngineOptions | None = None,
                options: LearnerOptions | None = None) -> int:
    """Run until SIGTERM/SIGINT (a final snapshot and checkpoint, then exit 0)."""
    service = LearnerService(settings, engine_options, options)

    def stop(signum: int, _: Any) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        service.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return service.run()
