"""The model every worker decides with: the intent classifier and the contextual bandit.

It is learned by one learner service from every worker's learning records, and published
as versioned snapshots; ``version`` counts the records folded in, so two snapshots of the
same version are the same model.

>>> from pipeline.engine.options import EngineOptions
>>> model = Model.new(EngineOptions())
>>> model.learn({"record_id": "label|s|end", "visitor_id": "v", "event_time": 1,
...              "reward": None, "label": {"session_id": "s", "numeric": {},
...                                        "categorical": {}, "converted": True}})
>>> copy = Model.from_bytes(model.to_bytes(), EngineOptions())
>>> copy.version, copy.intent.n_learned
(1, 1)
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cramjam

from pipeline.decide import LinUCB
from pipeline.decide.featurize import Featurizer
from pipeline.feedback import RewardUpdate
from pipeline.intent import IntentModel

if TYPE_CHECKING:
    from pipeline.engine.options import EngineOptions

__all__ = ["Model", "ModelFormatError"]

_MAGIC = b"rtpM"
_FORMAT = 1
_HEADER = struct.Struct("<4sBQIII")  # magic, format, version, len(intent), len(bandit), CRC-32
# zstd level 1: the cheap one that compresses float64 matrices best (measured for the
# learner checkpoint it replaces: 9 ms for 6.8 MB, to 11%).
_ZSTD_LEVEL = 1


class ModelFormatError(ValueError):
    """Bytes that are not a model snapshot this version reads."""


@dataclass
class Model:
    """Intent model + bandit + how many learning records made them."""

    intent: IntentModel
    bandit: LinUCB
    version: int = 0

    @classmethod
    def new(cls, options: EngineOptions) -> Model:
        """An untrained model for ``options`` (version 0)."""
        featurizer = Featurizer(options.decider.featurizer)
        return cls(IntentModel(options.intent),
                   LinUCB(featurizer.dimension, options.decider.bandit, featurizer.fingerprint))

    def learn(self, record: Mapping[str, Any]) -> None:
        """Fold one learning record in (a reward into the bandit, a label into intent)."""
        reward, label = record.get("reward"), record.get("label")
        if reward is not None:
            self.bandit.apply(RewardUpdate(
                str(reward["decision_id"]), str(reward["action_id"]), tuple(reward["context"]),
                float(reward["reward"]), float(reward["total_reward"]),
                bool(reward["new_observation"]), str(reward["reason"]),
                float(reward["propensity"]), int(record["event_time"])))
        elif label is not None:
            self.intent.learn(label["numeric"], label["categorical"], bool(label["converted"]))
        else:
            raise ModelFormatError(f"learning record {record.get('record_id')!r} holds nothing")
        self.version += 1

    def to_bytes(self) -> bytes:
        """The snapshot value: a header, then both parts compressed with a CRC-32."""
        intent, bandit = self.intent.to_bytes(), self.bandit.to_bytes()
        stored = bytes(cramjam.zstd.compress(intent + bandit, level=_ZSTD_LEVEL))
        return _HEADER.pack(_MAGIC, _FORMAT, self.version, len(intent), len(bandit),
                            zlib.crc32(stored)) + stored

    @staticmethod
    def version_of(data: bytes) -> int:
        """A snapshot's version without loading it (-1: not a snapshot).

        >>> Model.version_of(b"rtpM")
        -1
        """
        if len(data) < _HEADER.size or data[:4] != _MAGIC:
            return -1
        return int(_HEADER.unpack_from(data)[2])

    @classmethod
    def from_bytes(cls, data: bytes, options: EngineOptions) -> Model:
        """Load a snapshot for ``options``; a mismatch (format, featurizer, intent setup)
        raises with a clear message rather than half-loading."""
        if len(data) < _HEADER.size or data[:4] != _MAGIC:
            raise ModelFormatError("not a model snapshot")
        _, fmt, version, n_intent, n_bandit, crc = _HEADER.unpack_from(data)
        if fmt != _FORMAT:
            raise ModelFormatError(f"model snapshot format {fmt} is not {_FORMAT}")
        stored = memoryview(data)[_HEADER.size:]
        if zlib.crc32(stored) != crc:
            raise ModelFormatError("model snapshot is corrupt: CRC-32 mismatch")
        try:
            body = bytes(cramjam.zstd.decompress(stored))
        except cramjam.DecompressionError as exc:
            raise ModelFormatError(f"model snapshot is corrupt: {exc}") from None
        if len(body) != n_intent + n_bandit:
            raise ModelFormatError("model snapshot parts do not add up to its body")
        featurizer = Featurizer(options.decider.featurizer)
        return cls(
            IntentModel.from_bytes(body[:n_intent], options.intent),
            LinUCB.from_bytes(body[n_intent:], dimension=featurizer.dimension,
                              fingerprint=featurizer.fingerprint,
                              options=options.decider.bandit),
            version,
        )
