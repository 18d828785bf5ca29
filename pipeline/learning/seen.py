"""The ids of the records a learner has applied lately: the first record of an id wins.

Ids are kept as 8-byte BLAKE2b digests, the newest ``capacity`` of them: duplicates come
from a worker redoing the few seconds after its last commit, so a window of recent ids
is enough, and it bounds the learner's checkpoint.

>>> seen = SeenIds(capacity=2)
>>> seen.add("a"), seen.add("a"), seen.add("b"), seen.add("c"), seen.add("a")
(True, False, True, True, True)
>>> SeenIds.from_bytes(seen.to_bytes(), capacity=2).add("c")
False
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

__all__ = ["SeenIds"]

_DIGEST = 8


class SeenIds:
    """A bounded, ordered set of record ids (oldest forgotten first)."""

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self._ids: OrderedDict[bytes, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, record_id: str) -> bool:
        """Remember ``record_id``; False when it was seen already (a duplicate)."""
        digest = hashlib.blake2b(record_id.encode(), digest_size=_DIGEST).digest()
        if digest in self._ids:
            return False
        self._ids[digest] = None
        if len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
        return True

    def to_bytes(self) -> bytes:
        """The digests, oldest first."""
        return b"".join(self._ids)

    @classmethod
    def from_bytes(cls, data: bytes, capacity: int = 100_000) -> SeenIds:
        """Read :meth:`to_bytes` (the newest ``capacity`` digests are kept)."""
        if len(data) % _DIGEST:
            raise ValueError(f"seen ids of {len(data)} bytes are not {_DIGEST}-byte digests")
        seen = cls(capacity)
        digests = [data[i:i + _DIGEST] for i in range(0, len(data), _DIGEST)]
        seen._ids = OrderedDict.fromkeys(digests[-capacity:])
        return seen
