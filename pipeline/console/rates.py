"""Decisions per second: counts per whole second of the decision records' timestamps.

>>> rate = PerSecond(keep_seconds=60)
>>> for at in (1_000, 1_500, 2_100, 4_900):
...     rate.add(at)
>>> rate.series(now_ms=5_000, seconds=5)
[[0, 0], [1, 2], [2, 1], [3, 0], [4, 1]]
>>> rate.per_second(now_ms=5_000, window_s=4)
1.0
"""

from __future__ import annotations

from collections import Counter

__all__ = ["PerSecond"]


class PerSecond:
    """Counts by second; seconds older than ``keep_seconds`` before the newest are dropped."""

    def __init__(self, keep_seconds: int) -> None:
        self.keep_seconds = keep_seconds
        self._counts: Counter[int] = Counter()
        self._newest = 0

    def add(self, at_ms: int) -> None:
        """One record at ``at_ms``."""
        second = at_ms // 1000
        self._counts[second] += 1
        if second > self._newest:
            self._newest = second
            if len(self._counts) > 2 * self.keep_seconds:
                floor = second - self.keep_seconds
                for old in [s for s in self._counts if s < floor]:
                    del self._counts[old]

    def series(self, now_ms: int, seconds: int) -> list[list[int]]:
        """``[second, count]`` for the ``seconds`` whole seconds before ``now_ms``."""
        end = now_ms // 1000
        return [[s, self._counts.get(s, 0)] for s in range(end - seconds, end)]

    def per_second(self, now_ms: int, window_s: int) -> float:
        """Mean records per second over the ``window_s`` whole seconds before ``now_ms``."""
        return sum(c for _, c in self.series(now_ms, window_s)) / window_s
