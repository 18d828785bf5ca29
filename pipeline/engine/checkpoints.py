"""When a worker writes its learner checkpoint, and which stored one it resumes from.

>>> policy = CheckpointPolicy(every_updates=10, every_seconds=60.0)
>>> policy.due(updates=5, now=1.0), policy.due(updates=12, now=2.0)
(False, True)
>>> policy.written(updates=12, now=2.0); policy.due(updates=15, now=3.0)
False
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CheckpointPolicy"]


@dataclass
class CheckpointPolicy:
    """Checkpoint after ``every_updates`` learner updates or ``every_seconds``, if anything changed.

    A checkpoint costs a table write of the whole learner (hundreds of KB once the
    bandit has seen every action), so it is not written per event; a crash loses at
    most the updates since the last one.
    """

    every_updates: int = 500
    every_seconds: float = 10.0
    _last_updates: int = 0
    _last_time: float = 0.0
    restored_partitions: set[int] = field(default_factory=set)

    def due(self, updates: int, now: float) -> bool:
        """Whether to write a checkpoint now."""
        changed = updates != self._last_updates
        return changed and (updates - self._last_updates >= self.every_updates
                            or now - self._last_time >= self.every_seconds)

    def written(self, updates: int, now: float) -> None:
        """Record that a checkpoint with ``updates`` was written at ``now``."""
        self._last_updates, self._last_time = updates, now

    def needs_restore(self, partition: int) -> bool:
        """True the first time a partition is seen: look for a newer stored learner there."""
        if partition in self.restored_partitions:
            return False
        self.restored_partitions.add(partition)
        return True
