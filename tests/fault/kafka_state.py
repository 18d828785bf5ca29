"""Read what the worker left on the broker: whole topics, latest values, group assignments."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

from confluent_kafka import Consumer, ConsumerGroupState, Message, TopicPartition
from confluent_kafka.admin import AdminClient

from pipeline.client import EventProducer
from pipeline.serde import Codec
from pipeline.settings import Settings

T = TypeVar("T")


def wait_until(probe: Callable[[], T | None], timeout: float, what: str,
               interval: float = 0.1) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)  # polling another process's progress


def _consumer(settings: Settings) -> Consumer:
    return Consumer({"bootstrap.servers": settings.bootstrap, "group.id": "fault-reader",
                     "enable.auto.commit": False, "enable.partition.eof": True,
                     "auto.offset.reset": "earliest"})


def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    """High watermark of every partition of ``topic``."""
    consumer = _consumer(settings)
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in parts}
    finally:
        consumer.close()


def read_all(settings: Settings, topic: str, timeout: float = 60.0) -> list[Message]:
    """Every message of ``topic`` up to the high watermarks as of the call."""
    consumer = _consumer(settings)
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in parts}
        todo = {p for p, end in ends.items() if end > 0}
        consumer.assign([TopicPartition(topic, p, 0) for p in todo])
        out: list[Message] = []
        deadline = time.monotonic() + timeout
        while todo:
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: could not read to the end within {timeout} s")
            # poll() returns as soon as one record is there; consume(n, 0) then takes what is
            # queued (consume(n, 0.5) alone waits the full 0.5 s for fewer than n records).
            first = consumer.poll(0.5)
            for msg in ([] if first is None else [first]) + consumer.consume(2000, 0):
                partition, offset = msg.partition(), msg.offset()
                if partition is None or offset is None:
                    continue
                if msg.error() is None and offset < ends[partition]:
                    out.append(msg)
                if offset + (msg.error() is None) >= ends[partition]:
                    todo.discard(partition)  # read up to the watermark (or hit its end)
        return out
    finally:
        consumer.close()


def latest_by_key(messages: list[Message]) -> dict[bytes, bytes | None]:
    """The last value per key (``None`` for a tombstone), as a compacted topic keeps it."""
    out: dict[bytes, bytes | None] = {}
    for msg in messages:
        key = msg.key()
        if key is not None:
            out[key] = msg.value()
    return out


def decoded(settings: Settings, topic: str, codec: Codec | None = None) -> list[dict[str, Any]]:
    """Every record of an Avro topic, decoded."""
    codec = codec or Codec.default()
    return [codec.decode(m.value())[1] for m in read_all(settings, topic)
            if m.value() is not None]


def decisions_by_trigger(logs: list[dict[str, Any]]) -> dict[str, set[str]]:
    """trigger event id -> the distinct decision ids logged for it."""
    out: dict[str, set[str]] = defaultdict(set)
    for record in logs:
        decision = record["decision"]
        out[str(decision["trigger_event_id"])].add(str(decision["decision_id"]))
    return dict(out)


def send_events(settings: Settings, events: list[dict[str, Any]]) -> None:
    """Produce ``events`` through the SDK, in order, and wait for every acknowledgement."""
    with EventProducer(settings) as producer:
        for event in events:
            producer.send_event(event)
    assert producer.stats.failed == 0, producer.stats.errors


def committed_behind(settings: Settings, group: str, topic: str) -> int:
    """Messages of ``topic`` that ``group`` has not committed yet."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap, "group.id": group,
                         "enable.auto.commit": False})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        committed = consumer.committed([TopicPartition(topic, p) for p in parts], timeout=10)
        behind = 0
        for tp in committed:
            _, high = consumer.get_watermark_offsets(tp, timeout=10)
            behind += max(0, high - max(tp.offset, 0))
        return behind
    finally:
        consumer.close()


def group_assignment(settings: Settings, group: str, topic: str) -> dict[str, set[int]] | None:
    """Partitions of ``topic`` per member of a stable ``group``; None while it rebalances."""
    admin = AdminClient({"bootstrap.servers": settings.bootstrap})
    description = admin.describe_consumer_groups([group])[group].result(10)
    if description.state != ConsumerGroupState.STABLE:
        return None
    out: dict[str, set[int]] = {}
    for member in description.members:
        parts = {tp.partition for tp in member.assignment.topic_partitions if tp.topic == topic}
        out[member.member_id] = parts
    return out
