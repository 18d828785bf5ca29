"""Outputs: batches of sends a commit in the background asks about without waiting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from topologies.loop.outputs import OutputError, Outputs, ProducerOptions


class FakeProducer:
    """A stand-in for librdkafka's producer in examples and unit tests: records wait until
    :meth:`acknowledge` delivers them (offsets count per partition)."""

    def __init__(self) -> None:
        self.queued: list[tuple[str, int, Any]] = []
        self._offsets: dict[tuple[str, int], int] = {}

    def produce(self, topic: str, key: bytes | None = None, value: bytes | None = None,
                on_delivery: Any = None, partition: int = 0) -> None:
        """Queue a record."""
        self.queued.append((topic, partition, on_delivery))

    def acknowledge(self, index: int, error: Any = None) -> None:
        """Deliver the ``index``-th record still queued (``error``: fail it)."""
        topic, partition, callback = self.queued.pop(index)
        offset = self._offsets.get((topic, partition), -1) + 1
        self._offsets[topic, partition] = offset
        callback(error, _Delivered(topic, partition, offset))

    def poll(self, timeout: float) -> int:
        """Nothing to serve: deliveries happen at :meth:`acknowledge`."""
        return 0

    def flush(self, timeout: float) -> int:
        """Deliver everything queued."""
        while self.queued:
            self.acknowledge(0)
        return 0


@dataclass(frozen=True)
class _Delivered:
    """What a delivery callback reads of a message."""

    t: str
    p: int
    o: int

    def topic(self) -> str:
        return self.t

    def partition(self) -> int:
        return self.p

    def offset(self) -> int:
        return self.o


def _outputs() -> tuple[Outputs, FakeProducer]:
    producer = FakeProducer()
    return Outputs("unused:1", producer=producer), producer


def test_a_batch_is_settled_when_it_and_every_earlier_batch_are_acknowledged() -> None:
    outputs, producer = _outputs()
    outputs.send("t", b"a", b"1")
    first = outputs.cut()
    outputs.send("t", b"b", b"2")
    outputs.send("u", b"c", b"3")
    second = outputs.cut()
    assert (outputs.settled(first), outputs.settled(second)) == (False, False)
    producer.acknowledge(2)  # the second batch's records first: the first still waits
    producer.acknowledge(1)
    assert (outputs.settled(first), outputs.settled(second)) == (False, False)
    producer.acknowledge(0)
    assert (outputs.settled(first), outputs.settled(second)) == (True, True)
    assert outputs.settled(outputs.cut())  # an empty batch after settled ones


def test_records_sent_after_a_cut_do_not_hold_its_batch() -> None:
    outputs, producer = _outputs()
    outputs.send("t", b"a", b"1")
    first = outputs.cut()
    outputs.send("t", b"b", b"2")  # open batch, not acknowledged
    producer.acknowledge(0)
    assert outputs.settled(first)
    assert not outputs.settled(outputs.cut())


def test_a_failed_record_fails_every_later_question() -> None:
    outputs, producer = _outputs()
    outputs.send("t", b"a", b"1")
    batch = outputs.cut()
    producer.acknowledge(0, error="broker said no")
    with pytest.raises(OutputError, match="broker said no"):
        outputs.settled(batch)
    with pytest.raises(OutputError):
        outputs.settled(outputs.cut())


def test_tracked_sends_tell_their_highest_offset_per_partition() -> None:
    outputs, _ = _outputs()
    for value in (b"1", b"2"):
        outputs.send("changelog", b"k", value, partition=3, track_offset=True)
    outputs.send("actions", b"k", b"x")
    outputs.flush(1.0)
    assert outputs.take_offsets() == {("changelog", 3): 1}
    assert outputs.take_offsets() == {}


def test_sends_reach_librdkafka_in_order_by_batches_and_at_every_hand_over_point() -> None:
    producer = FakeProducer()
    outputs = Outputs("unused:1", ProducerOptions(send_batch=3), producer=producer)

    def handed() -> list[tuple[str, int]]:
        return [(topic, partition) for topic, partition, _ in producer.queued]

    outputs.send("a", b"k", b"1", partition=0)
    outputs.send("b", b"k", b"2", partition=1)
    assert handed() == []  # waiting for a third
    outputs.send("c", b"k", b"3", partition=2)
    assert handed() == [("a", 0), ("b", 1), ("c", 2)]
    outputs.send("d", b"k", b"4", partition=3)
    outputs.poll()
    outputs.send("e", b"k", b"5", partition=4)
    outputs.hand_over()
    outputs.send("f", b"k", b"6", partition=5)
    batch = outputs.cut()  # a closed batch is in librdkafka's hands: it can settle
    assert handed() == [("a", 0), ("b", 1), ("c", 2), ("d", 3), ("e", 4), ("f", 5)]
    assert not outputs.settled(batch)
    outputs.send("g", b"k", b"7", partition=6)
    outputs.flush(1.0)  # hands over, then everything is acknowledged
    assert handed() == [] and outputs.settled(batch)
    assert outputs.settled(outputs.cut())


def test_a_record_librdkafka_refuses_fails_the_commit_not_the_sender() -> None:
    producer = FakeProducer()
    refused = KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))

    def produce(topic: str, key: bytes | None = None, value: bytes | None = None,
                on_delivery: Any = None, partition: int = 0) -> None:
        if value == b"too big":
            raise refused
        FakeProducer.produce(producer, topic, key, value, on_delivery, partition)

    producer.produce = produce  # type: ignore[method-assign]
    outputs = Outputs("unused:1", ProducerOptions(send_batch=1), producer=producer)
    outputs.send("t", b"k", b"too big")
    outputs.send("t", b"k", b"fine")  # still handed over, after it
    assert [topic for topic, _, _ in producer.queued] == ["t"]
    batch = outputs.cut()
    producer.acknowledge(0)
    with pytest.raises(OutputError, match="t: "):
        outputs.settled(batch)
