"""Wall-clock intervals the loop checks between batches (it never sleeps on them).

>>> every = Interval(seconds=2.0)
>>> every.due(now=100.0), every.due(now=101.0), every.due(now=102.0), every.due(now=103.0)
(False, False, True, False)
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Interval"]


@dataclass
class Interval:
    """Due once per ``seconds``; the first interval starts at the first call."""

    seconds: float
    _last: float | None = field(default=None, repr=False)

    def due(self, now: float) -> bool:
        """Whether the interval has passed since it was last due (then it starts again)."""
        if self._last is None:
            self._last = now
            return False
        if now - self._last >= self.seconds:
            self._last = now
            return True
        return False

    def reset(self, now: float) -> None:
        """Start the interval again at ``now`` (e.g. after a commit made for another reason).

        >>> every = Interval(seconds=2.0); every.reset(now=10.0); every.due(now=11.0)
        False
        """
        self._last = now
