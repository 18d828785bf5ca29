"""Event→action latency: the time from a triggering event's record to its decision's record.

Both times are Kafka record timestamps (the producers' create time): the clickstream
event's, written by the SDK or the collector, and the decision log record's, written by
the worker when it decided. The two topics are read side by side, so either may arrive
first; each side waits in a bounded map (the oldest entries fall out) for the other.

>>> join = LatencyJoin(max_pending=10, max_samples=10)
>>> join.event("e1", 1_000)
>>> join.decision("e1", 1_012)
>>> join.decision("e2", 2_030)   # its event is read later
>>> join.event("e2", 2_000)
>>> join.samples()
[(1012, 12), (2030, 30)]
>>> percentile([12, 30], 99)
30.0
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Sequence

__all__ = ["LatencyJoin", "percentile"]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile by nearest rank (``nan`` without values).

    >>> percentile([5, 1, 3], 50), percentile([], 99)
    (3.0, nan)
    """
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


class LatencyJoin:
    """Joins event ids to decisions' trigger event ids; keeps the newest latencies."""

    def __init__(self, max_pending: int, max_samples: int) -> None:
        self.max_pending = max_pending
        self._events: OrderedDict[str, int] = OrderedDict()
        self._decisions: OrderedDict[str, int] = OrderedDict()
        self._samples: deque[tuple[int, int]] = deque(maxlen=max_samples)

    @staticmethod
    def _remember(table: OrderedDict[str, int], key: str, at_ms: int, limit: int) -> None:
        table[key] = at_ms
        while len(table) > limit:
            table.popitem(last=False)

    def event(self, event_id: str, at_ms: int) -> None:
        """A clickstream record with id ``event_id`` written at ``at_ms``."""
        decided = self._decisions.pop(event_id, None)
        if decided is not None:
            self._samples.append((decided, decided - at_ms))
        else:
            self._remember(self._events, event_id, at_ms, self.max_pending)

    def decision(self, trigger_event_id: str, at_ms: int) -> None:
        """A decision triggered by ``trigger_event_id``, its record written at ``at_ms``."""
        if not trigger_event_id:
            return
        seen = self._events.get(trigger_event_id)
        if seen is not None:
            self._samples.append((at_ms, at_ms - seen))
        else:
            self._remember(self._decisions, trigger_event_id, at_ms, self.max_pending)

    def samples(self) -> list[tuple[int, int]]:
        """``(decided at ms, latency ms)`` in the order they were joined."""
        return list(self._samples)
