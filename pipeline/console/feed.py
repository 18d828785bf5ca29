"""The topics the console reads, consumed in a background thread into a :class:`ConsoleTally`.

A confluent-kafka consumer (the client the rest of rtp uses) on its own thread, never
on the event loop that answers HTTP. It ``assign``s every partition of every topic it
reads (no group membership, no commits: every console sees everything), starting at the
first record inside the horizon (``offsets_for_times``). Topics that do not exist yet
(the worker creates its purchases topic when it starts) are looked for again every few
seconds. Records are decoded with the contracts' codec; one that does not decode is
counted (``undecodable``) and skipped: the console only observes, it never writes.

>>> from pipeline.settings import Settings
>>> sorted(ConsoleFeed.kinds(Settings(topic_prefix="t.")).values())[:3]
['ClickEvent', 'ClickEvent', 'DeadLetter']
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import structlog
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from pipeline.console.options import ConsoleOptions
from pipeline.console.tally import ConsoleTally
from pipeline.delivery.catchup import start_offset
from pipeline.engine.routing import CONVERSIONS
from pipeline.kafka_log import kafka_config
from pipeline.serde import Codec, SerdeError
from pipeline.serde.dead_letter import dlq_topic
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, DECISIONS_LOG, EVENTS, OUTCOMES, PROFILES, SIGNALS

__all__ = ["ConsoleFeed", "FeedState"]

log = structlog.get_logger(__name__)

#: Seconds between looks for topics that were missing.
_LOOK_AGAIN_S = 2.0


@dataclass(frozen=True)
class FeedState:
    """Where the feed is: topics assigned, still missing, and whether it has caught up.

    >>> FeedState().caught_up
    False
    """

    assigned: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    caught_up: bool = False
    behind: int = 0
    undecodable: int = 0
    error: str = ""


class ConsoleFeed:
    """Reads the console's topics for ``settings`` into ``tally`` (guarded by ``lock``)."""

    def __init__(self, settings: Settings, options: ConsoleOptions, tally: ConsoleTally,
                 lock: threading.Lock, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.options = options
        self.tally = tally
        self.lock = lock
        self.codec = Codec.default()
        self.topics = self.kinds(settings)
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._targets: dict[tuple[str, int], int] = {}
        #: Next offset to read per partition (from its start inside the horizon).
        self._positions: dict[tuple[str, int], int] = {}
        self._assigned: set[str] = set()
        self.state = FeedState(missing=tuple(self.topics))

    @staticmethod
    def kinds(settings: Settings) -> dict[str, str]:
        """Topic -> the record it holds, for every topic the console reads."""
        kinds = {settings.topic(DECISIONS_LOG): "DecisionLog",
                 settings.topic(SIGNALS): "StruggleSignal",
                 settings.topic(OUTCOMES): "Outcome",
                 settings.topic(EVENTS): "ClickEvent",
                 settings.topic(CONVERSIONS): "ClickEvent"}
        for source in (EVENTS, PROFILES, ACTIONS, OUTCOMES):
            kinds[settings.topic(dlq_topic(source))] = "DeadLetter"
        return kinds

    def start(self) -> None:
        """Start the consumer thread."""
        self._thread = threading.Thread(target=self._run, name="rtp-console-feed", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the thread and close the consumer."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        """True until the thread ends (before start too)."""
        return self._thread is None or self._thread.is_alive()

    # -- thread ---------------------------------------------------------------------------------

    def _run(self) -> None:
        consumer = Consumer(kafka_config({
            "bootstrap.servers": self.settings.bootstrap,
            "group.id": f"{self.settings.topic_prefix}rtp-console",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
            "socket.timeout.ms": 10_000,
        }))
        looked = float("-inf")
        positions = self._positions
        try:
            while not self._stop.is_set():
                if len(self._assigned) < len(self.topics) and \
                        time.monotonic() - looked >= _LOOK_AGAIN_S:
                    looked = time.monotonic()
                    try:
                        self._assign_new(consumer)
                    except KafkaException as exc:
                        self._publish(positions, error=str(exc))
                if not self._assigned:
                    self._stop.wait(self.options.poll_timeout_s)
                    continue
                messages = consumer.consume(500, self.options.poll_timeout_s)
                self._apply(messages, positions)
                self._publish(positions)
        except Exception as exc:  # the thread must say why it ended
            log.exception("console feed stopped", error=str(exc))
            self._publish(positions, error=str(exc))
            raise
        finally:
            consumer.close()

    def _assign_new(self, consumer: Consumer) -> None:
        missing = [t for t in self.topics if t not in self._assigned]
        metadata = consumer.list_topics(timeout=10)
        since = int(self._clock() * 1000) - self.options.horizon_ms
        new: list[TopicPartition] = []
        for topic in missing:
            meta = metadata.topics.get(topic)
            if meta is None or meta.error is not None or not meta.partitions:
                continue
            asked = [TopicPartition(topic, p, since) for p in sorted(meta.partitions)]
            found = consumer.offsets_for_times(asked, timeout=10)
            if any(tp.error is not None for tp in found):
                continue  # a young partition without a leader: next look
            for tp in found:
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, tp.partition), timeout=10)
                start = start_offset(tp.offset, low, high)
                self._targets[(topic, tp.partition)] = high
                self._positions[(topic, tp.partition)] = start
                new.append(TopicPartition(topic, tp.partition, start))
            self._assigned.add(topic)
            if topic.endswith(CONVERSIONS):
                with self.lock:
                    self.tally.purchases_available()
        if new:
            consumer.incremental_assign(new)
            log.info("console reads", topics=sorted({tp.topic for tp in new}))

    def _apply(self, messages: list[Message], positions: dict[tuple[str, int], int]) -> None:
        undecodable = 0
        with self.lock:
            for msg in messages:
                if msg.error() is not None:
                    continue
                topic = str(msg.topic())
                positions[(topic, int(msg.partition() or 0))] = int(msg.offset() or 0) + 1
                self.tally.count_record(topic)
                value = msg.value()
                if value is None:
                    continue
                try:
                    _, record = self.codec.decode(value, (self.topics[topic],))
                except SerdeError:
                    undecodable += 1
                    continue
                self._hand_over(topic, record, int(msg.timestamp()[1]))
        if undecodable:
            self.state = replace(self.state, undecodable=self.state.undecodable + undecodable)

    def _hand_over(self, topic: str, record: dict[str, Any], at_ms: int) -> None:
        kind = self.topics[topic]
        if kind == "DecisionLog":
            self.tally.add_decision(record, at_ms)
        elif kind == "StruggleSignal":
            self.tally.add_signal(record, at_ms)
        elif kind == "Outcome":
            self.tally.add_outcome(record)
        elif kind == "DeadLetter":
            self.tally.add_dead_letter(record)
        elif topic == self.settings.topic(CONVERSIONS):
            self.tally.add_purchase(record)
        else:
            self.tally.add_event(record, at_ms)

    def _publish(self, positions: dict[tuple[str, int], int], error: str = "") -> None:
        # Behind the end offsets seen when each partition was assigned (the catch-up).
        behind = sum(max(0, high - positions.get(tp, 0)) for tp, high in self._targets.items())
        self.state = FeedState(
            assigned=tuple(sorted(self._assigned)),
            missing=tuple(sorted(set(self.topics) - self._assigned)),
            caught_up=bool(self._assigned) and behind == 0,
            behind=behind, undecodable=self.state.undecodable, error=error)
