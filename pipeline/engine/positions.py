"""The next offset to apply in each input partition: acknowledgements without holes.

A worker acknowledges the records it applied and Kafka commits the offset after the
last acknowledged one. The consumer library (faust-streaming 0.15) commits past a
record that was never acknowledged when that record is the *first* after the
committed offset, or when nothing was committed yet; and it drops records fetched
while a rebalance is under way without delivering them again. Together that lost an
event now and then (a kill-and-restart test caught it). :class:`Positions` keeps the
offset each partition must continue from (the committed one at the start of a
consumer generation), so the worker applies — and acknowledges — records in exactly
offset order, each once: a record below it was applied already, a record above it
means some went missing and the partition is read again from the expected offset.

>>> positions = Positions(rewind_again_after=3)
>>> positions.start({"p0": 10})
>>> [positions.admit("p0", offset) for offset in (10, 11, 11, 13, 14, 12, 13)]
[<Admission.APPLY: 1>, <Admission.APPLY: 1>, <Admission.SEEN: 2>, <Admission.REWIND: 3>, \
<Admission.WAIT: 4>, <Admission.APPLY: 1>, <Admission.APPLY: 1>]
>>> positions.expected("p0"), positions.admit("other", 0)
(14, <Admission.NOT_OURS: 5>)

The records dropped may be a partition's last ones, with none after them to reveal the
hole: :meth:`Positions.stalled` tells when a partition has records beyond the expected
offset (its end offset is further) but has applied none for a while.

>>> positions.stalled("p0", end_offset=20, now=100.0, after_s=10.0)  # first look
False
>>> positions.stalled("p0", end_offset=20, now=111.0, after_s=10.0)  # no progress since
True
>>> positions.stalled("p0", end_offset=14, now=130.0, after_s=10.0)  # nothing beyond
False
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from enum import Enum
from typing import Generic, TypeVar

__all__ = ["Admission", "Positions"]

P = TypeVar("P", bound=Hashable)


class Admission(Enum):
    """What to do with a delivered record."""

    #: The expected record: apply it (then acknowledge it).
    APPLY = 1
    #: Below the expected offset: applied already (delivered again after a seek).
    SEEN = 2
    #: Above the expected offset: records are missing; seek back to the expected one.
    REWIND = 3
    #: Above the expected offset while a seek back is under way: skip, it comes again.
    WAIT = 4
    #: A partition this worker was not given in this generation.
    NOT_OURS = 5


class Positions(Generic[P]):
    """Next offset to apply per partition; see the module docstring.

    ``rewind_again_after``: records skipped while waiting for a seek's result before the
    seek is asked for again (a seek can be undone by a rebalance step of the consumer).
    """

    def __init__(self, rewind_again_after: int = 2_000) -> None:
        self.rewind_again_after = rewind_again_after
        self._next: dict[P, int] = {}
        self._waiting: dict[P, int] = {}
        #: (expected offset, when it was first seen behind the end) per partition.
        self._behind_since: dict[P, tuple[int, float]] = {}

    def start(self, next_offsets: Mapping[P, int]) -> None:
        """A new generation: continue each partition from the offset given."""
        self._next = dict(next_offsets)
        self._waiting.clear()
        self._behind_since.clear()

    def clear(self) -> None:
        """Partitions moved: nothing is expected until :meth:`start`."""
        self.start({})

    @property
    def started(self) -> bool:
        """Whether :meth:`start` gave any partition."""
        return bool(self._next)

    def partitions(self) -> list[P]:
        """The partitions given to :meth:`start`."""
        return list(self._next)

    def rewinding(self, partition: P) -> bool:
        """Whether ``partition`` waits for the records a seek back should bring."""
        return partition in self._waiting

    def expected(self, partition: P) -> int | None:
        """The offset ``partition`` continues from (None: not ours)."""
        return self._next.get(partition)

    def admit(self, partition: P, offset: int) -> Admission:
        """Whether the record at ``offset`` is the next to apply (which then advances)."""
        expected = self._next.get(partition)
        if expected is None:
            return Admission.NOT_OURS
        if offset == expected:
            self._next[partition] = offset + 1
            self._waiting.pop(partition, None)
            return Admission.APPLY
        if offset < expected:
            return Admission.SEEN
        waited = self._waiting.get(partition)
        if waited is None or waited >= self.rewind_again_after:
            self._waiting[partition] = 0
            return Admission.REWIND
        self._waiting[partition] = waited + 1
        return Admission.WAIT

    def skip_to(self, partition: P, offset: int) -> None:
        """Continue from ``offset``: the records before it are gone (retention)."""
        if partition in self._next and offset > self._next[partition]:
            self._next[partition] = offset
            self._waiting.pop(partition, None)

    def stalled(self, partition: P, end_offset: int, now: float, after_s: float) -> bool:
        """Whether ``partition`` has records up to ``end_offset`` beyond the expected one
        and has applied none for ``after_s`` (since the first call that saw it behind).
        A stalled partition is to be read again from :meth:`expected`; the wait restarts."""
        expected = self._next.get(partition)
        if expected is None or end_offset <= expected:
            self._behind_since.pop(partition, None)
            return False
        seen = self._behind_since.get(partition)
        if seen is None or seen[0] != expected:
            self._behind_since[partition] = (expected, now)
            return False
        if now - seen[1] < after_s:
            return False
        self._behind_since[partition] = (expected, now)
        return True
