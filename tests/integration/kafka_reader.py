"""Read a whole topic back in tests: how many messages it holds, and every one of them (assign
every partition from the start, stop at a count)."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, Message, TopicPartition

from pipeline.settings import Settings


def read_topic(settings: Settings, topic: str, count: int, timeout: float = 30.0) -> list[Message]:
    """Up to ``count`` messages of ``topic`` (all partitions), waiting at most ``timeout`` s."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap, "group.id": "test-reader",
                         "enable.auto.commit": False})
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = metadata.topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])  # offset 0: beginning
        out: list[Message] = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            for msg in consumer.consume(count - len(out), 0.5):
                if msg.error() is None:
                    out.append(msg)
        return out
    finally:
        consumer.close()


def total_messages(settings: Settings, topic: str) -> int:
    """Messages on every partition of ``topic`` now (the sum of its high watermarks)."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap, "group.id": "test-count"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                   for p in partitions)
    finally:
        consumer.close()
