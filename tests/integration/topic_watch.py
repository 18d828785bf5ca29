"""Watch output topics in tests: decode everything from the beginning, wait for conditions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from pipeline.serde import Codec
from pipeline.settings import Settings

Record = dict[str, Any]
#: What :meth:`TopicWatch.latest` answers for a key never seen.
ABSENT = "absent"


class TopicWatch:
    """Every record of one topic, decoded (tombstones as ``None``), with its key."""

    def __init__(self, settings: Settings, topic: str, decode: bool = True) -> None:
        self.topic = topic
        self.codec = Codec.default() if decode else None
        self.seen: list[tuple[bytes | None, Record | None]] = []
        self.consumer = Consumer({"bootstrap.servers": settings.bootstrap,
                                  "group.id": "test-watch", "enable.auto.commit": False,
                                  "allow.auto.create.topics": False})
        self.assigned = False
        self._assign()

    def _assign(self) -> None:
        # A changelog the worker has not created yet has no partitions: try again on poll.
        meta = self.consumer.list_topics(self.topic, timeout=10).topics.get(self.topic)
        if meta is not None and meta.error is None and meta.partitions:
            self.consumer.assign([TopicPartition(self.topic, p, 0) for p in meta.partitions])
            self.assigned = True

    def poll(self, timeout: float = 0.2) -> int:
        """Read what has arrived; returns how many new records."""
        if not self.assigned:
            self._assign()
            if not self.assigned:
                time.sleep(timeout)  # the topic does not exist yet
                return 0
        batch = self.consumer.consume(1000, timeout)
        n = 0
        for msg in batch:
            if msg.error() is not None:
                continue
            value = msg.value()
            record: Record | None = None
            if value is not None:
                record = self.codec.decode(value)[1] if self.codec else {"raw": value}
            self.seen.append((msg.key(), record))
            n += 1
        return n

    def latest(self, key: bytes | str) -> Record | str | None:
        """The newest record of ``key`` seen so far: None for a tombstone, :data:`ABSENT`
        when the key never appeared (on a changelog: nothing was ever stored for it)."""
        wanted = key.encode() if isinstance(key, str) else key
        mine = [r for k, r in self.seen if k == wanted]
        return mine[-1] if mine else ABSENT

    def records(self) -> list[Record]:
        """Decoded non-tombstone records so far."""
        return [r for _, r in self.seen if r is not None]

    def wait_for(self, predicate: Callable[[list[Record]], bool], timeout: float = 60.0,
                 what: str = "condition") -> list[Record]:
        """Poll until ``predicate(records)`` holds; fail with ``what`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            records = self.records()
            if predicate(records):
                return records
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.topic}: timed out waiting for {what}; "
                                     f"{len(records)} records seen")

    def wait_stored(self, keys: Iterable[bytes | str], what: str,
                    timeout: float = 60.0) -> None:
        """Poll until every key's newest record is a value (neither a tombstone nor
        :data:`ABSENT`); fail naming ``what`` after ``timeout``."""
        wanted = list(keys)
        self.wait_for(lambda _: all(self.latest(k) not in (None, ABSENT) for k in wanted),
                      timeout, what)

    def wait_tombstoned(self, keys: Iterable[bytes | str], what: str,
                        timeout: float = 60.0) -> None:
        """Poll until every key's newest record is a tombstone; fail naming ``what`` after
        ``timeout``."""
        wanted = list(keys)
        self.wait_for(lambda _: all(self.latest(k) is None for k in wanted), timeout, what)

    def close(self) -> None:
        self.consumer.close()
