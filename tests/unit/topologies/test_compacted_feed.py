"""The compacted-topic follower both worker feeds use: newest value per key, decoded in its
thread, the newest not taken handed over once; where it starts reading."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError

from topologies.compacted_feed import CompactedFeed


@dataclass
class _End:
    def code(self) -> int:
        return KafkaError._PARTITION_EOF


@dataclass
class _Record:
    k: bytes | None
    v: bytes | None
    o: int

    def key(self) -> bytes | None:
        return self.k

    def value(self) -> bytes | None:
        return self.v

    def offset(self) -> int:
        return self.o

    def error(self) -> None:
        return None


@dataclass
class _EndRecord:
    def error(self) -> _End:
        return _End()


@dataclass
class _Topic:
    """One partition: ``records`` from offset ``low``; the end is reported after them."""

    records: list[tuple[bytes | None, bytes | None]]
    low: int = 0
    assigned: list[int] = field(default_factory=list)
    polled_in: set[str] = field(default_factory=set)
    closed: bool = False

    def __post_init__(self) -> None:
        self._queue: list[Any] = []

    def get_watermark_offsets(self, partition: Any, timeout: float | None = None) -> tuple[
            int, int]:
        return self.low, self.low + len(self.records)

    def assign(self, partitions: list[Any]) -> None:
        start = partitions[0].offset
        self.assigned.append(start)
        self._queue = [_Record(k, v, self.low + i) for i, (k, v) in enumerate(self.records)
                       if self.low + i >= start] + [_EndRecord()]

    def poll(self, timeout: float) -> Any:
        self.polled_in.add(threading.current_thread().name)
        return self._queue.pop(0) if self._queue else None

    def close(self) -> None:
        self.closed = True


def _decode_numbers(decoded_in: set[str]) -> Any:
    def decode(value: bytes | None, offset: int) -> tuple[int, int] | None:
        decoded_in.add(threading.current_thread().name)
        if value is None or value == b"bad":
            return None  # a tombstone, or refused
        return int(value), offset
    return decode


def test_newest_value_per_key_and_the_newest_is_taken_once() -> None:
    topic = _Topic([(b"a", b"1"), (b"b", b"10"), (b"a", b"2"), (b"b", b"bad"), (b"a", None)],
                   low=5)
    decoded_in: set[str] = set()
    feed = CompactedFeed(topic, "t", _decode_numbers(decoded_in), "numbers-feed")
    try:
        newest = feed.start(wait_s=10)
        # a's value 2 came last among the decoded records; b's bad record and a's tombstone
        # were skipped, so each key keeps its newest decoded value.
        assert newest == (2, 7)
        assert (feed.latest(b"a"), feed.latest(b"b"), feed.latest(b"c")) == ((2, 7), (10, 6),
                                                                             None)
        assert feed.take() is None  # taken once
        assert topic.assigned == [5]  # from the first record there is
        assert decoded_in == {"numbers-feed"}  # decoded in the feed's thread, not the caller's
        assert topic.polled_in == {"numbers-feed"}
    finally:
        feed.close()
    assert topic.closed


def test_a_snapshot_feed_starts_at_the_newest_record() -> None:
    topic = _Topic([(b"m", b"1"), (b"m", b"2"), (b"m", b"3")], low=10)
    feed = CompactedFeed(topic, "t", _decode_numbers(set()), "snap", from_newest=True)
    try:
        assert feed.start(wait_s=10) == (3, 12)
        assert topic.assigned == [12]
    finally:
        feed.close()


def test_an_empty_topic_starts_at_once_with_nothing() -> None:
    topic = _Topic([], low=3)
    feed = CompactedFeed(topic, "t", _decode_numbers(set()), "empty")
    try:
        assert feed.start(wait_s=10) is None
        assert topic.assigned == [3]
        assert feed.take() is None
    finally:
        feed.close()
