"""Event time now, per partition: what a worker's timers compare their due times with.

A partition's event time is the newest event time applied in it, moved on by the wall-clock
time elapsed since that event was applied. Live, that is the wall clock (events arrive as
they happen) and an idle partition's timers still come due; while a backlog is caught up
(a restart, a lagging worker), it follows the events being applied, so a visitor's timer
does not fire before their later events, which are still waiting in the backlog, are read.
A partition with no event applied yet (just assigned) is at the wall clock. While the
partition's records are known to be waiting (``behind``), its event time is its watermark
alone: timers fire at the same events however fast the backlog is read.

>>> clock = EventClock()
>>> clock.now_ms(0, wall_ms=5_000)        # nothing applied yet: the wall clock
5000
>>> clock.advance(0, event_time_ms=1_000, wall_ms=5_000)
>>> clock.now_ms(0, wall_ms=5_000), clock.now_ms(0, wall_ms=7_500), clock.watermark(0)
(1000, 3500, 1000)
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["EventClock"]


class EventClock:
    """Per partition: the newest event time applied and the wall time it was applied at."""

    def __init__(self) -> None:
        self._newest: dict[int, tuple[int, int]] = {}

    def advance(self, partition: int, event_time_ms: int, wall_ms: int) -> None:
        """An event (or outcome) of ``event_time_ms`` was applied at ``wall_ms``; older ones
        do not move the clock back.

        >>> clock = EventClock(); clock.advance(1, 900, 0); clock.advance(1, 800, 10)
        >>> clock.watermark(1)
        900
        """
        newest = self._newest.get(partition)
        if newest is None or event_time_ms > newest[0]:
            self._newest[partition] = (event_time_ms, wall_ms)

    def watermark(self, partition: int) -> int | None:
        """The newest event time applied in ``partition`` (None: none yet).

        >>> EventClock().watermark(3) is None
        True
        """
        newest = self._newest.get(partition)
        return None if newest is None else newest[0]

    def now_ms(self, partition: int, wall_ms: int, behind: bool = False) -> int:
        """Event time now in ``partition``: its watermark plus the wall time since; only its
        watermark while ``behind`` (records of the partition are there, not applied yet).

        Behind, the wall time since the last event applied says how fast this worker reads,
        not how long the visitors were idle: a timer fired on it would come before events
        already in the backlog, and whether it did would depend on the worker's speed (the
        same backlog drained twice gave different signals and decisions).

        >>> clock = EventClock(); clock.advance(0, 100, 1_000)
        >>> clock.now_ms(0, 1_000), clock.now_ms(0, 900)  # a wall clock set back: no going back
        (100, 100)
        >>> clock.now_ms(0, 1_500), clock.now_ms(0, 1_500, behind=True)
        (600, 100)
        """
        newest = self._newest.get(partition)
        if newest is None:
            return wall_ms
        if behind:
            return newest[0]
        return newest[0] + max(0, wall_ms - newest[1])

    def forget(self, partitions: Iterable[int] | None = None) -> None:
        """Forget ``partitions`` (None: all), e.g. revoked ones.

        >>> clock = EventClock(); clock.advance(0, 1, 1); clock.forget([0])
        >>> clock.watermark(0) is None
        True
        """
        if partitions is None:
            self._newest.clear()
            return
        for partition in partitions:
            self._newest.pop(partition, None)
