"""Learning as its own service: what workers emit, what the learner folds, what it publishes.

Workers resolve rewards and intent labels per visitor (in the visitor's state) and emit
them as :mod:`~pipeline.learning.records` on one topic; the learner service folds them in
order into one :class:`~pipeline.learning.model.Model` (a :class:`Trainer`, first record
of an id wins) and publishes versioned snapshots that every worker decides with.
"""

from pipeline.learning.model import Model, ModelFormatError
from pipeline.learning.pins import ModelPins, ModelRef
from pipeline.learning.records import label_record, reward_record
from pipeline.learning.seen import SeenIds
from pipeline.learning.trainer import Trainer, TrainerCheckpoint

__all__ = ["Model", "ModelFormatError", "ModelPins", "ModelRef", "SeenIds", "Trainer",
           "TrainerCheckpoint", "label_record", "reward_record"]
