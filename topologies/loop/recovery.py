"""Bring a partition store up to date from its compacted changelog topic.

The changelog is the truth; the local store records the offset of the last
changelog record it reflects. On assignment the store reads the changelog from the
next offset to the end (a restart on the same folder reads only what it missed;
a new folder reads everything). A store that claims more than the changelog holds
(the topic was recreated) is rebuilt from the start.

The pure part, :func:`apply_changelog`, folds records into a store in chunks:

>>> import tempfile
>>> from pathlib import Path
>>> store = PartitionStore.open(Path(tempfile.mkdtemp()))
>>> apply_changelog(store, [(0, b"a", b"1"), (1, b"b", b"2"), (2, b"a", None)], chunk=2)
3
>>> list(store.items()), store.changelog_offset
([(b'b', b'2')], 2)
>>> store.close()
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import structlog
from confluent_kafka import Consumer, TopicPartition

from pipeline.kafka_log import kafka_config
from topologies.loop.store import PartitionStore, StoreOptions

__all__ = ["TOMBSTONE_RETENTION_MS", "ChangelogReader", "RecoveryError", "apply_changelog"]

#: ``delete.retention.ms`` of the changelog topics (how long a deletion stays readable),
#: and how long a store may sit unwritten before it is rebuilt rather than caught up.
TOMBSTONE_RETENTION_MS = 24 * 3600 * 1000

log = structlog.get_logger(__name__)


class RecoveryError(RuntimeError):
    """The changelog could not be read to its end."""


def apply_changelog(store: PartitionStore,
                    records: Iterable[tuple[int, bytes, bytes | None]],
                    chunk: int = 10_000) -> int:
    """Write changelog ``records`` (offset, key, value or None) into ``store``; how many."""
    pending: dict[bytes, bytes | None] = {}
    last, count = store.changelog_offset, 0
    for offset, key, value in records:
        pending[key] = value
        last, count = offset, count + 1
        if len(pending) >= chunk:
            store.write(pending, last)
            pending = {}
    if pending or last != store.changelog_offset:
        store.write(pending, last)
    return count


@dataclass
class ChangelogReader:
    """Reads changelog partitions to their end with a consumer of its own (no group)."""

    bootstrap: str
    #: How long a changelog may stay silent (no record, end not reached) before reading
    #: it fails; a long one that keeps coming is read to its end however long it takes.
    timeout_s: float = 60.0
    #: A store last written longer ago than this is rebuilt from the start of its
    #: changelog: tombstones older than the changelog's ``delete.retention.ms`` (set to the
    #: same value, :data:`TOMBSTONE_RETENTION_MS`) may be gone, and with them deletions
    #: (erasures among them) a catch-up from the store's offset would miss.
    max_idle_ms: int = 0

    def __post_init__(self) -> None:
        self._consumer = Consumer(kafka_config({
            "bootstrap.servers": self.bootstrap,
            "group.id": "rtp-changelog-reader",  # never joins nor commits: assign() only
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 10,
        }))

    def catch_up(self, store: PartitionStore, topic: str, partition: int,
                 options: StoreOptions | None = None) -> PartitionStore:
        """Fold what ``store`` misses of ``topic[partition]`` into it; returns the store
        (a new, rebuilt one when the local files claim more than the changelog has)."""
        low, high = self._watermarks(topic, partition)
        idle_ms = int(time.time() * 1000) - store.written_ms
        stale = store.written_ms >= 0 and self.max_idle_ms > 0 and idle_ms > self.max_idle_ms
        if store.changelog_offset >= high or stale:
            log.warning("local store rebuilt from its changelog", topic=topic,
                        partition=partition, local=store.changelog_offset, changelog_end=high,
                        reason="idle longer than tombstones are kept" if stale
                        else "ahead of its changelog")
            path = store.path
            store.destroy()
            store = PartitionStore.open(path, options)
        start = max(store.changelog_offset + 1, low)
        if start >= high:
            return store
        started = time.monotonic()
        count = apply_changelog(store, self._read(topic, partition, start, high))
        log.info("store restored from its changelog", topic=topic, partition=partition,
                 records=count, seconds=round(time.monotonic() - started, 3))
        return store

    def _watermarks(self, topic: str, partition: int) -> tuple[int, int]:
        """(low, high) of a changelog partition; asked again while the broker is not ready
        (a topic created a moment ago has no leader yet; a restarted broker loads)."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                low, high = self._consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=5.0)
                return int(low), int(high)
            except Exception as exc:  # librdkafka raises its errors as KafkaException
                if time.monotonic() > deadline:
                    raise RecoveryError(f"{topic}[{partition}]: no watermarks: {exc}") from exc
                log.info("changelog not readable yet; asking again", topic=topic,
                         partition=partition, error=str(exc))
                time.sleep(0.2)  # the broker elects a leader; nothing to wait on instead

    def _read(self, topic: str, partition: int, start: int,
              high: int) -> Iterator[tuple[int, bytes, bytes | None]]:
        self._consumer.assign([TopicPartition(topic, partition, start)])
        deadline = time.monotonic() + self.timeout_s
        try:
            while True:
                if time.monotonic() > deadline:
                    raise RecoveryError(f"{topic}[{partition}] not read to {high}: nothing "
                                        f"came for {self.timeout_s} s")
                batch = self._consumer.consume(1000, 0.2)
                if batch:  # a long changelog may take long: only a silence is an error
                    deadline = time.monotonic() + self.timeout_s
                if not batch:
                    # The last records may have been compacted away: the position tells.
                    position = self._consumer.position([TopicPartition(topic, partition)])
                    if position and position[0].offset >= high:
                        return
                for msg in batch:
                    err = msg.error()
                    if err is not None:
                        raise RecoveryError(f"{topic}[{partition}]: {err}")
                    key, offset = msg.key(), int(msg.offset() or 0)
                    if key is not None:
                        yield offset, key, msg.value()
                    if offset >= high - 1:
                        return
        finally:
            self._consumer.unassign()

    def close(self) -> None:
        """Close the consumer."""
        self._consumer.close()
