"""A Faust table read and written partition by partition, outside of Faust's event context.

Faust's ``table[key] = value`` takes the partition from the event being processed and
sends its changelog record in the background. The worker commits many records' changes
at once, after the events that made them, and must know when the changelog has them;
so it writes here: the local RocksDB of the partition at once, and the changelog record
whose delivery the returned future reports. Faust's own bookkeeping (the changelog
offset a restart resumes from) follows the changelog callbacks as with its own writes.

Uses ``Store._db_for_partition`` of faust-streaming's RocksDB store (pinned < 0.16).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from faust.types import TableT

__all__ = ["PartitionTable"]

#: Keys Faust keeps in every RocksDB partition for itself (e.g. the changelog offset).
_FAUST_KEYS = b"__faust"


class PartitionTable:
    """Raw-bytes access to one partition at a time of a RocksDB-backed Faust table."""

    def __init__(self, table: TableT[bytes, bytes]) -> None:
        self.table = table

    def _db(self, partition: int) -> Any:
        return self.table.data._db_for_partition(partition)  # type: ignore[attr-defined]

    def on_disk(self, partition: int) -> bool:
        """Whether this worker's folder holds the partition (assigned now or before)."""
        return bool(self.table.data.partition_path(partition).exists())  # type: ignore[attr-defined]

    def get(self, partition: int, key: bytes) -> bytes | None:
        """The stored value of ``key`` in ``partition``, or None."""
        value = self._db(partition).get(key)
        return bytes(value) if value is not None else None

    def write(self, partition: int, key: bytes, value: bytes | None) -> asyncio.Future[Any]:
        """Store ``value`` (None: delete) locally now; the future completes with the changelog."""
        db = self._db(partition)
        if value is None:
            db.delete(key)
        else:
            db.put(key, value)
        return self.table.send_changelog(partition, key, value,
                                         key_serializer="raw", value_serializer="raw")

    def items(self, partition: int) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) of the partition, Faust's own keys left out."""
        for key, value in self._db(partition).items():
            if not bytes(key).startswith(_FAUST_KEYS):
                yield bytes(key), bytes(value)
