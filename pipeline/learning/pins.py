"""Which model snapshot each partition decides with, so that a redo decides the same.

A worker commits its input offsets every few seconds; a crash makes the next owner apply
the records after the last commit again. Those records must be decided with the model
that decided them the first time, or a decision id would come out twice with two
contents (another action, another model version). So every commit carries a *mark*
(Kafka offset-commit metadata) per partition that says which model decides each record
after the committed offset, as a function of the record's timestamp (a
:class:`Schedule`):

- ``rtp-model=5@50``: snapshot 5 decides every record;
- ``rtp-model=5@50>7@70>1700000000500``: snapshot 5 decides records stamped before that
  instant (ms), snapshot 7 those stamped at or after it.

A newer snapshot is **scheduled** by the next commit for a moment a little ahead (when
its marks are taken, once its writes are in, plus a margin; after every record applied
since its seal) and decides from then on: records keep being decided while the commit is
written, by the last commit's marks, because none of them is stamped that late. Only a
record for which the commit being written and the last one in disagree (stamped past the
switch while the commit is still not in, or, from the seal on, older than the previous
switch) waits for the commit (:meth:`VersionPins.waits`, :meth:`VersionPins.seal`). A
redo reads the mark and decides each record as the first time: the rule depends on the
record, not on when it was read.

- a partition with no mark yet gets one before its first record (the newest snapshot's);
- the next owner reads the mark, loads its snapshots and keeps them for the partition until
  it has applied every record that was there when it took the partition (the end offset
  then: the dead worker cannot have applied more); commits past that schedule the newest.

>>> pins = ModelPins[str]()
>>> pins.offer(ModelRef(5, 50), "m5")
>>> pins.resume(0, Schedule((ModelRef(3, 30), "m3")), end_offset=100)  # the redo
>>> pins.model_for(0, 1_000)
'm3'
>>> pins.marks({0: 60}, switch_at_ms=2_000)   # 60 < 100: the redo is not over
{0: 'rtp-model=3@30'}
>>> pins.committed([0]); pins.marks({0: 100}, switch_at_ms=2_000)  # redo done: the newest
{0: 'rtp-model=3@30>5@50>2000'}
>>> pins.waits(0, 1_500), pins.waits(0, 2_500)  # until the commit is in
(False, True)
>>> pins.committed([0]); pins.model_for(0, 1_999), pins.model_for(0, 2_000)
('m3', 'm5')
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

__all__ = ["ModelPins", "ModelRef", "PinnedRef", "Schedule", "VersionPins", "parse_schedule"]

M = TypeVar("M")

_MARK = re.compile(r"rtp-model=(\d+)@(-?\d+)")
_SWITCH = ">"


@dataclass(frozen=True)
class ModelRef:
    """A snapshot: its version and its offset on the models topic (-1: not from the topic,
    the untrained model every worker starts from, version 0).

    >>> ModelRef.from_mark(ModelRef(7, 12).mark())
    ModelRef(version=7, offset=12)
    >>> ModelRef.from_mark("") is None, ModelRef.from_mark("something else") is None
    (True, True)
    """

    version: int
    offset: int

    def mark(self) -> str:
        """The offset-commit metadata that names this snapshot."""
        return f"rtp-model={self.version}@{self.offset}"

    @classmethod
    def from_mark(cls, text: str | None) -> ModelRef | None:
        """The snapshot a mark names (None: no mark, or one this code did not write)."""
        found = _MARK.fullmatch(text or "")
        return cls(int(found[1]), int(found[2])) if found else None


class PinnedRef(Protocol):
    """What a pin names: a version (newer is higher) that a commit mark can carry."""

    @property
    def version(self) -> int:
        """Newer versions are higher."""

    def mark(self) -> str:
        """The offset-commit metadata (or its part) that names this version."""


R = TypeVar("R", bound=PinnedRef)
R2 = TypeVar("R2")


@dataclass(frozen=True)
class Schedule(Generic[R, M]):
    """Which version decides a record, by its timestamp: ``before`` for records stamped
    before ``at_ms``, ``after`` (when there is one) for the others.

    >>> s = Schedule((ModelRef(1, 0), "m1"), (ModelRef(2, 5), "m2"), at_ms=1_000)
    >>> s.pick(999)[1], s.pick(1_000)[1], s.latest[1]
    ('m1', 'm2', 'm2')
    >>> s.mark()
    'rtp-model=1@0>2@5>1000'
    >>> Schedule((ModelRef(1, 0), "m1")).mark()
    'rtp-model=1@0'
    """

    before: tuple[R, M]
    after: tuple[R, M] | None = None
    at_ms: int = 0

    def pick(self, timestamp_ms: int) -> tuple[R, M]:
        """The version (ref, model) that decides a record stamped ``timestamp_ms``."""
        after = self.after
        return after if after is not None and timestamp_ms >= self.at_ms else self.before

    @property
    def latest(self) -> tuple[R, M]:
        """The version records stamped from now on are decided with."""
        return self.after if self.after is not None else self.before

    def refs(self) -> tuple[R, ...]:
        """The versions it names."""
        return (self.before[0],) if self.after is None else (self.before[0], self.after[0])

    def mark(self) -> str:
        """The commit mark (part) of this schedule."""
        if self.after is None:
            return self.before[0].mark()
        value = self.after[0].mark().split("=", 1)[-1]
        return f"{self.before[0].mark()}{_SWITCH}{value}{_SWITCH}{self.at_ms}"


def parse_schedule(part: str, from_mark: Callable[[str], R2 | None],
                   ) -> tuple[R2 | None, R2 | None, int]:
    """A mark part's versions: (before, after or None, switch time); before is None when
    the part is not a mark this code wrote.

    >>> parse_schedule("rtp-model=1@0>2@5>1000", ModelRef.from_mark)
    (ModelRef(version=1, offset=0), ModelRef(version=2, offset=5), 1000)
    >>> parse_schedule("rtp-model=1@0", ModelRef.from_mark)
    (ModelRef(version=1, offset=0), None, 0)
    >>> parse_schedule("rtp-model=1@0>junk", ModelRef.from_mark)
    (None, None, 0)
    """
    pieces = part.split(_SWITCH)
    before = from_mark(pieces[0])
    if before is None or len(pieces) == 1:
        return before, None, 0
    if len(pieces) != 3 or not pieces[2].lstrip("-").isdigit():
        return None, None, 0
    prefix = pieces[0].split("=", 1)[0]
    after = from_mark(f"{prefix}={pieces[1]}")
    return (before, after, int(pieces[2])) if after is not None else (None, None, 0)


class VersionPins(Generic[R, M]):
    """Per partition: the schedule its last commit carries, the one the commit being
    written carries, and the redo bound. ``R`` names a version (:class:`ModelRef`, a
    config's ref), ``M`` is what it stands for (a model, an engine; a string in examples)."""

    def __init__(self) -> None:
        self._live: tuple[R, M] | None = None
        #: Partition -> the schedule of its last commit that is in (or of its start).
        self._durable: dict[int, Schedule[R, M]] = {}
        #: Partition -> the schedule of the commit being written (applied once it is in).
        self._pending: dict[int, Schedule[R, M]] = {}
        #: Partition -> the end offset at assignment: below it, records may be a redo.
        self._redo_until: dict[int, int] = {}
        #: A commit is sealed and not in yet (its marks may not be taken yet).
        self._sealed = False

    @property
    def live(self) -> tuple[R, M] | None:
        """The newest snapshot offered (None: none yet)."""
        return self._live

    def offer(self, ref: R, model: M) -> None:
        """A newer snapshot: the next commit of each partition schedules it (older ones
        are ignored).

        >>> pins = ModelPins[str]()
        >>> pins.offer(ModelRef(2, 9), "b"); pins.offer(ModelRef(1, 8), "a"); pins.live
        (ModelRef(version=2, offset=9), 'b')
        """
        if self._live is None or ref.version > self._live[0].version:
            self._live = (ref, model)

    def resume(self, partition: int, schedule: Schedule[R, M] | None,
               end_offset: int) -> str | None:
        """The partition is ours again: decide with ``schedule`` (what its last commit
        named) until ``end_offset``. Without one (no mark, or its snapshots are gone), with
        the newest; the newest's mark is then returned: commit it at the partition's
        position before applying anything, so that a crash before the first commit is
        redone with that model too (None: nothing to commit).

        >>> pins = ModelPins[str](); pins.offer(ModelRef(4, 1), "m4")
        >>> pins.resume(2, None, end_offset=10), pins.model_for(2, 0)
        ('rtp-model=4@1', 'm4')
        """
        self._pending.pop(partition, None)
        if schedule is not None:
            self._durable[partition] = schedule
            self._redo_until[partition] = end_offset
            return None
        self._redo_until.pop(partition, None)
        if self._live is None:
            self._durable.pop(partition, None)
            return None
        self._durable[partition] = Schedule(self._live)
        return self._live[0].mark()

    def pick(self, partition: int, timestamp_ms: int) -> tuple[R, M] | None:
        """The version that decides the partition's record stamped ``timestamp_ms``, by
        the schedule of its last commit (None: no model known yet)."""
        schedule = self._durable.get(partition)
        if schedule is None:
            # Not resumed (a processor driven without marks): the newest, fixed from now on.
            if self._live is None:
                return None
            schedule = self._durable[partition] = Schedule(self._live)
        return schedule.pick(timestamp_ms)

    def model_for(self, partition: int, timestamp_ms: int) -> M | None:
        """The model that decides the partition's record stamped ``timestamp_ms``."""
        picked = self.pick(partition, timestamp_ms)
        return None if picked is None else picked[1]

    def seal(self) -> None:
        """A commit is sealed; its marks are taken later (:meth:`marks`, once its writes
        are in). Until it is in, a record stamped before its partition's last switch waits
        for it: whatever the marks, they name the last schedule's newest version for it.

        >>> pins = ModelPins[str](); pins.offer(ModelRef(1, 0), "m1"); _ = pins.pick(0, 0)
        >>> pins.offer(ModelRef(2, 5), "m2"); _ = pins.marks({0: 3}, switch_at_ms=500)
        >>> pins.committed([0]); pins.seal()  # the next commit: sealed, no marks yet
        >>> pins.waits(0, 499), pins.waits(0, 500)
        (True, False)
        >>> pins.committed([]); pins.waits(0, 499)
        False
        """
        self._sealed = True

    def waits(self, partition: int, timestamp_ms: int) -> bool:
        """Whether the partition's record stamped ``timestamp_ms`` must wait for the commit
        being written: it and the last commit's schedule name different versions for it
        (before the commit's marks are taken: the last schedule's newest version, which
        any marks name for the records stamped before their switch).

        >>> pins = ModelPins[str](); pins.offer(ModelRef(1, 0), "m1")
        >>> pins.pick(0, 0)[1]; pins.offer(ModelRef(2, 5), "m2")
        'm1'
        >>> _ = pins.marks({0: 3}, switch_at_ms=500); pins.waits(0, 499), pins.waits(0, 500)
        (False, True)
        """
        pending = self._pending.get(partition)
        durable = self._durable.get(partition)
        if pending is None:
            if not self._sealed or durable is None:
                return False
            return durable.pick(timestamp_ms)[0] != durable.latest[0]
        if durable is None:
            return True
        return pending.pick(timestamp_ms)[0] != durable.pick(timestamp_ms)[0]

    def marks(self, positions: Mapping[int, int], switch_at_ms: int) -> dict[int, str]:
        """The marks of a commit of ``positions`` (partition -> next offset to apply): each
        partition past its redo schedules the newest snapshot (if it decides with an older
        one) for records stamped from ``switch_at_ms`` on. A commit that did not get in is
        carried again as it was.

        >>> pins = ModelPins[str](); pins.offer(ModelRef(1, 0), "m1"); pins.model_for(0, 0)
        'm1'
        >>> pins.offer(ModelRef(2, 1), "m2"); pins.marks({0: 5}, switch_at_ms=700)
        {0: 'rtp-model=1@0>2@1>700'}
        >>> pins.model_for(0, 900)  # until the commit is in
        'm1'
        """
        out: dict[int, str] = {}
        for partition, position in positions.items():
            pending = self._pending.get(partition)
            if pending is None:
                durable = self._durable.get(partition)
                redo = self._redo_until.get(partition)
                if redo is not None and position >= redo:
                    self._redo_until.pop(partition)
                    redo = None
                pending = durable
                if redo is None and self._live is not None and (
                        durable is None or self._live[0].version > durable.latest[0].version):
                    pending = (Schedule(self._live) if durable is None
                               else Schedule(durable.latest, self._live, switch_at_ms))
                if pending is None:
                    continue
                if pending is not durable:  # a change: it holds once the commit is in
                    self._pending[partition] = pending
            out[partition] = pending.mark()
        return out

    def committed(self, partitions: Iterable[int]) -> None:
        """The commit with the last :meth:`marks` is in for ``partitions`` (the commit
        sealed last is in, or was given up: none is being written): their schedules hold
        from now on."""
        self._sealed = False
        for partition in partitions:
            pending = self._pending.pop(partition, None)
            if pending is not None:
                self._durable[partition] = pending

    def forget(self, partitions: Iterable[int]) -> None:
        """Partitions no longer ours (revoked or lost).

        >>> pins = ModelPins[str]()
        >>> _ = pins.resume(0, Schedule((ModelRef(1, 0), "m1")), 9); pins.forget([0])
        >>> pins.model_for(0, 0) is None
        True
        """
        self._sealed = False  # the commit being written (if any) is dropped with them
        for partition in partitions:
            self._durable.pop(partition, None)
            self._pending.pop(partition, None)
            self._redo_until.pop(partition, None)

    def known(self) -> dict[R, M]:
        """Every snapshot held: the newest and those the schedules name.

        >>> pins = ModelPins[str](); pins.offer(ModelRef(5, 50), "m5")
        >>> _ = pins.resume(0, Schedule((ModelRef(3, 30), "m3")), 9)
        >>> sorted(pins.known().values())
        ['m3', 'm5']
        """
        held: dict[R, M] = {}
        for schedule in (*self._durable.values(), *self._pending.values()):
            held[schedule.before[0]] = schedule.before[1]
            if schedule.after is not None:
                held[schedule.after[0]] = schedule.after[1]
        if self._live is not None:
            held[self._live[0]] = self._live[1]
        return held

    def schedules(self) -> dict[int, Schedule[R, M]]:
        """Partition -> the schedule of its last commit that is in."""
        return dict(self._durable)

    def in_use(self) -> dict[int, R]:
        """Partition -> the version its records stamped from now on are decided with, by
        its last commit (for logs and tests).

        >>> pins = ModelPins[str]()
        >>> _ = pins.resume(1, Schedule((ModelRef(3, 7), "m3")), 9); pins.in_use()
        {1: ModelRef(version=3, offset=7)}
        """
        return {partition: schedule.latest[0] for partition, schedule in self._durable.items()}


class ModelPins(VersionPins[ModelRef, M]):
    """The model snapshot each partition decides with (:class:`VersionPins` of
    :class:`ModelRef`).

    >>> pins = ModelPins[str](); pins.offer(ModelRef(1, 0), "m1"); pins.model_for(3, 0)
    'm1'
    """
