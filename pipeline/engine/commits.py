"""When a worker commits, and the learner checkpoint that marks each commit.

A worker applies records to in-memory state and writes nothing until a *commit*:
outputs acknowledged by the broker, then the learner checkpoint, then every visitor
state changed since the last commit, then the input records are acknowledged (their
offsets may be committed). A crash before the end of a commit loses nothing: the
records after the last committed offsets are delivered again and applied again.
The checkpoint holds exactly the records whose states the same commit writes; a
crash between its write and theirs leaves it ahead, never behind, and applying a
record twice to the learner is harmless (pending rewards, reward joins and label
snapshots are keyed by decision, outcome kind and session, and the ids of the last
``closed_memory`` closed decisions are remembered, so a decision that was registered,
expired and rewarded before the crash is not awaited again;
``tests/unit/engine/test_reapply.py``). The window is not small: the checkpoint is
stored locally at once, and a broker that stops answering holds the commit between it
and the states (``tests/fault/test_worker_crash.py`` freezes the broker there).
(Refusing decisions older than the latest expiry was tried instead and is no fix:
partitions progress unevenly in event time, so a lagging partition's fresh decisions
would be refused.)

>>> policy = CommitPolicy(every_seconds=2.0, every_records=100)
>>> policy.due(records=10, now=1.0), policy.due(records=100, now=1.0)
(False, True)
>>> policy.committed(now=1.0); policy.due(records=1, now=3.5)
True
>>> value = checkpoint_value(7, b"learner bytes", written_ms=1_800_000_000_000)
>>> checkpoint_sequence(value), checkpoint_written_ms(value), checkpoint_learner(value)
(7, 1800000000000, b'learner bytes')
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["CommitPolicy", "checkpoint_learner", "checkpoint_sequence", "checkpoint_value",
           "checkpoint_written_ms"]

_MAGIC = b"rtpC"
_HEADER = struct.Struct("<4sQq")  # magic, commit sequence, wall-clock ms of the write


@dataclass
class CommitPolicy:
    """Commit after ``every_seconds`` or ``every_records`` applied records, whichever first.

    A commit costs a learner checkpoint (up to a few hundred KB once ten thousand
    decisions await rewards), so it is not per record; the price of a longer interval
    is more records applied again after a crash and later offset commits.
    """

    every_seconds: float = 2.0
    every_records: int = 20_000
    _last: float = 0.0

    def due(self, records: int, now: float) -> bool:
        """Whether to commit now, with ``records`` applied since the last commit.

        The first interval starts at the first call:

        >>> policy = CommitPolicy(every_seconds=2.0)
        >>> policy.due(records=1, now=100.0), policy.due(records=1, now=102.0)
        (False, True)
        """
        if not self._last:
            self._last = now
        return records > 0 and (records >= self.every_records
                                or now - self._last >= self.every_seconds)

    def committed(self, now: float) -> None:
        """Record that a commit finished at ``now``."""
        self._last = now


def checkpoint_value(sequence: int, learner: bytes, written_ms: int) -> bytes:
    """The stored learner checkpoint of commit ``sequence`` (higher: more recent, within one
    worker's lineage), written at wall-clock ``written_ms`` (comparable across workers)."""
    return _HEADER.pack(_MAGIC, sequence, written_ms) + learner


def checkpoint_sequence(value: bytes) -> int:
    """The commit sequence of a stored checkpoint; -1 for values without one (older formats).

    >>> checkpoint_sequence(b"rtpL...")
    -1
    """
    if len(value) < _HEADER.size or value[:4] != _MAGIC:
        return -1
    return int(_HEADER.unpack_from(value)[1])


def checkpoint_written_ms(value: bytes) -> int:
    """When a stored checkpoint was written (wall clock, ms); -1 for older formats.

    >>> checkpoint_written_ms(b"rtpL...")
    -1
    """
    if checkpoint_sequence(value) < 0:
        return -1
    return int(_HEADER.unpack_from(value)[2])


def checkpoint_learner(value: bytes) -> bytes:
    """The learner bytes of a stored checkpoint (older formats are the learner bytes)."""
    return value[_HEADER.size:] if checkpoint_sequence(value) >= 0 else value
