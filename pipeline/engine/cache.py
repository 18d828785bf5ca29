"""A bounded cache of decoded visitor states in front of the worker's table.

Decoding a visitor's state costs more than processing the event, and the worker
wrote that state itself, so it keeps the decoded object. The table stays the
source of truth: every change is still written there (and to its changelog), and
the cache is cleared whenever partitions move.

>>> cache = StateCache(max_entries=2)
>>> cache.put(b"a", 1); cache.put(b"b", 2); cache.put(b"c", 3)
>>> cache.get(b"a") is None, cache.get(b"c")
(True, 3)
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

__all__ = ["StateCache"]

T = TypeVar("T")


class StateCache(Generic[T]):
    """Least-recently-used map of decoded states."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[bytes, T] = OrderedDict()

    def get(self, key: bytes) -> T | None:
        """The cached state, or None (then read the table)."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: bytes, value: T) -> None:
        """Remember ``value`` for ``key``, evicting the least recently used beyond the bound."""
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def forget(self, key: bytes) -> None:
        """Drop ``key`` (deleted, or its state may be stale)."""
        self._items.pop(key, None)

    def clear(self) -> None:
        """Drop everything (partitions were reassigned)."""
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
