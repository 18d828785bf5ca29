"""Which model snapshot each partition decides with, so that a redo decides the same.

A worker commits its input offsets every half second; a crash makes the next owner apply
the records after the last commit again. Those records must be decided with the model
that decided them the first time, or a decision id would come out twice with two
contents (another action, another model version). So:

- a partition changes model only **at a commit** that includes its offset, and the commit
  carries a *mark* (Kafka offset-commit metadata) naming the snapshot the partition uses
  from then on (:class:`ModelRef`: version and offset on the models topic);
- a partition with no mark yet gets one before its first record (the newest snapshot's);
- the next owner reads the mark, loads that snapshot and keeps it for the partition until
  it has applied every record that was there when it took the partition (the end offset
  then: the dead worker cannot have applied more); the first commit past that moves the
  partition to the newest model.

The newest model (:meth:`ModelPins.offer`) therefore reaches a partition at its next
commit with records: up to one commit interval later than it arrived.

>>> pins = ModelPins[str]()
>>> pins.offer(ModelRef(5, 50), "m5")
>>> pins.resume(0, ModelRef(3, 30), "m3", end_offset=100)  # the redo: as before the crash
>>> pins.model_for(0)
'm3'
>>> pins.marks({0: 60})   # 60 < 100: the redo is not over, the mark keeps model 3
{0: 'rtp-model=3@30'}
>>> pins.committed([0]); pins.model_for(0)
'm3'
>>> pins.marks({0: 100})  # redo done: from this commit on, the newest model
{0: 'rtp-model=5@50'}
>>> pins.committed([0]); pins.model_for(0)
'm5'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

__all__ = ["ModelPins", "ModelRef", "PinnedRef", "VersionPins"]

M = TypeVar("M")

_MARK = re.compile(r"rtp-model=(\d+)@(-?\d+)")


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


class VersionPins(Generic[R, M]):
    """Per partition: the version in use, the redo bound, and the version the next commit
    moves it to. ``R`` names a version (:class:`ModelRef`, a config's ref), ``M`` is what
    it stands for (a model, an engine; a plain string in the examples)."""

    def __init__(self) -> None:
        self._live: tuple[R, M] | None = None
        self._in_use: dict[int, tuple[R, M]] = {}
        #: Partition -> the end offset at assignment: below it, records may be a redo.
        self._redo_until: dict[int, int] = {}
        #: What the commit being written moves each partition to (applied once it is in).
        self._next: dict[int, tuple[R, M]] = {}

    @property
    def live(self) -> tuple[R, M] | None:
        """The newest snapshot offered (None: none yet)."""
        return self._live

    def offer(self, ref: R, model: M) -> None:
        """A newer snapshot: partitions move to it at their next commit (older ones ignored).

        >>> pins = ModelPins[str]()
        >>> pins.offer(ModelRef(2, 9), "b"); pins.offer(ModelRef(1, 8), "a"); pins.live
        (ModelRef(version=2, offset=9), 'b')
        """
        if self._live is None or ref.version > self._live[0].version:
            self._live = (ref, model)

    def resume(self, partition: int, ref: R | None, model: M | None,
               end_offset: int) -> str | None:
        """The partition is ours again: decide with ``model`` (the snapshot its last commit
        named) until ``end_offset``. Without one (no mark, or the snapshot is gone), with
        the newest; with no mark at all, the newest's mark is returned: commit it at the
        partition's position before applying anything, so that a crash before the first
        commit is redone with that model too (None: nothing to commit).

        >>> pins = ModelPins[str](); pins.offer(ModelRef(4, 1), "m4")
        >>> pins.resume(2, None, None, end_offset=10), pins.model_for(2)
        ('rtp-model=4@1', 'm4')
        """
        self._next.pop(partition, None)
        if ref is not None and model is not None:
            self._in_use[partition] = (ref, model)
            self._redo_until[partition] = end_offset
            return None
        self._redo_until.pop(partition, None)
        if self._live is None:
            self._in_use.pop(partition, None)
            return None
        self._in_use[partition] = self._live
        return self._live[0].mark() if ref is None else None

    def model_for(self, partition: int) -> M | None:
        """The model to decide the partition's records with (None: no model known yet)."""
        used = self._in_use.get(partition)
        if used is not None:
            return used[1]
        # Not resumed (a processor driven without marks): the newest, fixed from now on.
        if self._live is None:
            return None
        self._in_use[partition] = self._live
        return self._live[1]

    def marks(self, positions: Mapping[int, int]) -> dict[int, str]:
        """The marks of a commit of ``positions`` (partition -> next offset to apply): each
        partition past its redo moves to the newest snapshot once the commit is in.

        >>> pins = ModelPins[str](); pins.offer(ModelRef(1, 0), "m1"); pins.model_for(0)
        'm1'
        >>> pins.offer(ModelRef(2, 1), "m2"); pins.marks({0: 5})
        {0: 'rtp-model=2@1'}
        >>> pins.model_for(0)  # until the commit is in
        'm1'
        """
        out: dict[int, str] = {}
        for partition, position in positions.items():
            current = self._in_use.get(partition)
            redo = self._redo_until.get(partition)
            target: tuple[R, M] | None = current
            if redo is None or position >= redo or current is None:
                target = self._live if self._live is not None else current
            if target is None:
                continue
            self._next[partition] = target
            out[partition] = target[0].mark()
        return out

    def committed(self, partitions: Iterable[int]) -> None:
        """The commit with the last :meth:`marks` is in: those partitions move."""
        for partition in partitions:
            target = self._next.pop(partition, None)
            if target is None:
                continue
            used = self._in_use.get(partition)
            if used is None or used[0] != target[0]:
                self._redo_until.pop(partition, None)  # moved on: the redo is over
            self._in_use[partition] = target

    def forget(self, partitions: Iterable[int]) -> None:
        """Partitions no longer ours (revoked or lost).

        >>> pins = ModelPins[str](); _ = pins.resume(0, ModelRef(1, 0), "m1", 9); pins.forget([0])
        >>> pins.model_for(0) is None
        True
        """
        for partition in partitions:
            self._in_use.pop(partition, None)
            self._redo_until.pop(partition, None)
            self._next.pop(partition, None)

    def known(self) -> dict[R, M]:
        """Every snapshot held: the newest and those partitions decide with.

        >>> pins = ModelPins[str](); pins.offer(ModelRef(5, 50), "m5")
        >>> _ = pins.resume(0, ModelRef(3, 30), "m3", 9); sorted(pins.known().values())
        ['m3', 'm5']
        """
        held = dict(self._in_use.values())
        if self._live is not None:
            held[self._live[0]] = self._live[1]
        return held

    def in_use(self) -> dict[int, R]:
        """Partition -> the snapshot it decides with (for logs and tests).

        >>> pins = ModelPins[str](); _ = pins.resume(1, ModelRef(3, 7), "m3", 9); pins.in_use()
        {1: ModelRef(version=3, offset=7)}
        """
        return {partition: used[0] for partition, used in self._in_use.items()}


class ModelPins(VersionPins[ModelRef, M]):
    """The model snapshot each partition decides with (:class:`VersionPins` of
    :class:`ModelRef`).

    >>> pins = ModelPins[str](); pins.offer(ModelRef(1, 0), "m1"); pins.model_for(3)
    'm1'
    """
