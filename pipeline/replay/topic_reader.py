"""Read a bounded range of Kafka topics, partition by partition, with one consumer (adapter).

:func:`plan_ranges` turns ``--from`` / ``--to`` bounds into a half-open offset
range ``[start, end)`` per partition (times through ``offsets_for_times``; no
upper bound means the high watermark *when the range is planned*, so a replay
of a live topic terminates). :class:`RangeReader` assigns every range to one
consumer (no consumer group, nothing committed) and hands out one iterator per
partition, in offset order, buffering what arrives for the others (partitions
with a full buffer are paused, so memory stays bounded). Waits are bounded: a
partition that delivers nothing for ``idle_timeout_s`` raises
:class:`~pipeline.replay.errors.ReplaySourceError` naming where it stopped.

>>> PartitionRange("t", 0, 10, 15).size
5
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from pipeline.client.watermarks import watermarks
from pipeline.kafka_log import kafka_config
from pipeline.replay.bounds import RangeBound
from pipeline.replay.errors import ReplaySourceError

__all__ = ["PartitionRange", "RangeReader", "RawMessage", "plan_ranges"]


@dataclass(frozen=True)
class PartitionRange:
    """Offsets ``[start, end)`` of one partition.

    >>> PartitionRange("t", 1, 7, 7).size
    0
    """

    topic: str
    partition: int
    start: int
    end: int

    @property
    def size(self) -> int:
        """How many offsets the range spans (records, unless compaction left gaps)."""
        return max(0, self.end - self.start)


@dataclass(frozen=True)
class RawMessage:
    """One Kafka record as read, undecoded.

    >>> RawMessage("t", 0, 5, 1_700_000_000_000, b"k", b"v").offset
    5
    """

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None


def _consumer(bootstrap: str, group_id: str) -> Consumer:
    return Consumer(kafka_config({
        "bootstrap.servers": bootstrap,
        "group.id": group_id,  # required by librdkafka; never joined nor committed
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "auto.offset.reset": "earliest",
    }))


def _times_to_offsets(consumer: Consumer, topic: str, partitions: Sequence[int], at_ms: int,
                      high: dict[int, int], timeout: float) -> dict[int, int]:
    wanted = [TopicPartition(topic, p, at_ms) for p in partitions]
    try:
        found = consumer.offsets_for_times(wanted, timeout=timeout)
    except KafkaException as exc:
        raise ReplaySourceError(
            f"{topic}: cannot look up offsets for time {at_ms}: {exc}") from None
    # -1: no record at or after the time: the range starts/ends at the high watermark.
    return {tp.partition: (tp.offset if tp.offset >= 0 else high[tp.partition]) for tp in found}


def plan_ranges(bootstrap: str, topic: str, start: RangeBound | None = None,
                end: RangeBound | None = None, timeout: float = 10.0,
                group_id: str = "rtp-replay") -> list[PartitionRange]:
    """The offset range of every partition of ``topic`` between ``start`` and ``end``.

    Raises :class:`~pipeline.replay.errors.ReplaySourceError` for an unknown topic or a
    broker that does not answer within ``timeout`` seconds.
    """
    consumer = _consumer(bootstrap, group_id)
    try:
        try:
            metadata = consumer.list_topics(topic, timeout=timeout)
        except KafkaException as exc:
            raise ReplaySourceError(f"Kafka at {bootstrap} does not answer: {exc}") from None
        described = metadata.topics.get(topic)
        if described is None or described.error is not None or not described.partitions:
            reason = described.error.str() if described is not None and described.error else ""
            raise ReplaySourceError(f"topic {topic!r} does not exist on {bootstrap} {reason}"
                                    .rstrip())
        partitions = sorted(described.partitions)
        low: dict[int, int] = {}
        high: dict[int, int] = {}
        for p in partitions:
            try:  # asked again while a topic created a moment ago elects its leaders
                low[p], high[p] = watermarks(consumer, TopicPartition(topic, p),
                                             timeout_s=timeout)
            except KafkaException as exc:
                raise ReplaySourceError(f"{topic}[{p}]: no watermarks: {exc}") from None
        starts = dict(low)
        ends = dict(high)
        if start is not None and start.kind == "time" and start.time_ms is not None:
            starts = _times_to_offsets(consumer, topic, partitions, start.time_ms, high, timeout)
        elif start is not None:
            for p in partitions:
                bound = start.offset_for(p)
                if bound is not None:
                    starts[p] = min(max(bound, low[p]), high[p])
        if end is not None and end.kind == "time" and end.time_ms is not None:
            ends = _times_to_offsets(consumer, topic, partitions, end.time_ms, high, timeout)
        elif end is not None:
            for p in partitions:
                bound = end.offset_for(p)
                if bound is not None:
                    ends[p] = min(bound, high[p])
        return [PartitionRange(topic, p, max(starts[p], low[p]),
                               max(min(ends[p], high[p]), max(starts[p], low[p])))
                for p in partitions]
    finally:
        consumer.close()


class RangeReader:
    """One consumer over several partition ranges; one offset-ordered iterator per partition."""

    def __init__(self, bootstrap: str, ranges: Sequence[PartitionRange],
                 idle_timeout_s: float = 15.0, max_buffered: int = 2000,
                 group_id: str = "rtp-replay", batch: int = 500,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ranges = {(r.topic, r.partition): r for r in ranges if r.size > 0}
        self.idle_timeout_s = idle_timeout_s
        self.max_buffered = max_buffered
        self.batch = batch
        self._clock = clock
        self._buffers: dict[tuple[str, int], deque[RawMessage]] = {
            k: deque() for k in self.ranges}
        self._done: set[tuple[str, int]] = set()
        self._paused: set[tuple[str, int]] = set()
        self._consumer: Consumer | None = None
        if self.ranges:
            self._consumer = _consumer(bootstrap, group_id)
            self._consumer.assign([TopicPartition(t, p, r.start)
                                   for (t, p), r in sorted(self.ranges.items())])

    def _set_paused(self, key: tuple[str, int], paused: bool) -> None:
        assert self._consumer is not None
        if paused == (key in self._paused):
            return
        tp = [TopicPartition(*key)]
        if paused:
            self._consumer.pause(tp)
            self._paused.add(key)
        else:
            self._consumer.resume(tp)
            self._paused.discard(key)

    def _finish(self, key: tuple[str, int]) -> None:
        self._done.add(key)
        self._set_paused(key, True)

    def _fill(self, waiting_for: tuple[str, int]) -> None:
        """Consume until ``waiting_for`` has a buffered message or is done (bounded wait)."""
        assert self._consumer is not None
        last_progress = self._clock()
        while not self._buffers[waiting_for] and waiting_for not in self._done:
            self._set_paused(waiting_for, False)
            got = False
            for msg in self._consumer.consume(self.batch, 0.2):
                key = (msg.topic() or "", msg.partition() or 0)
                err = msg.error()
                if key not in self.ranges or key in self._done:
                    continue
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        self._finish(key)  # at the high watermark: nothing more to come
                        got = True
                        continue
                    if err.fatal() or not err.retriable():
                        raise ReplaySourceError(f"{key[0]}[{key[1]}]: {err.str()}")
                    continue
                offset = msg.offset() or 0
                rng = self.ranges[key]
                if offset >= rng.end:
                    self._finish(key)
                    got = True
                    continue
                _, ts = msg.timestamp()
                self._buffers[key].append(RawMessage(key[0], key[1], offset, int(ts), msg.key(),
                                                     msg.value()))
                got = True
                if offset >= rng.end - 1:
                    self._finish(key)
                elif len(self._buffers[key]) >= self.max_buffered and key != waiting_for:
                    self._set_paused(key, True)
            if got:
                last_progress = self._clock()
            elif self._clock() - last_progress > self.idle_timeout_s:
                raise ReplaySourceError(
                    f"{waiting_for[0]}[{waiting_for[1]}]: nothing arrived for "
                    f"{self.idle_timeout_s:g} s before offset {self.ranges[waiting_for].end}")

    def partition(self, topic: str, partition: int) -> Iterator[RawMessage]:
        """The messages of one planned partition range, in offset order."""
        key = (topic, partition)
        if key not in self.ranges:
            return
        buffer = self._buffers[key]
        while True:
            if not buffer:
                if key in self._done:
                    return
                self._fill(key)
                continue
            message = buffer.popleft()
            if (key not in self._done and key in self._paused
                    and len(buffer) < self.max_buffered // 2):
                self._set_paused(key, False)
            yield message

    def close(self) -> None:
        """Release the consumer (nothing to commit)."""
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    def __enter__(self) -> RangeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
