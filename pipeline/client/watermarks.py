"""A partition's watermarks, asked again while a just-created topic elects its leader.

>>> from confluent_kafka import KafkaError
>>> retriable(KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION))
True
>>> retriable(KafkaError(KafkaError._UNKNOWN_PARTITION))
True
"""

from __future__ import annotations

import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

__all__ = ["retriable", "watermarks"]

#: What a topic created a moment ago answers until its partitions have a leader (the
#: broker's codes), or until the client's metadata lists its partitions (librdkafka's local
#: unknown partition, seen in CI when ``rtp config publish`` read the topic it had created).
_NOT_YET = frozenset({KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE,
                      KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_PARTITION})


def retriable(error: KafkaError) -> bool:
    """Whether asking again soon may succeed."""
    return error.code() in _NOT_YET or bool(error.retriable())


def watermarks(consumer: Consumer, partition: TopicPartition,
               timeout_s: float = 30.0) -> tuple[int, int]:
    """``(low, high)`` of ``partition``, retried while the error is a passing one."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            low, high = consumer.get_watermark_offsets(partition, timeout=10)
            return int(low), int(high)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if not isinstance(error, KafkaError) or not retriable(error) \
                    or time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # the partition's leader is being elected
