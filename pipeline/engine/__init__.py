"""The engine: one Listen-Think-Act-Learn step per record, shared by the worker and replay."""

from pipeline.engine.engine import Engine, EventResult, OutcomeResult
from pipeline.engine.learner import Learner, LearnerStateError
from pipeline.engine.options import EngineOptions
from pipeline.engine.visitor import VisitorState, VisitorStateError

__all__ = [
    "Engine",
    "EngineOptions",
    "EventResult",
    "Learner",
    "LearnerStateError",
    "OutcomeResult",
    "VisitorState",
    "VisitorStateError",
]
