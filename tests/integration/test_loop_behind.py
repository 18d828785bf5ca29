"""The consumer loop knows, per partition, whether records wait to be applied (real broker).

A worker's timers follow a partition's events alone while it is behind (a backlog): the
loop's :meth:`~topologies.loop.loop.ConsumerLoop.behind` must say "behind" while records
of the partition are fetched or known past what was applied, and "caught up" once all are
applied, from librdkafka's own positions and high watermarks.
"""

from __future__ import annotations

import threading
import uuid

from confluent_kafka import Producer

from pipeline.settings import Settings
from pipeline.topics.admin import apply_topics
from pipeline.topics.definitions import TopicSpec
from topologies.loop.loop import ConsumerLoop, ConsumerOptions, Record


class _Applied:
    """A processor that keeps what it is given and, at each tick after new records,
    whether the loop says partition 0 is behind."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.behind_at_ticks: list[bool] = []
        self.loop: ConsumerLoop | None = None
        self._ticked = 0

    def assigned(self, partitions: list[int]) -> None:
        pass

    def revoked(self, partitions: list[int]) -> None:
        pass

    def lost(self) -> None:
        pass

    def apply(self, record: Record) -> None:
        self.records.append(record)

    def tick(self, now: float) -> None:
        if self.loop is not None and len(self.records) > self._ticked:
            self._ticked = len(self.records)
            self.behind_at_ticks.append(self.loop.behind(0))
            if self._ticked >= 40:
                self.loop.stop()

    def write(self) -> bool:
        return True

    def start_write(self) -> bool:
        return True

    def written(self, budget_s: float | None = None) -> bool:
        return True


def test_behind_while_a_backlog_is_applied_and_caught_up_after(kafka: Settings) -> None:
    topic = f"{kafka.topic_prefix}behind-{uuid.uuid4().hex[:8]}"
    apply_topics(kafka.bootstrap, [TopicSpec(topic, 2, 1, "", "", {})])
    producer = Producer({"bootstrap.servers": kafka.bootstrap})
    sent = [f"r{i}".encode() for i in range(40)]
    for value in sent:
        producer.produce(topic, value, partition=0)
    producer.flush(10)
    processor = _Applied()
    loop = ConsumerLoop(kafka.bootstrap, f"{topic}-group", [topic], processor, 60.0,
                        ConsumerOptions(batch_size=10))
    processor.loop = loop
    runner = threading.Thread(target=loop.run, daemon=True)
    runner.start()
    runner.join(60)
    assert not runner.is_alive(), "the loop did not apply the 40 records within 60 s"
    assert [r.value for r in processor.records] == sent  # nothing lost, nothing extra
    # Batches of at most 10 of the 40 records fetched at once: behind after the first,
    # caught up after the last.
    assert processor.behind_at_ticks[0] is True
    assert processor.behind_at_ticks[-1] is False
    assert len(processor.behind_at_ticks) >= 4
