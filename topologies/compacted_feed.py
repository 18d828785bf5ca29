"""Follow one compacted topic in a thread: each record decoded off the event loop, the
newest value per key kept, the newest not yet taken handed over between two batches.

The worker follows two such topics (one partition each): published configs
(:mod:`topologies.config_feed`) and model snapshots (:mod:`topologies.model_feed`).
A record's ``decode`` runs in the feed's thread, so a large snapshot never pauses the
decision path for longer than a reference swap; it returns None for a record to skip
(older than what was read, or refused: it logs why).

>>> class Topic:  # a stand-in consumer: two records, then the end of the partition
...     def __init__(self):
...         self.records = [(b"k", b"1", 0), (b"k", b"2", 1), (None, None)]
...     def get_watermark_offsets(self, partition, timeout=None):
...         return 0, 2
...     def assign(self, partitions):
...         self.assigned = [p.offset for p in partitions]
...     def poll(self, timeout):
...         return Record(*self.records.pop(0)) if self.records else None
...     def close(self):
...         pass
>>> class Record:
...     def __init__(self, key, value, offset=None):
...         self.k, self.v, self.o = key, value, offset
...     def key(self): return self.k
...     def value(self): return self.v
...     def offset(self): return self.o
...     def error(self): return None if self.v is not None else End()
>>> class End:
...     def code(self): return KafkaError._PARTITION_EOF
>>> feed = CompactedFeed(Topic(), "t", lambda value, offset: int(value), "numbers")
>>> feed.start(wait_s=5)
2
>>> feed.take() is None, feed.latest(b"k")
(True, 2)
>>> feed.close()
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import structlog
from confluent_kafka import KafkaError, TopicPartition

from pipeline.client.watermarks import watermarks

__all__ = ["CompactedFeed"]

log = structlog.get_logger(__name__)

T = TypeVar("T")


class CompactedFeed(Generic[T]):
    """Follows partition 0 of ``topic`` through ``consumer`` (assigned by hand, never
    committed) in a daemon thread named ``what``.

    ``decode(value, offset)`` turns a record into a value (None: skip it); ``from_newest``
    starts at the newest record instead of the first (a snapshot topic, where only the
    newest matters).
    """

    def __init__(self, consumer: Any, topic: str, decode: Callable[[bytes | None, int], T | None],
                 what: str, from_newest: bool = False) -> None:
        self.topic = topic
        self.what = what
        self._consumer = consumer
        self._decode = decode
        self._from_newest = from_newest
        self._lock = threading.Lock()
        self._ready: T | None = None
        self._latest: dict[bytes | None, T] = {}
        self._caught_up = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=what, daemon=True)

    def start(self, wait_s: float = 15.0) -> T | None:
        """Start following; wait (at most ``wait_s``) until the records there are were read
        and return the newest value (None: none, or not read in time)."""
        low, high = watermarks(self._consumer, TopicPartition(self.topic, 0))
        if high <= low:
            self._caught_up.set()
        start = max(low, high - 1) if self._from_newest else low
        self._consumer.assign([TopicPartition(self.topic, 0, start)])
        self._thread.start()
        if not self._caught_up.wait(wait_s):
            log.warning("feed not read to its end in time: starting with what there is",
                        feed=self.what, topic=self.topic, wait_s=wait_s)
        return self.take()

    def take(self) -> T | None:
        """The newest value not taken yet (None: nothing new)."""
        with self._lock:
            value, self._ready = self._ready, None
        return value

    def latest(self, key: bytes | None) -> T | None:
        """The newest value read under ``key`` (taken or not; None: none)."""
        with self._lock:
            return self._latest.get(key)

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
                    log.warning("feed error", feed=self.what, error=str(error))
                continue
            value = self._decode(message.value(), int(message.offset() or 0))
            if value is not None:
                with self._lock:
                    self._ready = self._latest[message.key()] = value
