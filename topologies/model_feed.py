"""The worker's side of learning: the newest model snapshot, read and decoded off the loop.

A thread reads ``personalization.models`` (one partition, one key, compacted) from its
newest record on and decodes each newer snapshot; the decision path takes the decoded
model between two batches (:meth:`ModelFeed.take`), so a snapshot never pauses the
event path for longer than a reference swap. :meth:`ModelFeed.fetch` reads one older
snapshot by its offset (the one a partition's last commit named: see
:mod:`pipeline.learning.pins`). The thread is a :class:`~topologies.compacted_feed.CompactedFeed`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, NamedTuple

import structlog
from confluent_kafka import Consumer, KafkaError, TopicPartition

from pipeline.engine import EngineOptions
from pipeline.kafka_log import kafka_config
from pipeline.learning import Model, ModelRef
from topologies.compacted_feed import CompactedFeed

__all__ = ["ModelFeed", "Snapshot"]

log = structlog.get_logger(__name__)


class Snapshot(NamedTuple):
    """A decoded model and where it is on the models topic."""

    ref: ModelRef
    model: Model


class ModelFeed:
    """Follows a models topic in a daemon thread; newest decoded model ready to take."""

    def __init__(self, bootstrap: str, topic: str, options: EngineOptions) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.options = options
        consumer = Consumer(kafka_config({
            "bootstrap.servers": bootstrap,
            # Assigned by hand, never committed: the group id is librdkafka's requirement.
            "group.id": f"rtp-model-feed-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "enable.partition.eof": True, "fetch.wait.max.ms": 100,
        }))
        self._version = -1
        self._feed = CompactedFeed(consumer, topic, self._offer, "model-feed", from_newest=True)

    @property
    def version(self) -> int:
        """The newest version decoded so far (-1: none)."""
        return self._version

    def start(self, wait_s: float = 15.0) -> Snapshot | None:
        """Start following; wait (at most ``wait_s``) for the newest snapshot there is and
        return it (None: the topic holds none yet, or it did not come in time)."""
        return self._feed.start(wait_s)

    def take(self) -> Snapshot | None:
        """The newest snapshot not taken yet (None: nothing new)."""
        return self._feed.take()

    def fetch(self, ref: ModelRef, timeout_s: float = 15.0) -> Model | None:
        """The snapshot ``ref`` names, read from its offset (None: compaction removed it, or
        it could not be read in time; the caller decides with the newest instead)."""
        consumer = Consumer(kafka_config({
            "bootstrap.servers": self.bootstrap,
            "group.id": f"rtp-model-fetch-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": False, "auto.offset.reset": "latest",
            "enable.partition.eof": True,
        }))
        try:
            consumer.assign([TopicPartition(self.topic, 0, ref.offset)])
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                message = consumer.poll(0.2)
                if message is None:
                    continue
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        return None  # nothing at or after the offset: not there
                    continue
                value = message.value() or b""
                if message.offset() != ref.offset or Model.version_of(value) != ref.version:
                    return None  # compacted away: the next record is another snapshot
                try:
                    return Model.from_bytes(value, self.options)
                except ValueError as exc:
                    log.warning("pinned model snapshot refused", version=ref.version,
                                reason=str(exc))
                    return None
            return None
        finally:
            consumer.close()

    def close(self) -> None:
        """Stop the thread and the consumer."""
        self._feed.close()

    def _offer(self, value: Any, offset: int) -> Snapshot | None:
        """A record, decoded in the feed's thread (None: not newer, or refused)."""
        version = Model.version_of(value or b"")
        if version <= self._version:
            return None  # older, the same (a learner redoing its last seconds), or no model
        try:
            model = Model.from_bytes(value, self.options)
        except ValueError as exc:
            log.warning("model snapshot refused", version=version, reason=str(exc))
            return None
        self._version = version
        return Snapshot(ModelRef(version, offset), model)
