"""The worker's side of ``rtp config publish``: every published config, read off the loop.

A thread reads ``personalization.config`` (one partition, compacted) from its first record
on and decodes each version; the decision path takes the newest between two batches
(:meth:`ConfigFeed.take`) and switches partitions to it at their next commit. Every version
read stays held (:meth:`ConfigFeed.get`: configs are small), so a partition whose last
commit names an older version redoes its records with that one
(:mod:`pipeline.learning.pins`).
"""

from __future__ import annotations

import threading
import uuid
from typing import NamedTuple

import structlog
from confluent_kafka import Consumer, KafkaError, TopicPartition

from pipeline.client.watermarks import watermarks
from pipeline.config import ConfigError, ConfigRef, RtpConfig, decode_config
from pipeline.kafka_log import kafka_config

__all__ = ["ConfigFeed", "Published"]

log = structlog.get_logger(__name__)


class Published(NamedTuple):
    """A published config and its version."""

    ref: ConfigRef
    config: RtpConfig


class ConfigFeed:
    """Follows a config topic in a daemon thread; the newest version ready to take."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self._consumer = Consumer(kafka_config({
            "bootstrap.servers": bootstrap,
            # Assigned by hand, never committed: the group id is librdkafka's requirement.
            "group.id": f"rtp-config-feed-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "enable.partition.eof": True, "fetch.wait.max.ms": 100,
        }))
        self._lock = threading.Lock()
        self._held: dict[ConfigRef, RtpConfig] = {}
        self._ready: Published | None = None
        self._newest = 0
        self._caught_up = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="config-feed", daemon=True)

    def start(self, wait_s: float = 15.0) -> Published | None:
        """Start following; wait (at most ``wait_s``) until every version there is was read
        and return the newest (None: none published, or not read in time)."""
        low, high = watermarks(self._consumer, TopicPartition(self.topic, 0))
        if high <= low:
            self._caught_up.set()
        self._consumer.assign([TopicPartition(self.topic, 0, low)])
        self._thread.start()
        if not self._caught_up.wait(wait_s):
            log.warning("published configs not read in time: starting with what there is",
                        topic=self.topic, wait_s=wait_s)
        return self.take()

    def take(self) -> Published | None:
        """The newest version not taken yet (None: nothing new)."""
        with self._lock:
            published, self._ready = self._ready, None
        return published

    def get(self, ref: ConfigRef) -> RtpConfig | None:
        """The config of version ``ref`` (None: not read, e.g. compacted away)."""
        with self._lock:
            return self._held.get(ref)

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
                    log.warning("config feed error", error=str(error))
                continue
            self._offer(message.value(), int(message.offset() or 0))

    def _offer(self, value: bytes | None, offset: int) -> None:
        ref = ConfigRef.at_offset(offset)
        if value is None or ref.version <= self._newest:
            return
        try:
            config = decode_config(value, f"config version {ref.version}")
        except ConfigError as exc:
            log.error("published config refused", version=ref.version, problems=exc.problems)
            return
        with self._lock:
            self._held[ref] = config
            self._ready, self._newest = Published(ref, config), ref.version
