"""The producer SDK for the web tier: validate, encode, produce keyed by visitor, report delivery.

Invalid input raises :class:`~pipeline.serde.errors.InvalidEvent` at once, with
the field at fault, and nothing is sent. A ``user_id`` (often an e-mail address) is
replaced by its keyed pseudonym before anything is produced, as the collector does
(:func:`~pipeline.profiles.pseudonym.resolve_pseudonyms`: ``RTP_PSEUDONYM_KEYS``, else
the machine's key file); a pseudonym is kept as it is. Valid records are batched by
librdkafka (``linger.ms``) and acknowledged through delivery reports.

>>> from pipeline.settings import Settings
>>> producer = EventProducer(Settings(kafka_port=1))  # no broker needed to validate
>>> producer.send_event({"visitor_id": ""})
Traceback (most recent call last):
...
pipeline.serde.errors.InvalidEvent: not a valid ClickEvent: ...
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from pipeline.kafka_log import kafka_config
from pipeline.profiles.pseudonym import Pseudonyms, resolve_pseudonyms
from pipeline.serde.codec import Codec
from pipeline.serde.semantics import MeaningRules, check_meaning
from pipeline.settings import Settings
from pipeline.topics.definitions import EVENTS, OUTCOMES, PROFILES
from pipeline.topics.headers import wait_headers

__all__ = ["DeliveryStats", "EventProducer", "ProducerOptions"]


@dataclass(frozen=True)
class ProducerOptions:
    """librdkafka settings the SDK sets; the defaults favour low latency with small batches.

    >>> ProducerOptions().to_config("k:9092")["linger.ms"]
    5
    """

    linger_ms: int = 5
    batch_num_messages: int = 10_000
    compression: str = "lz4"
    acks: str = "all"
    idempotence: bool = True
    queue_max_messages: int = 500_000
    #: Replace ``user_id`` (and a profile update's key) by its keyed pseudonym.
    pseudonymise_user_ids: bool = True

    def to_config(self, bootstrap: str) -> dict[str, Any]:
        """The confluent-kafka ``Producer`` configuration."""
        return kafka_config({
            "bootstrap.servers": bootstrap,
            "linger.ms": self.linger_ms,
            "batch.num.messages": self.batch_num_messages,
            "compression.type": self.compression,
            "acks": self.acks,
            "enable.idempotence": self.idempotence,
            "queue.buffering.max.messages": self.queue_max_messages,
            # The Java client's partitioner, which Faust (aiokafka) also uses: a visitor's
            # events, outcomes and the worker's internal re-keyed topics share a partition.
            "partitioner": "murmur2_random",
        })


@dataclass
class DeliveryStats:
    """Counts of delivery reports; ``errors`` keeps the last few failures."""

    delivered: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class EventProducer:
    """Produce rtp records with validation, single-object encoding and delivery reports."""

    def __init__(self, settings: Settings, codec: Codec | None = None,
                 options: ProducerOptions | None = None,
                 on_delivery: Callable[[KafkaError | None, Message], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.codec = codec or Codec.default()
        self.options = options or ProducerOptions()
        self.rules = MeaningRules(max_future_skew_ms=settings.max_future_skew_ms)
        self.stats = DeliveryStats()
        self._user_callback = on_delivery
        self._clock = clock
        self._producer: Producer | None = None
        self._pseudonyms: Pseudonyms | None = None

    def pseudonym(self, user_id: str) -> str:
        """``user_id`` as it is produced: its keyed pseudonym (unless turned off).

        >>> from pipeline.settings import Settings
        >>> sdk = EventProducer(Settings(pseudonym_keys="sdk-doctest-key-0123"))
        >>> sdk.pseudonym("ann@example.com") == Pseudonyms(("sdk-doctest-key-0123",)).of(
        ...     "ann@example.com"), sdk.pseudonym("ann@example.com").startswith("u.")
        (True, True)
        """
        if not self.options.pseudonymise_user_ids:
            return user_id
        if self._pseudonyms is None:
            self._pseudonyms = resolve_pseudonyms(self.settings)
        return self._pseudonyms.of(user_id, trusted=True)  # the site's own servers

    def _with_pseudonym(self, record: dict[str, Any]) -> dict[str, Any]:
        user = record.get("user_id")
        if isinstance(user, str) and user:
            pseudonym = self.pseudonym(user)
            if pseudonym != user:
                return {**record, "user_id": pseudonym}
        return record

    @property
    def producer(self) -> Producer:
        """The underlying confluent-kafka producer, created on first send."""
        if self._producer is None:
            self._producer = Producer(self.options.to_config(self.settings.bootstrap))
        return self._producer

    def _report(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.stats.delivered += 1
        else:
            self.stats.failed += 1
            self.stats.errors = [*self.stats.errors[-9:], str(err)]
        if self._user_callback is not None:
            self._user_callback(err, msg)

    def encode(self, name: str, record: dict[str, Any]) -> bytes:
        """Validate ``record`` against schema and meaning, and encode it."""
        self.codec.validate(name, record)
        check_meaning(name, record, int(self._clock() * 1000), self.rules)
        return self.codec.encode(name, record)

    def send(self, topic: str, name: str, record: dict[str, Any], key: str | None) -> None:
        """Validate, encode and produce ``record`` to ``topic`` (full name, prefix applied)."""
        value = self.encode(name, record)
        self.produce_raw(topic, value, key.encode() if key is not None else None)

    def produce_raw(self, topic: str, value: bytes | None, key: bytes | None,
                    headers: list[tuple[str, bytes]] | None = None) -> None:
        """Produce bytes unchanged (dead letters, bad-input tests, the collector's messages,
        with their ``headers`` if any); waits if the queue is full."""
        extra: dict[str, Any] = {"headers": headers} if headers else {}
        while True:
            try:
                self.producer.produce(topic, value=value, key=key, on_delivery=self._report,
                                      **extra)
                break
            except BufferError:
                self.producer.poll(0.05)  # local queue full: serve delivery reports, retry
        self.producer.poll(0)

    def send_event(self, event: dict[str, Any], *, awaited: bool = False) -> None:
        """A ClickEvent to ``clickstream.events``, keyed by visitor id.

        ``awaited``: a client waits for this event's decision (delivery's ``trigger=``); the
        record carries the ``rtp-wait`` header and the worker answers "decided: nothing" on
        ``personalization.answers`` when it delivers no action for it.
        """
        event = self._with_pseudonym(event)
        if not awaited:
            self.send(self.settings.topic(EVENTS), "ClickEvent", event, event.get("visitor_id"))
            return
        key = event.get("visitor_id")
        self.produce_raw(self.settings.topic(EVENTS), self.encode("ClickEvent", event),
                         key.encode() if key is not None else None, headers=wait_headers())

    def send_profile_update(self, update: dict[str, Any]) -> None:
        """A ProfileUpdate to ``profiles.updates``, keyed by user id or else visitor id."""
        update = self._with_pseudonym(update)
        key = update.get("user_id") or update.get("visitor_id")
        self.send(self.settings.topic(PROFILES), "ProfileUpdate", update, key)

    def send_outcome(self, outcome: dict[str, Any]) -> None:
        """An Outcome to ``personalization.outcomes``, keyed by visitor id."""
        self.send(self.settings.topic(OUTCOMES), "Outcome", outcome, outcome.get("visitor_id"))

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for outstanding deliveries; returns how many are still undelivered."""
        if self._producer is None:
            return 0
        return int(self._producer.flush(timeout))

    def close(self, timeout: float = 30.0) -> None:
        """Flush and release the producer."""
        remaining = self.flush(timeout)
        self._producer = None
        if remaining:
            raise RuntimeError(f"{remaining} messages were not delivered within {timeout} s")

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
