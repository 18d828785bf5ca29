"""The learner's fold: learning records in topic order → the model, exactly once.

The learner's checkpoint is the model, the position of the next record to read and the
ids seen lately, in one value: a learner restarted from it reads on from that position
and ends with the model an uninterrupted learner has (same records, same order), and a
record a worker emitted twice counts once.

>>> from pipeline.engine.options import EngineOptions
>>> trainer = Trainer(Model.new(EngineOptions()))
>>> record = {"record_id": "label|s|end", "visitor_id": "v", "event_time": 1,
...           "reward": None, "label": {"session_id": "s", "numeric": {},
...                                     "categorical": {}, "converted": False}}
>>> trainer.apply(record, offset=0), trainer.apply(record, offset=1)
(True, False)
>>> back = TrainerCheckpoint.from_bytes(trainer.checkpoint().to_bytes(), EngineOptions())
>>> back.position, back.model.version, len(back.seen)
(2, 1, 1)
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline.learning.model import Model, ModelFormatError
from pipeline.learning.seen import SeenIds

if TYPE_CHECKING:
    from pipeline.engine.options import EngineOptions

__all__ = ["Trainer", "TrainerCheckpoint"]

_MAGIC = b"rtpT"
_FORMAT = 1
_HEADER = struct.Struct("<4sBqII")  # magic, format, position, len(model), len(seen)


@dataclass
class TrainerCheckpoint:
    """Model + next offset to read + recent record ids: the learner's whole state."""

    model: Model
    position: int = 0
    seen: SeenIds = field(default_factory=SeenIds)

    def to_bytes(self) -> bytes:
        """One value (the model part is the published snapshot, verbatim)."""
        model, seen = self.model.to_bytes(), self.seen.to_bytes()
        return _HEADER.pack(_MAGIC, _FORMAT, self.position, len(model), len(seen)) + model + seen

    @classmethod
    def from_bytes(cls, data: bytes, options: EngineOptions,
                   capacity: int = 100_000) -> TrainerCheckpoint:
        """Read :meth:`to_bytes`; other formats raise :class:`ModelFormatError`."""
        if len(data) < _HEADER.size or data[:4] != _MAGIC:
            raise ModelFormatError("not a learner checkpoint")
        _, fmt, position, n_model, n_seen = _HEADER.unpack_from(data)
        if fmt != _FORMAT or len(data) != _HEADER.size + n_model + n_seen:
            raise ModelFormatError(f"learner checkpoint format {fmt} / size not readable")
        start = _HEADER.size
        model = Model.from_bytes(data[start:start + n_model], options)
        seen = SeenIds.from_bytes(data[start + n_model:], capacity)
        return cls(model, position, seen)


class Trainer:
    """Applies learning records to a model once each, remembering its position."""

    def __init__(self, model: Model, position: int = 0, seen: SeenIds | None = None) -> None:
        self.model = model
        self.position = position
        self.seen = seen if seen is not None else SeenIds()
        self.duplicates = 0

    @classmethod
    def resume(cls, checkpoint: TrainerCheckpoint) -> Trainer:
        """Continue from a checkpoint."""
        return cls(checkpoint.model, checkpoint.position, checkpoint.seen)

    def apply(self, record: Mapping[str, Any], offset: int | None = None) -> bool:
        """Fold ``record`` (read at ``offset``) in; False for a duplicate id (skipped)."""
        if offset is not None:
            self.position = offset + 1
        if not self.seen.add(str(record["record_id"])):
            self.duplicates += 1
            return False
        self.model.learn(record)
        return True

    def checkpoint(self) -> TrainerCheckpoint:
        """The state to publish (shares the live objects: encode it before applying more)."""
        return TrainerCheckpoint(self.model, self.position, self.seen)
