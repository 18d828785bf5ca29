"""The engine: one Listen-Think-Act-Learn step per record, shared by the worker and replay."""

from pipeline.engine.engine import Engine, EventResult, OutcomeResult, SweepResult
from pipeline.engine.options import EngineOptions
from pipeline.engine.visitor import LabelSnapshot, VisitorState, VisitorStateError

__all__ = [
    "Engine",
    "EngineOptions",
    "EventResult",
    "LabelSnapshot",
    "OutcomeResult",
    "SweepResult",
    "VisitorState",
    "VisitorStateError",
]
