"""The actions topic, read in a background thread and handed to the event loop.

Why a confluent-kafka consumer in a thread rather than aiokafka: it is the
client the rest of the SDK uses (``EventProducer``, ``RecordConsumer``), with the
same configuration, librdkafka's fetch performance, and ``offsets_for_times`` for
the rebuild. Its calls block, so they run on their own thread — never on the
event loop that answers HTTP (blocking on the loop is a known trap). Each batch is
handed over with :func:`asyncio.run_coroutine_threadsafe` and the thread waits
until the loop has applied it: that is back-pressure (the consumer never runs
ahead of the store), ordering per partition is kept, and the catch-up position
advances only after the records are in the store, so ``/readyz`` never reports
ready before the store holds what was on the topic.

Every delivery instance reads every partition (``assign``, no group commits), so
any instance can answer for any visitor. On start it reads back over the ttl
horizon: each partition starts at the first offset at or after ``now - horizon``
(``offsets_for_times``), and the end offsets at that moment are the catch-up
targets (:class:`~pipeline.delivery.catchup.CatchUp`). Messages that do not decode
or make no sense go through :class:`~pipeline.serde.MessageGate` to
``<topic>.dlq`` with the reason; the feed carries on. A tombstone (a null value keyed by
visitor id: the worker's, when a visitor is erased or withdraws consent) is handed over
as ``{"visitor_id": V, FORGET: True}``: the store drops the visitor at once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from confluent_kafka import Consumer, KafkaException, TopicPartition

from pipeline.client import EventProducer
from pipeline.client.batches import read_ready
from pipeline.delivery.catchup import CatchUp, start_offset
from pipeline.delivery.errors import FeedError
from pipeline.delivery.options import DeliveryOptions
from pipeline.kafka_log import kafka_config
from pipeline.serde import Admitted, Codec, MeaningRules, MessageGate
from pipeline.settings import Settings
from pipeline.topics import ACTIONS

__all__ = ["FORGET", "ActionFeed", "FeedStatus"]

log = structlog.get_logger(__name__)

RecordsHandler = Callable[[list[dict[str, Any]]], None]

#: Marks a handed-over record that is a visitor's tombstone, not a decision.
FORGET = "_forget"


class _NotYet(Exception):
    """The topic is not readable yet (missing, or a partition without a leader)."""


@dataclass(frozen=True)
class FeedStatus:
    """A snapshot of the feed, replaced as a whole by the consumer thread.

    >>> FeedStatus().caught_up
    False
    """

    started: bool = False
    caught_up: bool = False
    lag: int = 0
    received: int = 0
    rejected: int = 0
    consumer_errors: int = 0
    partitions: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)


class ActionFeed:
    """Consume Decisions from ``personalization.actions`` into ``on_records`` on ``loop``.

    (``topic``, ``schema`` and ``horizon_ms`` make it read another topic the same way: the
    service's answer feed reads ``personalization.answers``' Answer records.)

    ``on_records`` runs on the event loop with each batch of decoded, checked
    Decision records (in partition order). Without a broker, start fails with a
    clear :class:`FeedError` once ``start_timeout_s`` has passed:

    >>> import asyncio
    >>> feed = ActionFeed(Settings(kafka_port=1, topic_prefix="t."),
    ...                   DeliveryOptions(start_timeout_s=0.3), on_records=print)
    >>> feed.topic, feed.alive
    ('t.personalization.actions', True)
    >>> asyncio.run(feed.start())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.delivery.errors.FeedError: cannot read t.personalization.actions on 127.0.0.1:1 ...
    """

    def __init__(self, settings: Settings, options: DeliveryOptions, on_records: RecordsHandler,
                 *, codec: Codec | None = None, dlq: EventProducer | None = None,
                 clock: Callable[[], float] = time.time, topic: str = ACTIONS,
                 schema: str = "Decision", horizon_ms: int | None = None) -> None:
        self.settings = settings
        self.options = options
        self.topic = settings.topic(topic)
        #: How far back the start reads (default: the options' ``horizon_ms``).
        self.horizon_ms = options.horizon_ms if horizon_ms is None else horizon_ms
        self.on_records = on_records
        self.codec = codec or Codec.default()
        self.gate = MessageGate(self.codec, (schema,),
                                MeaningRules(max_future_skew_ms=settings.max_future_skew_ms),
                                worker=options.group_id)
        self.dlq = dlq or EventProducer(settings, self.codec)
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumer: Consumer | None = None
        self._catch_up = CatchUp({})
        self._assigned: list[TopicPartition] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.status = FeedStatus()

    # -- start / stop (called on the event loop) ---------------------------------------------

    async def start(self) -> None:
        """Assign every partition at the horizon and start the consumer thread.

        Raises :class:`FeedError` when the topic does not exist or the broker does not answer.
        """
        self._loop = asyncio.get_running_loop()
        await self._loop.run_in_executor(None, self._setup)
        self._thread = threading.Thread(target=self._run, name=f"rtp-feed-{self.topic}",
                                        daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """True until the consumer thread ends (stopped or failed); before start too."""
        return self._thread is None or self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called (a start still retrying then gives up)."""
        return self._stop.is_set()

    async def stop(self) -> None:
        """Stop the thread, close the consumer, flush dead letters."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, thread.join, 10.0)

    # -- consumer thread --------------------------------------------------------------------

    def _setup(self) -> None:
        """Assign at the horizon, retrying what a young topic answers (no leader yet) until
        ``start_timeout_s``."""
        consumer = Consumer(kafka_config({
            "bootstrap.servers": self.settings.bootstrap,
            "group.id": self.options.group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": False,
            "socket.timeout.ms": 10_000,
        }))
        deadline = time.monotonic() + self.options.start_timeout_s
        while True:
            try:
                starts, targets = self._positions(
                    consumer, max(0.1, min(10.0, deadline - time.monotonic())))
                break
            except (KafkaException, _NotYet) as exc:
                if time.monotonic() >= deadline or self._stop.is_set():
                    consumer.close()
                    raise FeedError(f"cannot read {self.topic} on {self.settings.bootstrap} "
                                    f"within {self.options.start_timeout_s:g} s: {exc}") from exc
                time.sleep(0.2)  # on the setup thread, never on the event loop
        partitions = sorted(starts)
        self._assigned = [TopicPartition(self.topic, p, starts[p]) for p in partitions]
        consumer.assign(self._assigned)
        self._catch_up = CatchUp(targets)
        for p, offset in starts.items():
            self._catch_up.start(p, offset)
        self._consumer = consumer
        to_read = sum(targets[p] - starts[p] for p in partitions)
        self._publish_status(lag=to_read, received=0, errors=0)
        log.info("action feed assigned", topic=self.topic, partitions=len(partitions),
                 to_read=to_read, horizon_ms=self.horizon_ms)

    def _positions(self, consumer: Consumer,
                   timeout: float = 10.0) -> tuple[dict[int, int], dict[int, int]]:
        """Start offset (first inside the horizon) and end offset of every partition."""
        metadata = consumer.list_topics(self.topic, timeout=timeout)
        meta = metadata.topics.get(self.topic)
        if meta is None or meta.error is not None or not meta.partitions:
            raise _NotYet(f"topic {self.topic} does not exist (run `rtp topics apply`)")
        partitions = sorted(meta.partitions)
        since = int(self._clock() * 1000) - self.horizon_ms
        found = consumer.offsets_for_times(
            [TopicPartition(self.topic, p, since) for p in partitions], timeout=timeout)
        starts: dict[int, int] = {}
        targets: dict[int, int] = {}
        for tp in found:
            if tp.error is not None:
                raise _NotYet(f"partition {tp.partition}: {tp.error}")
            low, high = consumer.get_watermark_offsets(TopicPartition(self.topic, tp.partition),
                                                       timeout=timeout)
            targets[tp.partition] = high
            starts[tp.partition] = start_offset(tp.offset, low, high)
        return starts, targets

    def _publish_status(self, lag: int, received: int, errors: int) -> None:
        by_reason: dict[str, int] = {}
        for (_, reason), n in self.gate.counts.items():
            by_reason[reason] = by_reason.get(reason, 0) + n
        self.status = FeedStatus(started=True, caught_up=self._catch_up.caught_up, lag=lag,
                                 received=received, rejected=sum(by_reason.values()),
                                 consumer_errors=errors, partitions=len(self._assigned),
                                 rejected_by_reason=by_reason)

    def _hand_over(self, batch: list[dict[str, Any]]) -> bool:
        """Apply ``batch`` on the loop and wait for it; False if stopping meanwhile."""
        assert self._loop is not None

        async def apply() -> None:
            self.on_records(batch)

        future = asyncio.run_coroutine_threadsafe(apply(), self._loop)
        while True:
            try:
                future.result(timeout=0.5)
                return True
            except TimeoutError:
                if self._stop.is_set() or self._loop.is_closed():
                    future.cancel()
                    return False

    def _lag(self, consumer: Consumer) -> int:
        """Lag from the high watermarks every fetch response carries (no request: asking the
        broker would queue behind the long-poll fetch on the same connection, about 0.5 s per
        partition on an idle topic, and stall the loop)."""
        highs = {}
        for tp in self._assigned:
            _, high = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition),
                                                     cached=True)
            if high >= 0:
                highs[tp.partition] = high
        return self._catch_up.lag(highs)

    def _run(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        received = errors = 0
        try:
            while not self._stop.is_set():
                batch: list[dict[str, Any]] = []
                for msg in read_ready(consumer, self.options.poll_max_records,
                                      self.options.poll_timeout_s):
                    if msg.error() is not None:
                        errors += 1
                        continue
                    if msg.value() is None and msg.key():
                        batch.append({"visitor_id": msg.key().decode(errors="replace"),
                                      FORGET: True})
                        continue
                    result = self.gate.admit(
                        msg.value(), key=msg.key(), topic=msg.topic() or self.topic,
                        partition=msg.partition() or 0, offset=msg.offset() or 0,
                        now_ms=int(self._clock() * 1000))
                    if isinstance(result, Admitted):
                        batch.append(result.record)
                    else:
                        value = self.codec.encode("DeadLetter", result.dead_letter)
                        self.dlq.produce_raw(result.dlq_topic, value, result.key)
                        log.warning("record dead-lettered", topic=self.topic,
                                    reason=result.reason,
                                    partition=msg.partition(), offset=msg.offset())
                if batch:
                    if not self._hand_over(batch):
                        break
                    received += len(batch)
                for tp in consumer.position(self._assigned):
                    self._catch_up.advance(tp.partition, tp.offset)
                self._publish_status(self._lag(consumer), received, errors)
        except Exception:  # the thread must not die silently
            log.exception("feed stopped on an error", topic=self.topic)
            raise
        finally:
            consumer.close()
            self.dlq.flush(5.0)
