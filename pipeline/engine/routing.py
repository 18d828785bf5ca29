"""Where each thing the engine produced goes: topic, key and schema, decided in the core.

The decision path and replay both turn results into :class:`Output` rows with
these functions and only write them, so routing rules (control-arm decisions
are logged, not delivered; late events are dead letters) live in one place.

>>> from pipeline.engine.engine import EventResult
>>> [o.topic for o in event_outputs(EventResult(state=None, late_reason="too late"),
...                                 {"visitor_id": "v", "event_type": "click"})]
['late']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.engine.engine import EventResult, Learning
from pipeline.frozen import maker
from pipeline.profiles.pseudonym import is_claim
from pipeline.topics import ACTIONS, DECISIONS_LOG, LEARNING, SIGNALS

__all__ = ["CONVERSIONS", "LATE", "Output", "event_outputs", "learning_outputs", "timer_outputs"]

#: Internal topic: purchase events re-keyed by person, so profiles learn of them.
CONVERSIONS = "rtp.internal.conversions"
#: Pseudo-topic: the event was too late for its session; the adapter dead-letters it.
LATE = "late"


@dataclass(frozen=True)
class Output:
    """One record to write."""

    topic: str
    key: str
    schema: str
    record: Mapping[str, Any] = field(repr=False)


def event_outputs(result: EventResult, event: Mapping[str, Any]) -> list[Output]:
    """The records one ClickEvent's result produces, in write order (the timers that fired
    before it first)."""
    if not (result.timers or result.signals or result.decision or result.learning
            or result.late_reason is not None or event.get("event_type") == "purchase"):
        return []  # most events (scrolls, mouse moves) write nothing: say so at once
    visitor = str(event["visitor_id"])
    out = [o for timer in result.timers for o in timer_outputs(timer, visitor)]
    if result.late_reason is not None:
        return [*out, Output(LATE, visitor, "", {"reason": result.late_reason})]
    out += _decided(result, visitor)
    if event.get("event_type") == "purchase" and not result.duplicate:
        user = event.get("user_id")
        person = str(user) if user and not is_claim(user) else visitor  # a claim: the device
        out.append(Output(CONVERSIONS, person, "ClickEvent", event))
    out += learning_outputs(result.learning)
    return out


def timer_outputs(result: EventResult, visitor: str) -> list[Output]:
    """The records a fired timer's result produces: signals, decision, learning records.

    >>> from pipeline.engine.engine import EventResult
    >>> timer_outputs(EventResult(state=None, signals=[{"rule": "hesitation"}]), "v")[0].topic
    'signals.struggle'
    """
    return [*_decided(result, visitor), *learning_outputs(result.learning)]


def _decided(result: EventResult, visitor: str) -> list[Output]:
    new = _new_output  # Output(topic, key, schema, record), without the frozen __init__
    out = [new(SIGNALS, visitor, "StruggleSignal", s) for s in result.signals]
    decision = result.decision
    if decision is not None:
        if decision.deliver:
            out.append(new(ACTIONS, visitor, "Decision", decision.decision))
        out.append(new(DECISIONS_LOG, decision.decision_id, "DecisionLog", decision.log))
    return out


def learning_outputs(learning: Learning) -> list[Output]:
    """Learning records for the learner service, keyed by visitor.

    >>> learning_outputs([{"record_id": "r", "visitor_id": "v"}])[0].topic
    'personalization.learning'
    """
    new = _new_output  # Output(topic, key, schema, record), without the frozen __init__
    return [new(LEARNING, str(r["visitor_id"]), "LearningRecord", r) for r in learning]


#: Positional constructors (every field, in order: :mod:`pipeline.frozen`), for the hot path.
_new_output = maker(Output)
