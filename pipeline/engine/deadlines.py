"""When visitors' pending rewards fall due: a heap of (due time, key), not a scan.

Whoever holds visitor states (the worker, replay, the simulator) adds a visitor's next
deadline after changing its state and asks for the keys due; a key whose state changed
since (an entry that is stale) is simply looked at once more and finds nothing due.

>>> deadlines = Deadlines()
>>> deadlines.add("v1", 600_000); deadlines.add("v2", 300_000); deadlines.add("v1", 600_000)
>>> deadlines.pop_due(400_000), deadlines.pop_due(700_000), len(deadlines)
(['v2'], ['v1'], 0)
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["Deadlines"]

K = TypeVar("K", bound=Hashable)


class Deadlines(Generic[K]):
    """A min-heap of due times with at most one entry per (key, due time)."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, K]] = []
        self._entries: set[tuple[int, K]] = set()

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, key: K, due_ms: int | None) -> None:
        """Remember that ``key`` is due at ``due_ms`` (None: nothing to remember)."""
        if due_ms is None or (due_ms, key) in self._entries:
            return
        self._entries.add((due_ms, key))
        heapq.heappush(self._heap, (due_ms, key))

    def next_due_ms(self) -> int | None:
        """The earliest due time held (None: nothing held).

        >>> d = Deadlines(); d.add("a", 9); d.add("b", 4)
        >>> d.next_due_ms(), Deadlines().next_due_ms()
        (4, None)
        """
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now_ms: int, limit: int | None = None) -> list[K]:
        """The keys due at ``now_ms`` (each once, earliest first; at most ``limit``)."""
        heap = self._heap
        keys: list[K] = []
        seen: set[K] = set()
        while heap and heap[0][0] <= now_ms and (limit is None or len(keys) < limit):
            entry = heapq.heappop(heap)
            self._entries.discard(entry)
            if entry[1] not in seen:
                seen.add(entry[1])
                keys.append(entry[1])
        return keys

    def clear(self) -> None:
        """Forget everything (the worker's partitions changed)."""
        self._heap.clear()
        self._entries.clear()
