"""A bounded per-key counter, the state shape of the counting rules.

>>> c = KeyCounts()
>>> c.add(7, capacity=2), c.add(7, capacity=2), c.add(8, capacity=2), c.add(9, capacity=2)
(1, 2, 1, 0)
>>> KeyCounts.from_obj(c.to_obj()) == c
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self

__all__ = ["KeyCounts"]


@dataclass(slots=True)
class KeyCounts:
    """Counts per hashed key, at most ``capacity`` keys (new keys beyond it are not counted).

    >>> KeyCounts({1: 2}).counts
    {1: 2}
    """

    counts: dict[int, int] = field(default_factory=dict)

    def add(self, key: int, capacity: int) -> int:
        """Count one more for ``key``; the new count, or 0 when the key did not fit.

        >>> KeyCounts().add(3, capacity=0)
        0
        """
        if key not in self.counts and len(self.counts) >= capacity:
            return 0
        count = self.counts.get(key, 0) + 1
        self.counts[key] = count
        return count

    def to_obj(self) -> list[int]:
        """Flat list ``[key, count, ...]``.

        >>> KeyCounts({1: 2}).to_obj()
        [1, 2]
        """
        return [v for k, n in self.counts.items() for v in (k, n)]

    @classmethod
    def from_obj(cls, obj: Any) -> Self:
        """Inverse of :meth:`to_obj`.

        >>> KeyCounts.from_obj([1, 2]).counts
        {1: 2}
        """
        values = [int(v) for v in obj]
        return cls({values[i]: values[i + 1] for i in range(0, len(values) - 1, 2)})
