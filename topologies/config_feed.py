"""The worker's side of ``rtp config publish``: every published config, read off the loop.

A thread reads ``personalization.config`` (one partition, compacted) from its first record
on and decodes each version; the decision path takes the newest between two batches
(:meth:`ConfigFeed.take`) and each partition's next commit schedules it. Every version
read stays held (:meth:`ConfigFeed.get`: configs are small), so a partition whose last
commit names an older version redoes its records with that one
(:mod:`pipeline.learning.pins`). The thread is a :class:`~topologies.compacted_feed.CompactedFeed`.
"""

from __future__ import annotations

import threading
import uuid
from typing import NamedTuple

import structlog
from confluent_kafka import Consumer

from pipeline.config import ConfigError, ConfigRef, RtpConfig, decode_config
from pipeline.kafka_log import kafka_config
from topologies.compacted_feed import CompactedFeed

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
        consumer = Consumer(kafka_config({
            "bootstrap.servers": bootstrap,
            # Assigned by hand, never committed: the group id is librdkafka's requirement.
            "group.id": f"rtp-config-feed-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "enable.partition.eof": True, "fetch.wait.max.ms": 100,
        }))
        self._lock = threading.Lock()
        self._held: dict[ConfigRef, RtpConfig] = {}
        self._newest = 0
        self._feed = CompactedFeed(consumer, topic, self._offer, "config-feed")

    def start(self, wait_s: float = 15.0) -> Published | None:
        """Start following; wait (at most ``wait_s``) until every version there is was read
        and return the newest (None: none published, or not read in time)."""
        return self._feed.start(wait_s)

    def take(self) -> Published | None:
        """The newest version not taken yet (None: nothing new)."""
        return self._feed.take()

    def get(self, ref: ConfigRef) -> RtpConfig | None:
        """The config of version ``ref`` (None: not read, e.g. compacted away)."""
        with self._lock:
            return self._held.get(ref)

    def close(self) -> None:
        """Stop the thread and the consumer."""
        self._feed.close()

    def _offer(self, value: bytes | None, offset: int) -> Published | None:
        """A record, decoded in the feed's thread (None: older, a tombstone, or refused)."""
        ref = ConfigRef.at_offset(offset)
        if value is None or ref.version <= self._newest:
            return None
        try:
            config = decode_config(value, f"config version {ref.version}")
        except ConfigError as exc:
            log.error("published config refused", version=ref.version, problems=exc.problems)
            return None
        with self._lock:
            self._held[ref] = config
        self._newest = ref.version
        return Published(ref, config)
