"""The learning state of a worker: intent model, bandit, rewards and labels in flight.

It is shared by every visitor a worker serves (so it learns from all of them at
once) and checkpointed as one value into the worker's ``learners`` table; after
a restart the worker resumes from the newest checkpoint of its partitions.

>>> from pipeline.engine.options import EngineOptions
>>> learner = Learner.new(EngineOptions())
>>> Learner.from_bytes(learner.to_bytes(), EngineOptions()).updates
0
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from pipeline.decide import Decider, LinUCB, load_catalog
from pipeline.engine.options import EngineOptions
from pipeline.feedback import PendingRewards, RewardUpdate
from pipeline.intent import IntentModel, PendingLabels

__all__ = ["Learner", "LearnerStateError"]

_MAGIC = b"rtpL"
_VERSION = 2  # 2: compressed body
_HEADER = struct.Struct("<4sBQIIII")


class LearnerStateError(ValueError):
    """A learner checkpoint is not in a format this version reads."""


@dataclass
class Learner:
    """Intent model + decider (with its bandit) + pending rewards + pending labels."""

    intent: IntentModel
    decider: Decider
    rewards: PendingRewards
    labels: PendingLabels
    #: Reward updates and intent examples applied: orders checkpoints by recency.
    updates: int = 0

    @classmethod
    def new(cls, options: EngineOptions) -> Learner:
        """A fresh learner with the catalog of ``options``."""
        return cls(
            intent=IntentModel(options.intent),
            decider=Decider(load_catalog(options.catalog_path), options.decider),
            rewards=PendingRewards(options.rewards),
            labels=PendingLabels(max_sessions=options.max_pending_sessions),
        )

    def reward(self, updates: list[RewardUpdate]) -> int:
        """Apply reward updates to the bandit at once; returns how many."""
        for update in updates:
            self.decider.apply(update)
        self.updates += len(updates)
        return len(updates)

    def to_bytes(self) -> bytes:
        """One checkpoint value (each part carries its own version check)."""
        parts = [self.intent.to_bytes(), self.decider.bandit.to_bytes(),
                 self.rewards.to_bytes(), self.labels.to_bytes()]
        header = _HEADER.pack(_MAGIC, _VERSION, self.updates, *(len(p) for p in parts))
        # Pending rewards hold a context vector per decision: compressing (fast level)
        # keeps the checkpoint a few hundred KB instead of over a megabyte.
        return header + zlib.compress(b"".join(parts), 1)

    @staticmethod
    def updates_in(data: bytes) -> int:
        """The update counter of a checkpoint, without loading it."""
        return int(_HEADER.unpack_from(data)[2]) if len(data) >= _HEADER.size else -1

    @classmethod
    def from_bytes(cls, data: bytes, options: EngineOptions) -> Learner:
        """Resume from a checkpoint; mismatched versions raise with a clear message."""
        if len(data) < _HEADER.size or data[:4] != _MAGIC:
            raise LearnerStateError("not a learner checkpoint")
        _, version, updates, *sizes = _HEADER.unpack_from(data)
        if version != _VERSION:
            raise LearnerStateError(f"learner checkpoint version {version} is not {_VERSION}")
        try:
            body = zlib.decompress(data[_HEADER.size:])
        except zlib.error as exc:
            raise LearnerStateError(f"learner checkpoint body is corrupt: {exc}") from None
        chunks, offset = [], 0
        for size in sizes:
            chunks.append(body[offset:offset + size])
            offset += size
        intent = IntentModel.from_bytes(chunks[0], options.intent)
        catalog = load_catalog(options.catalog_path)
        probe = Decider(catalog, options.decider)
        bandit = LinUCB.from_bytes(chunks[1], dimension=probe.featurizer.dimension,
                                   fingerprint=probe.featurizer.fingerprint,
                                   options=options.decider.bandit)
        return cls(
            intent=intent,
            decider=Decider(catalog, options.decider, bandit=bandit),
            rewards=PendingRewards.from_bytes(chunks[2], options.rewards),
            labels=PendingLabels.from_bytes(chunks[3]),
            updates=updates,
        )
