"""A progress line on stderr for long replays: events done, percent when known, events/s.

Only for people watching: it reads the wall clock, but nothing it shows goes
into an output file. It stays silent for the first ``delay_s`` seconds (short
replays print nothing), redraws in place on a terminal and prints a line every
``log_every_s`` seconds otherwise (CI logs).

>>> import io
>>> ticks = iter([0.0, 2.0, 5.0])
>>> out = io.StringIO()
>>> bar = Progress(total=1000, stream=out, clock=lambda: next(ticks))
>>> bar.update(500); bar.finish(1000)
>>> print(out.getvalue().strip())
replay [##########----------]  50%  500/1,000 events  250 events/s
replay: 1,000 events in 5.0 s (200 events/s)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Draw ``replay [####----] 40% 4,000/10,000 events 8,000 events/s`` on ``stream``."""

    def __init__(self, total: int | None = None, stream: TextIO | None = None,
                 quiet: bool = False, delay_s: float = 1.0, log_every_s: float = 5.0,
                 width: int = 20, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total if total else None
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.delay_s = delay_s
        self.log_every_s = log_every_s
        self.width = width
        self._clock = clock
        self._start = clock()
        self._last_drawn: float | None = None
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.elapsed_s = 0.0
        self.done = 0

    def _line(self, done: int, rate: float) -> str:
        if self.total:
            share = min(1.0, done / self.total)
            filled = int(share * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            return (f"replay [{bar}] {share:4.0%}  {done:,}/{self.total:,} events  "
                    f"{rate:,.0f} events/s")
        return f"replay {done:,} events  {rate:,.0f} events/s"

    def update(self, done: int) -> None:
        """Report ``done`` events so far (drawn when due)."""
        self.done = done
        if self.quiet:
            return
        now = self._clock()
        elapsed = now - self._start
        if elapsed < self.delay_s:
            return
        interval = 0.2 if self._tty else self.log_every_s
        if self._last_drawn is not None and now - self._last_drawn < interval:
            return
        self._last_drawn = now
        line = self._line(done, done / elapsed if elapsed > 0 else 0.0)
        self.stream.write(f"\r{line}\x1b[K" if self._tty else line + "\n")
        self.stream.flush()

    @property
    def rate(self) -> float:
        """Events per second over the whole run so far (0 before any time passed)."""
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def finish(self, done: int) -> None:
        """Final count, elapsed time and rate (kept in :attr:`elapsed_s` / :attr:`rate`)."""
        self.done = done
        self.elapsed_s = self._clock() - self._start
        if self.quiet:
            return
        if self._tty and self._last_drawn is not None:
            self.stream.write("\r\x1b[K")
        self.stream.write(f"replay: {done:,} events in {self.elapsed_s:.1f} s "
                          f"({self.rate:,.0f} events/s)\n")
        self.stream.flush()
