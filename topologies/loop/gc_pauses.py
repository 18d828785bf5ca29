"""Python's cycle collector kept off the event path.

A worker holds tens of thousands of decoded visitor states (the state cache, 50,000 by
default), each some 23 objects the cycle collector tracks. CPython runs a *full*
collection, which walks every tracked object, whenever the objects that survived into the
oldest generation grew by a quarter since the last one. With new visitors' states
replacing evicted ones that recurs: with a full cache (about 1.2 million tracked objects)
every ~12,000 new states, i.e. every ~12 s when every event is a new visitor at 1,000/s
(the latency bench), and each walk holds the loop. Measured on this shared 2-core machine
while other work ran: 30,000 new visitors' page views through the engine, per-event time
p50 0.18 ms, max 1,125 ms, the max being a full collection of 1.1 s.

The engine makes no cyclic garbage in steady state (measured: a second pass of 20,000
simulator events through the engine left 0 unreachable objects for the collector), so
those walks free nothing; its states are freed by reference counting when the cache
evicts them. The policy: youngest-generation collections as usual (they walk only new
objects, so they are short); the objects alive after start-up frozen out of every later
walk; no automatic full collection; one full collection every ``full_every_s`` seconds
(default 10 minutes) as a safety net for the rare cycle (an exception's traceback, a
library's), logged with its duration and what it freed.

Nor, by default, an automatic collection of the middle generation
(:attr:`GcOptions.middle_collections`): the objects that survive a young collection are
new visitors' states and their parts, about 25 per new visitor, which a middle
collection walks once more (at ~140 ns each: 3.4 µs per new visitor's event on the
decision-path bench, measured with ``gc.callbacks``, against 2.5 µs for the young ones)
before moving them to the oldest generation, freeing nothing. Without it they stay in the
middle generation, which no automatic collection walks, until the safety net; a cycle
that lived through a young collection waits for the safety net too (as one that reached
the oldest generation always did).

>>> import gc
>>> before = gc.get_threshold()
>>> policy = GcPolicy(GcOptions(full_every_s=60.0), clock=lambda: 0.0)
>>> policy.start()
>>> gc.get_threshold()[2] == NO_AUTOMATIC_FULL
True
>>> policy.stop()
>>> gc.get_threshold() == before
True
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

__all__ = ["NO_AUTOMATIC_FULL", "GcOptions", "GcPolicy"]

log = structlog.get_logger("rtp.worker.gc")

#: The oldest generation's threshold that never comes: gen1 collections before a full one.
NO_AUTOMATIC_FULL = 2**31 - 1


@dataclass(frozen=True)
class GcOptions:
    """The worker's garbage-collection policy.

    >>> GcOptions().full_every_s
    600.0
    """

    #: Seconds between full collections; 0: never (only the young generations are collected).
    full_every_s: float = 600.0
    #: Whether the middle generation is collected automatically (Python's threshold): off,
    #: survivors of the young collections wait for the safety net (see the module).
    middle_collections: bool = False
    #: Python's own policy instead (``rtp worker --python-gc``; a benchmark baseline).
    python_default: bool = False


class GcPolicy:
    """Applies :class:`GcOptions` to this process while the worker runs."""

    def __init__(self, options: GcOptions | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.options = options or GcOptions()
        self.clock = clock
        self._previous: tuple[int, int, int] | None = None
        self._last_full = 0.0
        #: Full collections run by the policy so far.
        self.full_collections = 0

    def start(self) -> None:
        """Collect once, freeze what is alive (modules, models, the start-up), and turn the
        automatic full collection off (and the middle one, unless kept)."""
        if self.options.python_default:
            return
        self._previous = gc.get_threshold()
        gc.collect()
        gc.freeze()
        young, middle, _ = self._previous
        gc.set_threshold(young, middle if self.options.middle_collections else NO_AUTOMATIC_FULL,
                         NO_AUTOMATIC_FULL)
        self._last_full = self.clock()

    def tick(self, now: float) -> None:
        """Run the safety-net full collection when it is due."""
        every = self.options.full_every_s
        if self._previous is None or every <= 0 or now - self._last_full < every:
            return
        started = time.perf_counter()
        freed = gc.collect()
        self._last_full = now
        self.full_collections += 1
        log.info("full garbage collection", seconds=round(time.perf_counter() - started, 4),
                 unreachable=freed)

    def stop(self) -> None:
        """Put Python's policy back."""
        if self._previous is None:
            return
        gc.unfreeze()
        gc.set_threshold(*self._previous)
        self._previous = None
