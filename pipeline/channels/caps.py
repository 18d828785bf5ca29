"""Frequency caps per contact and channel: at most N messages a day and M a week.

A cap counts what was sent to one *contact* (a person, whatever device or visitor id the
decision came from) on one channel, over sliding windows.

>>> caps = ContactCaps(per_day=1, per_week=3)
>>> day = 86_400_000
>>> caps.allows([], 0), caps.allows([0], day - 1), caps.allows([0], day)
(True, False, True)
>>> caps.allows([0, day, 2 * day], 3 * day)  # three in the last 7 days
False
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DAY_MS", "WEEK_MS", "ContactCaps"]

DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS


@dataclass(frozen=True)
class ContactCaps:
    """At most ``per_day`` messages in any 24 h and ``per_week`` in any 7 days (None: no cap).

    >>> ContactCaps(per_day=None, per_week=None).allows([1, 2, 3], 4)
    True
    """

    per_day: int | None = 1
    per_week: int | None = 3

    def allows(self, sent_ms: Sequence[int], now_ms: int) -> bool:
        """Whether one more message may go at ``now_ms`` given the earlier sends ``sent_ms``.

        >>> ContactCaps(per_day=2, per_week=None).allows([10, 20], 30)
        False
        """
        for cap, window in ((self.per_day, DAY_MS), (self.per_week, WEEK_MS)):
            if cap is not None and sum(1 for t in sent_ms if now_ms - window < t <= now_ms) >= cap:
                return False
        return True

    @property
    def horizon_ms(self) -> int:
        """How long a send counts for any cap (older ones can be forgotten).

        >>> ContactCaps(per_week=None).horizon_ms == DAY_MS
        True
        """
        return WEEK_MS if self.per_week is not None else DAY_MS
