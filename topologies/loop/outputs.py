"""Records produced without waiting, and how a commit learns they are acknowledged.

``send`` hands a record to librdkafka and returns at once; the delivery reports are
served by :meth:`Outputs.poll` (the loop calls it every turn) and by :meth:`flush`.
A commit in the background never waits: :meth:`Outputs.cut` closes the *batch* of every
record sent so far and :meth:`Outputs.settled` says, without waiting, whether that batch
and every earlier one are acknowledged. A synchronous commit calls :meth:`flush`, which
returns when everything sent so far is acknowledged. Both raise if any record failed, so
a commit never goes past a lost output. For changelog records (``track_offset``) the
highest offset written per partition is kept for :meth:`Outputs.take_offsets`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from pipeline.kafka_log import kafka_config

__all__ = ["OutputError", "Outputs", "ProducerOptions"]


class OutputError(RuntimeError):
    """The broker did not acknowledge a record (the worker must not commit past it)."""


@dataclass(frozen=True)
class ProducerOptions:
    """librdkafka producer settings of the decision path.

    >>> ProducerOptions().to_config("k:9092")["partitioner"]
    'murmur2_random'
    """

    #: A short linger keeps event→action latency low; a commit flushes anyway.
    linger_ms: float = 1.0
    compression: str = "lz4"
    #: Largest record (learner checkpoints can pass Kafka's 1 MB default).
    max_message_bytes: int = 16 * 1024 * 1024
    #: Records handed to librdkafka together, at most (1: each as it is sent). A record
    #: sent waits in :class:`Outputs` until this many wait or the next :meth:`Outputs.poll`,
    #: :meth:`Outputs.hand_over`, cut or flush (the decision path hands over after every
    #: batch of records and timers): handed over one at a time, nearly every record woke
    #: librdkafka's broker thread (~11 µs of the sender's CPU per record against the live
    #: broker, ~5 µs in bursts of 32, measured).
    send_batch: int = 32

    def to_config(self, bootstrap: str) -> dict[str, Any]:
        """The confluent-kafka configuration."""
        return kafka_config({
            "bootstrap.servers": bootstrap,
            "linger.ms": self.linger_ms,
            "compression.type": self.compression,
            "acks": "all",
            "enable.idempotence": True,
            # Java/Faust's partitioner: keys land where the Faust side and other clients
            # put them (the profile side re-keys by person).
            "partitioner": "murmur2_random",
            "message.max.bytes": self.max_message_bytes,
        })


class Outputs:
    """A producer whose sends a commit can wait for, or ask about without waiting."""

    def __init__(self, bootstrap: str, options: ProducerOptions | None = None,
                 producer: Any | None = None) -> None:
        #: librdkafka's producer (another object with its methods in unit tests).
        self.producer = producer or Producer((options or ProducerOptions()).to_config(bootstrap))
        self._failed: list[str] = []
        #: (topic, partition) -> highest offset acknowledged since the last :meth:`take_offsets`
        self._offsets: dict[tuple[str, int], int] = {}
        #: Records not acknowledged yet per batch, oldest first; the last is the open batch.
        #: A one-item list is the counter the batch's delivery callbacks share.
        self._batches: deque[list[int]] = deque([[0]])
        #: The number of the oldest batch in ``_batches`` (every earlier one is settled).
        self._first = 0
        #: The open batch's delivery callbacks (made once per batch, not once per send).
        self._callbacks = self._callbacks_of(self._batches[-1])
        #: Records sent and not handed to librdkafka yet, in order (at most ``_hold``).
        self._waiting: list[tuple[str, bytes | None, bytes | None, int | None,
                                  Callable[..., None]]] = []
        self._hold = max(1, (options or ProducerOptions()).send_batch)

    def send(self, topic: str, key: bytes | None, value: bytes | None,
             partition: int | None = None, track_offset: bool = False) -> None:
        """Produce one record (``partition`` None: by key); never waits for the broker. The
        record is handed to librdkafka with the next ones (:attr:`ProducerOptions.send_batch`)
        or at the next :meth:`poll`, :meth:`hand_over`, :meth:`cut` or :meth:`flush`."""
        self._batches[-1][0] += 1
        self._waiting.append((topic, key, value, partition, self._callbacks[track_offset]))
        if len(self._waiting) >= self._hold:
            self.hand_over()

    def hand_over(self) -> None:
        """Hand every record sent so far to librdkafka, in order (waits only while its
        local queue is full). A record librdkafka refuses fails every later commit."""
        waiting, self._waiting = self._waiting, []
        produce = self.producer.produce
        for topic, key, value, partition, callback in waiting:
            while True:
                try:
                    if partition is None:
                        produce(topic, key=key, value=value, on_delivery=callback)
                    else:
                        produce(topic, key=key, value=value, on_delivery=callback,
                                partition=partition)
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    self.producer.poll(0.05)
                except (KafkaException, ValueError, TypeError) as exc:
                    # Its batch never settles: the commit fails instead of going past it.
                    self._failed.append(f"{topic}: {exc}")
                    break

    def _callbacks_of(self, pending: list[int]) -> tuple[Callable[..., None], Callable[..., None]]:
        """The delivery callbacks of the batch counted by ``pending``: (plain, tracked)."""
        return partial(self._delivered, pending), partial(self._tracked, pending)

    def poll(self) -> None:
        """Hand over the records sent so far and serve delivery reports that are ready
        (never waits for the broker)."""
        if self._waiting:
            self.hand_over()
        self.producer.poll(0)

    def cut(self) -> int:
        """Close the open batch (everything sent so far) and return its number; later
        sends go to the next batch.

        >>> outputs = Outputs("unused:1", producer=object())  # nothing sent: no producer used
        >>> outputs.cut(), outputs.cut(), outputs.settled(1)
        (0, 1, True)
        """
        if self._waiting:
            self.hand_over()  # a batch closed is in librdkafka's hands: it can settle
        self._batches.append([0])
        self._callbacks = self._callbacks_of(self._batches[-1])
        return self._first + len(self._batches) - 2

    def settled(self, batch: int) -> bool:
        """Whether batch number ``batch`` and every earlier one are acknowledged (never
        waits); raises if any record failed."""
        self._raise_failed()
        while len(self._batches) > 1 and self._batches[0][0] == 0:
            self._batches.popleft()
            self._first += 1
        return batch < self._first

    def flush(self, timeout_s: float) -> None:
        """Wait until every record sent so far is acknowledged; raise if one failed."""
        self.hand_over()
        remaining = self.producer.flush(timeout_s)
        if remaining:
            raise OutputError(f"{remaining} records not acknowledged within {timeout_s} s")
        self._raise_failed()

    def _raise_failed(self) -> None:
        if self._failed:  # kept: every later check fails too, nothing commits past it
            raise OutputError(f"{len(self._failed)} records failed, first: {self._failed[0]}")

    def take_offsets(self) -> dict[tuple[str, int], int]:
        """Highest acknowledged offset per partition of the tracked sends since last taken."""
        offsets, self._offsets = self._offsets, {}
        return offsets

    def _delivered(self, pending: list[int], err: KafkaError | None, msg: Message) -> None:
        pending[0] -= 1
        if err is not None:
            self._failed.append(f"{msg.topic()}: {err}")

    def _tracked(self, pending: list[int], err: KafkaError | None, msg: Message) -> None:
        pending[0] -= 1
        if err is not None:
            self._failed.append(f"{msg.topic()}: {err}")
            return
        tp = (str(msg.topic()), int(msg.partition() or 0))
        offset = int(msg.offset() or 0)
        if offset > self._offsets.get(tp, -1):
            self._offsets[tp] = offset

    def close(self, timeout_s: float = 10.0) -> None:
        """Deliver what is queued (best effort)."""
        self.hand_over()
        self.producer.flush(timeout_s)
