"""Online intent: River models scoring "this session converts", checkpoints.

>>> model = IntentModel(IntentOptions())
>>> probability, label = model.classify({"page_views": 1.0}, {"sector": "saas"})
>>> label
'browsing'
"""

from pipeline.intent.checkpoint import load_checkpoint, save_checkpoint
from pipeline.intent.classify import STRUGGLE_FLAGS, intent_class, is_struggling
from pipeline.intent.envelope import (
    CHECKPOINT_SCHEMA_VERSION,
    CheckpointState,
    decode_checkpoint,
    encode_checkpoint,
)
from pipeline.intent.errors import CheckpointError, CheckpointMismatch
from pipeline.intent.model import IntentModel, build_river_model
from pipeline.intent.options import INTENT_CLASSES, IntentCutoffs, IntentOptions, IntentOptionsError

__all__ = [
    "CHECKPOINT_SCHEMA_VERSION",
    "INTENT_CLASSES",
    "STRUGGLE_FLAGS",
    "CheckpointError",
    "CheckpointMismatch",
    "CheckpointState",
    "IntentCutoffs",
    "IntentModel",
    "IntentOptions",
    "IntentOptionsError",
    "build_river_model",
    "decode_checkpoint",
    "encode_checkpoint",
    "intent_class",
    "is_struggling",
    "load_checkpoint",
    "save_checkpoint",
]
