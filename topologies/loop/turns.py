"""Where a turn of the consumer loop spends its time: per-phase wall time, slow turns logged.

Every record waits for the turn before the one that applies it: a turn that holds the loop
for 50 ms puts 50 ms on the latency of every record fetched meanwhile. :class:`LoopTurns`
times each turn's phases (``mark`` ends a phase), from the clock alone (a few
``perf_counter`` calls per turn, none per record), and:

- adds each phase's time to a running total per phase (the worker's ``/metrics``:
  ``rtp_worker_loop_phase_seconds_total{phase}``) and each turn's *busy* time (the turn
  less the poll's wait for a first record) to a histogram
  (``rtp_worker_loop_turn_seconds``);
- when ``slow_ms`` > 0, logs every turn busy for at least that long, or whose oldest record
  was fetched at least twice that long after it was stamped (``slow loop turn``, with each
  phase's ms, the records applied, the thread's CPU time in the turn, so a turn the
  process was descheduled in shows as wall time without CPU, the time Python's cycle
  collector ran in it, and the oldest record's age when it was fetched: records that come
  late after short turns were late before the worker). ``rtp worker --slow-turn-ms``;
  off by default.

>>> ticks = iter([0.0, 0.010, 0.011, 0.031, 0.032])  # poll 10 ms, consume 1, apply 20, tick 1
>>> turns = LoopTurns(clock=lambda: next(ticks))
>>> turns.begin(); turns.mark("poll"); turns.mark("consume"); turns.mark("apply")
>>> turns.mark("tick"); turns.end(records=20)
0.022
>>> {phase: round(s, 3) for phase, s in turns.totals.items()}
{'poll': 0.01, 'consume': 0.001, 'apply': 0.02, 'tick': 0.001}
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

import structlog

__all__ = ["POLL", "LoopTurns"]

log = structlog.get_logger("rtp.worker.turns")

#: The phase that waits for a first record (not counted as busy).
POLL = "poll"


class LoopTurns:
    """Times the phases of each loop turn (see the module docstring)."""

    def __init__(self, slow_ms: float = 0.0, clock: Callable[[], float] = time.perf_counter,
                 observe: Callable[[float], None] | None = None) -> None:
        #: Turns busy at least this long are logged, ms (0: none).
        self.slow_ms = slow_ms
        self.clock = clock
        #: Called with each turn's busy seconds (the worker's histogram).
        self.observe = observe
        #: Seconds spent per phase since start.
        self.totals: dict[str, float] = {}
        #: Turns timed, and the longest busy one so far (seconds).
        self.turns = 0
        self.longest = 0.0
        self._phases: dict[str, float] = {}
        self._started = self._last = 0.0
        self._cpu = 0.0
        self._gc = 0.0
        self._gc_started = 0.0
        self._gc_on = False
        self._age_ms = -1
        #: Records applied in the turn that had waited for a commit (a newer model's).
        self.released = 0

    @property
    def diagnosing(self) -> bool:
        """Whether slow turns are logged (the loop then reports records' ages)."""
        return self.slow_ms > 0

    def fetched(self, oldest_ms: int, now_ms: int) -> None:
        """The turn's batch: its oldest record was stamped ``oldest_ms`` (wall clock, ms),
        fetched at ``now_ms``."""
        if oldest_ms >= 0:
            self._age_ms = now_ms - oldest_ms

    def begin(self) -> None:
        """A turn starts."""
        self._phases = {}
        self._age_ms = -1
        self.released = 0
        self._started = self._last = self.clock()
        if self.slow_ms > 0:
            self._cpu = time.thread_time()
            self._gc = 0.0
            if not self._gc_on:
                gc.callbacks.append(self._on_gc)
                self._gc_on = True

    def mark(self, phase: str) -> None:
        """The phase ``phase`` ends now (a phase marked twice in a turn adds up)."""
        now = self.clock()
        phases = self._phases
        phases[phase] = phases.get(phase, 0.0) + now - self._last
        self._last = now

    def end(self, records: int) -> float:
        """The turn ends at its last mark; its busy seconds."""
        totals = self.totals
        for phase, seconds in self._phases.items():
            totals[phase] = totals.get(phase, 0.0) + seconds
        busy = self._last - self._started - self._phases.get(POLL, 0.0)
        self.turns += 1
        if busy > self.longest:
            self.longest = busy
        if self.observe is not None:
            self.observe(busy)
        if self.slow_ms > 0 and (busy * 1000 >= self.slow_ms
                                 or self._age_ms >= 2 * self.slow_ms):
            log.info("slow loop turn", busy_ms=round(busy * 1000, 1), records=records,
                     age_ms=self._age_ms, released=self.released,
                     cpu_ms=round((time.thread_time() - self._cpu) * 1000, 1),
                     gc_ms=round(self._gc * 1000, 1),
                     phases={phase: round(s * 1000, 2) for phase, s in self._phases.items()
                             if s >= 0.0005})
        return round(busy, 6)

    def close(self) -> None:
        """Stop timing Python's collections."""
        if self._gc_on:
            gc.callbacks.remove(self._on_gc)
            self._gc_on = False

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self._gc += time.perf_counter() - self._gc_started
