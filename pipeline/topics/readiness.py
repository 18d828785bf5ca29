"""Whether a worker is caught up: the lag of the input partitions it owns, nothing else.

A worker group's members may be assigned more than the worker's inputs (an older
worker read its table changelogs in the group); readiness counts only the input
topics, so an idle worker that has applied everything is ready however large its
changelogs are.

>>> owned = owned_inputs([("t.events", 0), ("g-visitors-changelog", 0), ("t.events", 1)],
...                      ["t.events", "t.outcomes"])
>>> owned
[('t.events', 0), ('t.events', 1)]
>>> verdict = Readiness.of({("t.events", 0): 3, ("t.events", 1): 0}, max_lag=10)
>>> verdict.ready, verdict.describe()
(True, 'ready: 3 messages behind (t.events 3)')
>>> Readiness.of({("t.events", 0): 30}, max_lag=10).describe()
'not ready: 30 messages behind (max 10; t.events 30)'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Readiness", "owned_inputs"]


def owned_inputs(assigned: Iterable[tuple[str, int]],
                 inputs: Iterable[str]) -> list[tuple[str, int]]:
    """The assigned (topic, partition) pairs that belong to ``inputs``, sorted, once each.

    >>> owned_inputs([("b", 1), ("a", 0), ("b", 1), ("c", 0)], ["a", "b"])
    [('a', 0), ('b', 1)]
    >>> owned_inputs([("c", 0)], ["a"])
    []
    """
    wanted = set(inputs)
    return sorted({(topic, partition) for topic, partition in assigned if topic in wanted})


@dataclass(frozen=True)
class Readiness:
    """The lag of the owned input partitions, per topic, against the largest acceptable.

    >>> Readiness.of({}, max_lag=0).ready
    True
    >>> Readiness.of({("a", 0): 2, ("a", 1): 3, ("b", 0): 1}, max_lag=5).by_topic
    {'a': 5, 'b': 1}
    """

    #: Messages behind per input topic (only topics with owned partitions).
    by_topic: dict[str, int]
    max_lag: int

    @classmethod
    def of(cls, lag: Mapping[tuple[str, int], int], max_lag: int) -> Readiness:
        """From the lag of each owned (topic, partition) (negative lags count as 0)."""
        by_topic: dict[str, int] = {}
        for (topic, _), behind in sorted(lag.items()):
            by_topic[topic] = by_topic.get(topic, 0) + max(0, behind)
        return cls(by_topic, max_lag)

    @property
    def lag(self) -> int:
        """Messages behind over every owned input partition."""
        return sum(self.by_topic.values())

    @property
    def ready(self) -> bool:
        """At most ``max_lag`` messages behind."""
        return self.lag <= self.max_lag

    def describe(self) -> str:
        """One line for the probe's output, with the lag per topic."""
        topics = ", ".join(f"{topic} {n}" for topic, n in self.by_topic.items())
        if self.ready:
            return f"ready: {self.lag} messages behind" + (f" ({topics})" if topics else "")
        return (f"not ready: {self.lag} messages behind (max {self.max_lag}"
                + (f"; {topics})" if topics else ")"))
