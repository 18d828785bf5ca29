"""Consumer helper for delivery services and tools: decoded records in, bad ones to the DLQ.

Every message passes through :class:`~pipeline.serde.dead_letter.MessageGate`;
what it rejects is produced to ``<topic>.dlq`` with the reason, and the loop
goes on. A consumer never stops on one bad message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition

from pipeline.client.batches import read_ready
from pipeline.client.producer import EventProducer
from pipeline.kafka_log import kafka_config
from pipeline.serde.codec import Codec
from pipeline.serde.dead_letter import Admitted, MessageGate
from pipeline.serde.semantics import MeaningRules
from pipeline.settings import Settings
from pipeline.topics.definitions import ACTIONS

__all__ = ["ConsumedRecord", "RecordConsumer", "action_consumer"]


@dataclass(frozen=True)
class ConsumedRecord:
    """A decoded record with where it came from."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    timestamp_ms: int
    name: str
    record: dict[str, Any]


class RecordConsumer:
    """Subscribe to topics and yield decoded, checked records; dead-letter the rest."""

    def __init__(self, settings: Settings, topics: Collection[str], expected: Collection[str],
                 group_id: str, *, codec: Codec | None = None,
                 dlq_producer: EventProducer | None = None,
                 auto_offset_reset: str = "earliest", extra: dict[str, Any] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.codec = codec or Codec.default()
        self.gate = MessageGate(self.codec, expected,
                                MeaningRules(max_future_skew_ms=settings.max_future_skew_ms),
                                worker=group_id)
        self.dlq = dlq_producer or EventProducer(settings, self.codec)
        self._clock = clock
        config = {
            "bootstrap.servers": settings.bootstrap,
            "group.id": group_id,
            "auto.offset.reset": auto_offset_reset,
            "enable.auto.commit": True,
            "enable.partition.eof": False,
            **(extra or {}),
        }
        self.consumer = Consumer(kafka_config(config))
        self.topics = list(topics)
        self.consumer.subscribe(self.topics)

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[ConsumedRecord]:
        """One batch of good records (possibly empty); rejects go to their DLQ topic."""
        out: list[ConsumedRecord] = []
        for msg in read_ready(self.consumer, max_records, timeout):
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    self.gate.counts[(msg.topic() or "?", "consumer_error")] += 1
                continue
            if msg.value() is None:
                continue  # a tombstone (an erased visitor on the actions topic): not bad input
            topic, partition, offset = msg.topic() or "", msg.partition() or 0, msg.offset() or 0
            result = self.gate.admit(msg.value(), key=msg.key(), topic=topic, partition=partition,
                                     offset=offset, now_ms=int(self._clock() * 1000))
            if isinstance(result, Admitted):
                _, ts = msg.timestamp()
                out.append(ConsumedRecord(topic, partition, offset, msg.key(), ts,
                                          result.name, result.record))
            else:
                value = self.codec.encode("DeadLetter", result.dead_letter)
                self.dlq.produce_raw(result.dlq_topic, value, result.key)
        return out

    def records(self, idle_timeout: float = 5.0) -> Iterator[ConsumedRecord]:
        """Yield records until nothing arrives for ``idle_timeout`` seconds."""
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < idle_timeout:
            batch = self.poll()
            if batch:
                idle_since = time.monotonic()
            yield from batch

    def seek_to_time(self, since_ms: int, timeout: float = 10.0) -> None:
        """Start every assigned partition at the first offset at or after ``since_ms``."""
        assignment = self.consumer.assignment()
        wanted = [TopicPartition(tp.topic, tp.partition, since_ms) for tp in assignment]
        for tp in self.consumer.offsets_for_times(wanted, timeout=timeout):
            self.consumer.seek(tp)

    def close(self) -> None:
        """Leave the group and flush dead letters."""
        self.consumer.close()
        self.dlq.flush()

    def __enter__(self) -> RecordConsumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def action_consumer(settings: Settings, group_id: str, **kwargs: Any) -> RecordConsumer:
    """A consumer of ``personalization.actions`` yielding Decision records."""
    return RecordConsumer(settings, [settings.topic(ACTIONS)], ("Decision",), group_id, **kwargs)
