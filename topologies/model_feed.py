"""The worker's side of learning: the newest model snapshot, read and decoded off the loop.

A thread reads ``personalization.models`` (one partition, one key, compacted) from its
newest record on and decodes each newer snapshot; the decision path takes the decoded
model between two batches (:meth:`ModelFeed.take`), so a snapshot never pauses the
event path for longer than a reference swap. :meth:`ModelFeed.fetch` reads one older
snapshot by its offset (the one a partition's last commit named: see
:mod:`pipeline.learning.pins`).
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any, NamedTuple

import structlog
from confluent_kafka import Consumer, KafkaError, TopicPartition

from pipeline.client.watermarks import watermarks
from pipeline.engine import EngineOptions
from pipeline.kafka_log import kafka_config
from pipeline.learning import Model, ModelRef

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
        self._consumer = Consumer(kafka_config({
            "bootstrap.servers": bootstrap,
            # Assigned by hand, never committed: the group id is librdkafka's requirement.
            "group.id": f"rtp-model-feed-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "enable.partition.eof": True, "fetch.wait.max.ms": 100,
        }))
        self._lock = threading.Lock()
        self._ready: Snapshot | None = None
        self._version = -1
        self._caught_up = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="model-feed", daemon=True)

    @property
    def version(self) -> int:
        """The newest version decoded so far (-1: none)."""
        return self._version

    def start(self, wait_s: float = 15.0) -> Snapshot | None:
        """Start following; wait (at most ``wait_s``) for the newest snapshot there is and
        return it (None: the topic holds none yet, or it did not come in time)."""
        low, high = watermarks(self._consumer, TopicPartition(self.topic, 0))
        if high <= low:
            self._caught_up.set()
        self._consumer.assign([TopicPartition(self.topic, 0, max(low, high - 1))])
        self._thread.start()
        if not self._caught_up.wait(wait_s):
            log.warning("no model snapshot read in time: starting with what there is",
                        topic=self.topic, wait_s=wait_s)
        return self.take()

    def take(self) -> Snapshot | None:
        """The newest snapshot not taken yet (None: nothing new)."""
        with self._lock:
            snapshot, self._ready = self._ready, None
        return snapshot

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
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self._consumer.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            message = self._consumer.poll(0.2)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    self._caught_up.set()
                else:
                    log.warning("model feed error", error=str(error))
                continue
            self._offer(message.value(), int(message.offset() or 0))

    def _offer(self, value: Any, offset: int) -> None:
        version = Model.version_of(value or b"")
        if version <= self._version:
            return  # older, the same (a learner redoing its last seconds), or not a model
        try:
            model = Model.from_bytes(value, self.options)
        except ValueError as exc:
            log.warning("model snapshot refused", version=version, reason=str(exc))
            return
        with self._lock:
            self._ready, self._version = Snapshot(ModelRef(version, offset), model), version
