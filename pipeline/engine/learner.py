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

import cramjam

from pipeline.decide import Decider, LinUCB, load_catalog
from pipeline.engine.options import EngineOptions
from pipeline.feedback import PendingRewards, RewardUpdate
from pipeline.intent import IntentModel, PendingLabels

__all__ = ["Learner", "LearnerStateError"]

_MAGIC = b"rtpL"
# 2: zlib body (still read); 3: zstd body with a CRC-32 of it, binary pending parts.
_VERSION = 3
_PREFIX = struct.Struct("<4sBQ")  # magic, version, updates: the same in every version
_HEADER_V2 = struct.Struct("<4sBQIIII")  # + the four part sizes
_HEADER = struct.Struct("<4sBQIIIII")  # + the four part sizes, CRC-32 of the stored body
# The body is mostly float64 context vectors of pending rewards (~6 MB raw at 10,000
# pending) plus pending labels (~15 MB raw at 50,000 sessions): raw it can pass the
# changelog's 16 MB message limit, so it is compressed. Measured on a 6.8 MB body:
# zstd level 1 takes 9 ms to 735 KB (decompress 4 ms); zlib level 1 24 ms to 950 KB;
# lz4 5 ms to 1.3 MB. zstd 1 is the smallest of the cheap ones for a value written every
# few seconds (cramjam is already a dependency).
_ZSTD_LEVEL = 1


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
        """One checkpoint value, format 3 (each part carries its own version check)."""
        parts = [self.intent.to_bytes(), self.decider.bandit.to_bytes(),
                 self.rewards.to_bytes(), self.labels.to_bytes()]
        stored = cramjam.zstd.compress(b"".join(parts), level=_ZSTD_LEVEL)
        header = _HEADER.pack(_MAGIC, _VERSION, self.updates, *(len(p) for p in parts),
                              zlib.crc32(stored))
        return b"".join((header, stored))

    @staticmethod
    def updates_in(data: bytes) -> int:
        """The update counter of a checkpoint, without loading it (-1: too short).

        >>> Learner.updates_in(b"rtpL")
        -1
        """
        return int(_PREFIX.unpack_from(data)[2]) if len(data) >= _PREFIX.size else -1

    @classmethod
    def from_bytes(cls, data: bytes, options: EngineOptions) -> Learner:
        """Resume from a checkpoint; mismatched versions raise with a clear message."""
        if len(data) < _PREFIX.size or data[:4] != _MAGIC:
            raise LearnerStateError("not a learner checkpoint")
        _, version, updates = _PREFIX.unpack_from(data)
        if version not in (2, _VERSION):
            raise LearnerStateError(
                f"learner checkpoint version {version} is not {_VERSION} (or 2, still read)")
        header = _HEADER if version == _VERSION else _HEADER_V2
        if len(data) < header.size:
            raise LearnerStateError("learner checkpoint is truncated")
        fields = header.unpack_from(data)
        sizes = fields[3:7]
        stored = memoryview(data)[header.size:]
        try:
            if version == 2:
                body = zlib.decompress(stored)
            elif zlib.crc32(stored) != fields[7]:
                raise LearnerStateError("learner checkpoint body is corrupt: CRC-32 mismatch")
            else:
                body = bytes(cramjam.zstd.decompress(stored))
        except (zlib.error, cramjam.DecompressionError) as exc:
            raise LearnerStateError(f"learner checkpoint body is corrupt: {exc}") from None
        if sum(sizes) != len(body):
            raise LearnerStateError(
                f"learner checkpoint parts ({sum(sizes)} bytes) are not its body ({len(body)})")
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
