"""Read a whole topic back in tests: how many messages it holds, and every one of them (assign
every partition from the start, stop at a count); or every topic under a prefix to its end."""

from __future__ import annotations

import time
import uuid

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


def read_prefix_topics(settings: Settings) -> dict[str, list[tuple[bytes, bytes]]]:
    """Key and value of every record on every topic under the settings' prefix, by topic
    (sorted), each partition read to the end it had when asked."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap,
                         "group.id": f"read-all-{uuid.uuid4().hex[:6]}",
                         "enable.auto.commit": False})
    out: dict[str, list[tuple[bytes, bytes]]] = {}
    try:
        metadata = consumer.list_topics(timeout=10)
        for topic in sorted(t for t in metadata.topics if t.startswith(settings.topic_prefix)):
            parts = [TopicPartition(topic, p, 0) for p in metadata.topics[topic].partitions]
            ends = {tp.partition: consumer.get_watermark_offsets(tp, timeout=10)[1]
                    for tp in parts}
            todo = {p for p, end in ends.items() if end > 0}
            out[topic] = []
            if not todo:
                continue
            consumer.assign(parts)
            deadline = time.monotonic() + 60
            while todo:
                assert time.monotonic() < deadline, f"could not read {topic} to its end"
                for msg in consumer.consume(1000, 0.5):
                    if msg.error() is not None:
                        continue
                    out[topic].append((msg.key() or b"", msg.value() or b""))
                    if msg.offset() + 1 >= ends[msg.partition()]:
                        todo.discard(msg.partition())
            consumer.unassign()
    finally:
        consumer.close()
    return out
