"""Finding one visitor's records on Kafka for the right of access (``GET /v1/privacy/export``).

Every keyed topic is partitioned by murmur2 of the visitor id
(:func:`~pipeline.topics.partitioning.partition_for`), so the visitor's records are on one
partition of each topic; :class:`PersonReader` reads that partition, and only it:

- ``rtp.internal.visitor-profiles`` (the profile views the workers apply; 7 days): the
  latest message keyed by the visitor;
- ``profiles.updates`` (compacted): consent, identify and trait updates whose
  ``visitor_id`` is the visitor (an update keyed by a user id lives on the user id's
  partition and is found only when that is the same partition);
- ``personalization.actions`` (1 day): the visitor's decisions since ``now - window``;
- ``clickstream.events``, ``personalization.outcomes``, ``signals.struggle`` (7 days, keyed
  by visitor): the visitor's records since ``now - history`` on the visitor's partition;
- ``personalization.decisions.log`` (30 days, keyed by *decision* id, so a visitor's entries
  are on every partition): every partition since ``now - history``, entries whose decision
  names the visitor.
- the profile side's table of people (``<worker group>-profiles-profiles-changelog``,
  compacted, keyed by the person's user pseudonym, or by a visitor id before identify):
  every partition, the latest profile under each key that lists the visitor among its
  devices (``visitor_ids``): what rtp keeps about the *person*, whichever key it is under,
  and so the person's other devices.

**Bounds.** Each read covers at most ``history_ms`` (7 days by default, the retention of
events and outcomes; the decision log keeps 30 days, of which only this window is read) and,
per partition, at most the newest ``max_records`` records of that window (200,000 by
default); a part whose window held more is named in ``PersonRecords.truncated`` (the
export says so) and its oldest records are missing. The whole read stops after
``timeout_s`` (503).

The reads block (a confluent-kafka consumer, assigned, no group, nothing committed), so the
service runs them on a worker thread, one export at a time. Their cost grows with the
partition's size over those retentions: an export is a rare request, not a hot path.

>>> from pipeline.settings import Settings
>>> PersonReader(Settings(kafka_port=1, topic_prefix="t."), timeout_s=0.5).topics[:3]
('t.rtp.internal.visitor-profiles', 't.profiles.updates', 't.personalization.actions')
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import structlog
from confluent_kafka import Consumer, KafkaException, TopicPartition

from pipeline.delivery.errors import FeedError
from pipeline.delivery.export import PersonRecords
from pipeline.kafka_log import kafka_config
from pipeline.profiles.errors import ProfileError
from pipeline.profiles.fanout import decode_visitor_message
from pipeline.profiles.state import ProfileState
from pipeline.serde import Codec, SerdeError
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, DECISIONS_LOG, EVENTS, OUTCOMES, PROFILES, SIGNALS
from pipeline.topics.partitioning import partition_for

__all__ = ["HISTORY_MS", "MAX_RECORDS", "VISITOR_VIEWS", "PersonReader", "people_changelog"]

log = structlog.get_logger(__name__)

#: The workers' profile-view stream (declared with the worker's topics).
VISITOR_VIEWS = "rtp.internal.visitor-profiles"

_DAY_MS = 24 * 60 * 60 * 1000
#: Default reach of the events, outcomes, signals and decision-log reads.
HISTORY_MS = 7 * _DAY_MS
#: Default most records read per partition of one of those topics.
MAX_RECORDS = 200_000


def people_changelog(worker_group: str) -> str:
    """The changelog topic of the profile side's ``profiles`` table beside ``worker_group``
    (Faust's ``<app id>-<table>-changelog``; the profile side's app id is
    ``<worker group>-profiles``).

    >>> people_changelog("rtp-personalize")
    'rtp-personalize-profiles-profiles-changelog'
    """
    return f"{worker_group}-profiles-profiles-changelog"


def people_listing(visitor_id: str, messages: list[Any]) -> list[dict[str, Any]]:
    """The latest profile under each key that lists ``visitor_id`` (``messages`` in topic
    order of one partition or several; a later tombstone or a later profile under the
    same key that no longer lists the visitor removes it).

    >>> from types import SimpleNamespace as M
    >>> one = ProfileState(key="u.1", user_id="u.1", visitor_ids=["v1", "v2"]).to_bytes()
    >>> other = ProfileState(key="u.2", user_id="u.2", visitor_ids=["v3"]).to_bytes()
    >>> [p["key"] for p in people_listing("v1", [M(key=lambda: b"u.1", value=lambda: one),
    ...                                          M(key=lambda: b"u.2", value=lambda: other)])]
    ['u.1']
    >>> people_listing("v1", [M(key=lambda: b"u.1", value=lambda: one),
    ...                       M(key=lambda: b"u.1", value=lambda: None)])
    []
    """
    found: dict[bytes, dict[str, Any]] = {}
    for msg in messages:
        value = msg.value()
        state = None
        if value is not None:
            try:
                state = ProfileState.from_bytes(value)
            except ProfileError:
                state = None  # not a profile this version can give back
        if state is not None and visitor_id in (state.key, *state.visitor_ids):
            found[msg.key()] = asdict(state)
        else:
            found.pop(msg.key(), None)
    return list(found.values())


class PersonReader:
    """Reads one visitor's records (see the module docstring); ``read`` blocks.

    ``window_ms`` is how far back decisions are read (the actions topic keeps a day);
    ``history_ms`` and ``max_records`` bound the events, outcomes, signals and decision-log
    reads (see the module docstring); ``timeout_s`` bounds one whole read (a
    :class:`FeedError` past it).
    """

    def __init__(self, settings: Settings, *, window_ms: int = _DAY_MS, timeout_s: float = 20.0,
                 codec: Codec | None = None, clock: Callable[[], float] = time.time,
                 history_ms: int = HISTORY_MS, max_records: int = MAX_RECORDS,
                 people_changelog: str | None = None) -> None:
        self.settings = settings
        self.window_ms = window_ms
        self.history_ms = history_ms
        self.max_records = max_records
        self.timeout_s = timeout_s
        self.codec = codec or Codec.default()
        self.clock = clock
        self.topics = (settings.topic(VISITOR_VIEWS), settings.topic(PROFILES),
                       settings.topic(ACTIONS), settings.topic(EVENTS), settings.topic(OUTCOMES),
                       settings.topic(SIGNALS), settings.topic(DECISIONS_LOG))
        #: The profile side's table changelog (None: profiles by person are not read).
        self.people_changelog = people_changelog

    def read(self, visitor_id: str) -> PersonRecords:
        """Everything found about ``visitor_id``; :class:`FeedError` when Kafka cannot answer
        within ``timeout_s``."""
        deadline = time.monotonic() + self.timeout_s
        consumer = Consumer(kafka_config({
            "bootstrap.servers": self.settings.bootstrap, "group.id": "rtp-privacy-export",
            "enable.auto.commit": False, "enable.partition.eof": False,
            "socket.timeout.ms": 10_000}))
        key = visitor_id.encode()
        views_topic, profiles_topic, actions_topic, *history_topics = self.topics
        truncated: list[str] = []
        try:
            view: dict[str, Any] | None = None
            erased = False
            for msg in self._messages(consumer, views_topic, key, None, deadline):
                if msg.key() != key:
                    continue
                try:
                    message = decode_visitor_message(msg.value()) if msg.value() else None
                except ProfileError:
                    continue  # not the visitor's data in a form we can give back
                if message is None or message.erase:
                    view, erased = None, True
                elif message.view is not None:
                    view, erased = asdict(message.view), False
            consent: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            for msg in self._messages(consumer, profiles_topic, key, None, deadline):
                record = self._decode(msg.value(), "ProfileUpdate")
                if record is None or record.get("visitor_id") != visitor_id \
                        or record.get("kind") == "claim":  # an erasure index, keyed by the
                    continue  # claimed user id's pseudonym (the device's claim is in its events)
                (consent if record.get("kind") == "consent" else updates).append(record)
            since = int(self.clock() * 1000) - self.window_ms
            decisions = [record for msg in self._messages(consumer, actions_topic, key, since,
                                                          deadline)
                         if msg.key() == key
                         and (record := self._decode(msg.value(), "Decision")) is not None
                         and record.get("visitor_id") == visitor_id]
            history_since = int(self.clock() * 1000) - self.history_ms
            found: dict[str, list[dict[str, Any]]] = {}
            for part, topic, schema in zip(
                    ("events", "outcomes", "signals", "decision_log"), history_topics,
                    ("ClickEvent", "Outcome", "StruggleSignal", "DecisionLog"), strict=True):
                every = part == "decision_log"  # keyed by decision id: every partition
                messages = self._messages(
                    consumer, topic, key, history_since, deadline, every_partition=every,
                    limit=self.max_records, truncated=functools.partial(truncated.append, part),
                    # the id is in the value's bytes (Avro strings are UTF-8): decode only those
                    keep=lambda msg: key in (msg.value() or b""))
                found[part] = [record for msg in messages
                               if (every or msg.key() == key)
                               and (record := self._decode(msg.value(), schema)) is not None
                               and _visitor_of(record) == visitor_id]
            people: list[dict[str, Any]] = []
            if self.people_changelog is not None:
                people = people_listing(visitor_id, self._messages(
                    consumer, self.people_changelog, key, None, deadline, every_partition=True,
                    limit=self.max_records, truncated=functools.partial(truncated.append,
                                                                        "person"),
                    keep=_mentions(key)))
        except KafkaException as exc:
            raise FeedError(f"the visitor's records cannot be read: {exc}") from exc
        finally:
            consumer.close()
        return PersonRecords(view=view, erased=erased, consent=tuple(consent),
                             updates=tuple(updates), decisions=tuple(decisions),
                             window_ms=self.window_ms, events=tuple(found["events"]),
                             outcomes=tuple(found["outcomes"]),
                             signals=tuple(found["signals"]),
                             logged=tuple(found["decision_log"]), history_ms=self.history_ms,
                             truncated=tuple(dict.fromkeys(truncated)),
                             people=tuple(people))

    def _decode(self, value: bytes | None, name: str) -> dict[str, Any] | None:
        if value is None:
            return None
        try:
            return self.codec.decode(value, (name,))[1]
        except SerdeError:
            return None  # bad records went to the DLQ when they were consumed

    def _messages(self, consumer: Consumer, topic: str, key: bytes, since_ms: int | None,
                  deadline: float, *, every_partition: bool = False, limit: int | None = None,
                  truncated: Callable[[], None] = lambda: None,
                  keep: Callable[[Any], bool] = lambda msg: True) -> list[Any]:
        """The messages of ``key``'s partition of ``topic`` (or of every partition) from
        ``since_ms`` (else the start) up to its end when asked; at most the newest ``limit``
        of each partition (``truncated`` is called when that cut anything), those ``keep``
        accepts."""
        left = max(0.1, deadline - time.monotonic())
        meta = consumer.list_topics(topic, timeout=min(10.0, left)).topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            return []  # the topic does not exist: nothing is held there
        partitions = sorted(meta.partitions) if every_partition else [
            partition_for(key, len(meta.partitions))]
        out: list[Any] = []
        for partition in partitions:
            out.extend(self._partition(consumer, topic, partition, since_ms, deadline, limit,
                                       truncated, keep))
        return out

    def _partition(self, consumer: Consumer, topic: str, partition: int,
                   since_ms: int | None, deadline: float, limit: int | None,
                   truncated: Callable[[], None], keep: Callable[[Any], bool]) -> list[Any]:
        left = max(0.1, deadline - time.monotonic())
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition),
                                                   timeout=min(10.0, left))
        start = low
        if since_ms is not None:
            found = consumer.offsets_for_times([TopicPartition(topic, partition, since_ms)],
                                               timeout=min(10.0, left))[0]
            start = high if found.offset < 0 else max(low, found.offset)
        if limit is not None and high - start > limit:
            start = high - limit
            truncated()
        if start >= high:
            return []
        consumer.assign([TopicPartition(topic, partition, start)])
        out: list[Any] = []
        last = start - 1
        while last < high - 1:
            if time.monotonic() > deadline:
                raise FeedError(f"reading {topic} took longer than {self.timeout_s:g} s")
            batch = consumer.consume(500, 0.5)
            for msg in batch:
                offset = msg.offset()
                if msg.error() is None and offset is not None:
                    last = offset
                    if offset < high and keep(msg):
                        out.append(msg)
            # offsets may end in a gap (compaction, transaction markers): where the consumer
            # stands says whether the end has been passed
            if not batch and consumer.position(
                    [TopicPartition(topic, partition)])[0].offset >= high:
                break
        consumer.unassign()
        return out


def _mentions(key: bytes) -> Callable[[Any], bool]:
    """A ``keep`` for the people changelog: messages whose bytes hold ``key``, and every
    later message (tombstones included) under a key one of those had, so a profile that
    stopped listing the visitor, or was deleted, is seen to stop."""
    keys: set[bytes] = set()

    def keep(msg: Any) -> bool:
        if key in (msg.value() or b""):
            keys.add(msg.key())
            return True
        return msg.key() in keys

    return keep


def _visitor_of(record: dict[str, Any]) -> str | None:
    """The visitor a record is about (a DecisionLog's is inside its decision)."""
    inner = record.get("decision")
    source = inner if isinstance(inner, dict) else record
    visitor = source.get("visitor_id")
    return visitor if isinstance(visitor, str) else None

