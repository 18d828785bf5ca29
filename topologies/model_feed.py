"""The worker's side of learning: the newest model snapshot, read and decoded off the loop.

A thread reads ``personalization.models`` (one partition, one key, compacted) from its
newest record on and decodes each newer snapshot; the decision path takes the decoded
model between two batches (:meth:`ModelFeed.take`), so a snapshot never pauses the
event path for longer than a reference swap.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import structlog
from confluent_kafka import Consumer, KafkaError, TopicPartition

from pipeline.client.watermarks import watermarks
from pipeline.engine import EngineOptions
from pipeline.kafka_log import kafka_config
from pipeline.learning import Model

__all__ = ["ModelFeed"]

log = structlog.get_logger(__name__)


class ModelFeed:
    """Follows a models topic in a daemon thread; newest decoded model ready to take."""

    def __init__(self, bootstrap: str, topic: str, options: EngineOptions) -> None:
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
        self._ready: Model | None = None
        self._version = -1
        self._caught_up = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="model-feed", daemon=True)

    @property
    def version(self) -> int:
        """The newest version decoded so far (-1: none)."""
        return self._version

    def start(self, wait_s: float = 15.0) -> Model | None:
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

    def take(self) -> Model | None:
        """The newest model not taken yet (None: nothing new)."""
        with self._lock:
            model, self._ready = self._ready, None
        return model

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
            self._offer(message.value())

    def _offer(self, value: Any) -> None:
        version = Model.version_of(value or b"")
        if version <= self._version:
            return  # older, the same (a learner redoing its last seconds), or not a model
        try:
            model = Model.from_bytes(value, self.options)
        except ValueError as exc:
            log.warning("model snapshot refused", version=version, reason=str(exc))
            return
        with self._lock:
            self._ready, self._version = model, version
