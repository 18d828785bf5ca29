"""When has the service read back everything that was on the topic at start? And the lag.

On start the service notes each partition's end offset (high watermark) as its
*target* and seeks to the first offset inside the ttl horizon. It is caught up
(ready) once its position on every partition has reached that target; from then
on it stays ready, and lag (end offset minus position, summed) is reported.

>>> catch_up = CatchUp(targets={0: 10, 1: 0})
>>> catch_up.advance(0, 4); catch_up.caught_up
False
>>> catch_up.advance(0, 10); catch_up.caught_up
True
>>> catch_up.lag({0: 15, 1: 2})
7
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["CatchUp", "start_offset"]


def start_offset(offset_for_time: int, low: int, high: int) -> int:
    """Where to start reading a partition, given the broker's answer to offsets-for-times.

    The broker answers -1 when no record is at or after the horizon: start at the end.

    >>> start_offset(-1, 0, 40), start_offset(12, 0, 40), start_offset(3, 5, 40)
    (40, 12, 5)
    """
    if offset_for_time < 0:
        return high
    return min(max(offset_for_time, low), high)


class CatchUp:
    """Targets and positions per partition.

    Parameters
    ----------
    targets
        Partition -> end offset when the service started.

    >>> c = CatchUp({0: 2}); c.start(0, 0); c.caught_up, c.lag({0: 2})
    (False, 2)
    """

    def __init__(self, targets: Mapping[int, int]) -> None:
        self.targets = dict(targets)
        self.positions: dict[int, int] = {}
        self._done = not any(t > 0 for t in self.targets.values())

    def start(self, partition: int, offset: int) -> None:
        """The position a partition starts reading at.

        >>> c = CatchUp({0: 5}); c.start(0, 5); c.caught_up
        True
        """
        self.advance(partition, offset)

    def advance(self, partition: int, position: int) -> None:
        """The consumer's position on ``partition`` moved to ``position`` (next offset to read)."""
        if position >= 0:
            self.positions[partition] = max(position, self.positions.get(partition, 0))
        if not self._done:
            self._done = all(t <= 0 or self.positions.get(p, -1) >= t
                             for p, t in self.targets.items())

    @property
    def caught_up(self) -> bool:
        """True once every partition reached its start-time end offset (sticky)."""
        return self._done

    def lag(self, high_watermarks: Mapping[int, int]) -> int:
        """Records on the broker not yet read, summed over partitions.

        >>> CatchUp({0: 3}).lag({0: 3})
        3
        """
        return sum(max(0, high - self.positions.get(p, 0)) for p, high in high_watermarks.items())
