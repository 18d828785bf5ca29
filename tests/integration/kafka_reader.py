"""Read a whole topic back in tests: assign every partition from the start, stop at a count."""

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
