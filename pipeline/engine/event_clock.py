"""Event time now, per partition: what a worker's timers compare their due times with.

A partition's event time is the newest event time applied in it, moved on by the wall-clock
time elapsed since that event was applied. Live, that is the wall clock (events arrive as
they happen) and an idle partition's timers still come due; while a backlog is caught up
(a restart, a lagging worker), it follows the events being applied, so a visitor's timer
does not fire before their later events, which are still waiting in the backlog, are read.
A partition with no event applied yet (just assigned) has no event time until it is idle
(nothing applied since its assignment), then the wall clock: timers restored with its
state do not fire before the records waiting in it are read.

The wall time since counts only once the partition is **idle**: nothing applied in it for
``idle_after_ms`` of wall time (Flink's idleness, per partition). Until then, and while its
records are known to be waiting (``behind``), its event time is its watermark alone, so
while records keep coming (a backlog caught up, old events produced while they are read, a
busy live partition) timers fire at the same events however fast the worker reads; the
wall clock moves time on only where no record is coming to do it (a quiet partition
live, the end of a replayed range). A timer due less than ``idle_after_ms`` after the
newest event then fires up to that much late.

>>> clock = EventClock(idle_after_ms=1_000)
>>> clock.now_ms(0, wall_ms=5_000)        # never assigned, nothing applied: the wall clock
5000
>>> clock.advance(0, event_time_ms=1_000, wall_ms=5_000)
>>> clock.now_ms(0, wall_ms=5_900), clock.now_ms(0, wall_ms=7_500), clock.watermark(0)
(1000, 3500, 1000)
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["EventClock"]


class EventClock:
    """Per partition: the newest event time applied, the wall time it was applied at, and
    the wall time the partition last applied anything (``idle_after_ms``: see above)."""

    def __init__(self, idle_after_ms: int = 0) -> None:
        if idle_after_ms < 0:
            raise ValueError(f"idle_after_ms must be >= 0, not {idle_after_ms}")
        self.idle_after_ms = idle_after_ms
        self._newest: dict[int, tuple[int, int]] = {}
        self._last_applied: dict[int, int] = {}

    def advance(self, partition: int, event_time_ms: int, wall_ms: int) -> None:
        """An event (or outcome) of ``event_time_ms`` was applied at ``wall_ms``; older ones
        do not move the clock back.

        >>> clock = EventClock(); clock.advance(1, 900, 0); clock.advance(1, 800, 10)
        >>> clock.watermark(1)
        900
        """
        self._last_applied[partition] = wall_ms
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

    def assigned(self, partitions: Iterable[int], wall_ms: int) -> None:
        """``partitions`` were just assigned (and their state restored) at ``wall_ms``: they
        are not idle until nothing was applied in them for ``idle_after_ms`` from now.

        >>> clock = EventClock(idle_after_ms=1_000); clock.assigned([0], 5_000)
        >>> clock.now_ms(0, 5_999) is None, clock.now_ms(0, 6_000)
        (True, 6000)
        """
        for partition in partitions:
            self._last_applied[partition] = wall_ms

    def now_ms(self, partition: int, wall_ms: int, behind: bool = False) -> int | None:
        """Event time now in ``partition``: its watermark plus the wall time since once the
        partition is idle; only its watermark while it is not, or while ``behind`` (records
        of the partition are there, not applied yet). None: nothing applied in it since its
        assignment and not idle (or behind): no time is known yet.

        Behind, the wall time since the last event applied says how fast this worker reads,
        not how long the visitors were idle: a timer fired on it would come before events
        already in the backlog, and whether it did would depend on the worker's speed (the
        same backlog drained twice gave different signals and decisions).

        >>> clock = EventClock(); clock.advance(0, 100, 1_000)
        >>> clock.now_ms(0, 1_000), clock.now_ms(0, 900)  # a wall clock set back: no going back
        (100, 100)
        >>> clock.now_ms(0, 1_500), clock.now_ms(0, 1_500, behind=True)
        (600, 100)
        >>> EventClock().now_ms(7, 1_500, behind=True) is None  # waiting records: unknown
        True
        >>> idle = EventClock(idle_after_ms=300); idle.advance(0, 100, 1_000)
        >>> idle.advance(0, 50, 1_200)  # an older record: not newer, but the partition is busy
        >>> idle.now_ms(0, 1_400), idle.now_ms(0, 1_500)  # idle from 1,500: all the wall time
        (100, 600)
        """
        newest = self._newest.get(partition)
        last = self._last_applied.get(partition)
        busy = behind or (last is not None and wall_ms - last < self.idle_after_ms)
        if newest is None:
            return None if busy else wall_ms
        if busy:
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
            self._last_applied.clear()
            return
        for partition in partitions:
            self._newest.pop(partition, None)
            self._last_applied.pop(partition, None)
