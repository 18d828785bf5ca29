"""The engine: one Listen-Think-Act-Learn step per record, shared by the worker and replay."""

from pipeline.engine.engine import (
    TIMER,
    Engine,
    EventResult,
    OutcomeResult,
    SweepResult,
    timer_trigger_id,
)
from pipeline.engine.options import EngineOptions
from pipeline.engine.visitor import LabelSnapshot, VisitorState, VisitorStateError

__all__ = [
    "TIMER",
    "Engine",
    "EngineOptions",
    "EventResult",
    "LabelSnapshot",
    "OutcomeResult",
    "SweepResult",
    "VisitorState",
    "VisitorStateError",
    "timer_trigger_id",
]
