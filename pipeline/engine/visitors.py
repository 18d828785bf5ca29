"""Visitor states in memory with their reward and detector timers: the worker's bookkeeping
for in-process loops (the offline simulator, benchmarks, tests), without Kafka or RocksDB.

Timers (a dwell, a dead-click window) fire at their due time in event time: when the
visitor's next event comes (:meth:`Engine.on_event` fires them first), or when the caller
moves event time on with :meth:`Visitors.fire_due` (each step of a simulation, the end
of a stream). Like the worker's tick, which asks the same question on the wall clock.

>>> from pipeline.client.samples import click_event
>>> from pipeline.engine.options import EngineOptions
>>> visitors = Visitors(Engine(EngineOptions(), learn_inline=False))
>>> t = 1_800_000_000_000
>>> decision = visitors.event(click_event("v1", "page_view", t)).decision
>>> awaited = decision.served and decision.decision["action_id"] != "no_action"
>>> [r["reward"]["reason"] for r in visitors.expire_due(t + 600_000)] == (
...     ["expired"] if awaited else [])
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.engine.deadlines import Deadlines
from pipeline.engine.engine import Engine, EventResult, Learning, OutcomeResult
from pipeline.engine.visitor import VisitorState

__all__ = ["Visitors"]


class Visitors:
    """States by visitor id, and when each visitor's pending rewards fall due."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.states: dict[str, VisitorState | None] = {}
        self.deadlines: Deadlines[str] = Deadlines()
        #: When each visitor's detector timers fall due (event time).
        self.timers: Deadlines[str] = Deadlines()

    def _keep(self, visitor: str, state: VisitorState | None) -> None:
        if state is not None:
            self.deadlines.add(visitor, state.next_deadline_ms())
            self.timers.add(visitor, self.engine.timer_due_ms(state))

    def event(self, event: Mapping[str, Any]) -> EventResult:
        """Apply a ClickEvent to its visitor's state (stored as the worker stores it)."""
        visitor = str(event["visitor_id"])
        result = self.engine.on_event(self.states.get(visitor), event)
        if (not result.duplicate and result.late_reason is None) or result.timers:
            self.states[visitor] = result.state
            self._keep(visitor, result.state)
        return result

    def outcome(self, outcome: Mapping[str, Any]) -> OutcomeResult:
        """Apply an Outcome to its visitor's state."""
        visitor = str(outcome["visitor_id"])
        result = self.engine.on_outcome(self.states.get(visitor), outcome)
        self._keep(visitor, result.state)
        return result

    def expire_due(self, now_ms: int) -> Learning:
        """The reward timer: expire what is due at event time ``now_ms``; the records."""
        learning: Learning = []
        for visitor in self.deadlines.pop_due(now_ms):
            state = self.states.get(visitor)
            if state is not None:
                learning += self.engine.expire(state, now_ms)
                self._keep(visitor, state)
        return learning

    def fire_due(self, now_ms: int) -> list[tuple[str, EventResult]]:
        """The detector timers: fire what is due at event time ``now_ms`` (each at its own
        due time); ``(visitor id, result)`` for each timer that produced something.

        >>> from pipeline.client.samples import click_event
        >>> from pipeline.engine.options import EngineOptions
        >>> visitors, t = Visitors(Engine(EngineOptions())), 1_800_000_000_000
        >>> _ = visitors.event(click_event("v1", "page_view", t, page_type="pricing"))
        >>> visitors.fire_due(t + 29_999)
        []
        >>> [(v, [s["rule"] for s in r.signals]) for v, r in visitors.fire_due(t + 30_000)]
        [('v1', ['hesitation'])]
        """
        fired: list[tuple[str, EventResult]] = []
        for visitor in self.timers.pop_due(now_ms):
            state = self.states.get(visitor)
            if state is not None:
                fired += [(visitor, r) for r in self.engine.on_timers(state, now_ms)]
                self._keep(visitor, state)
        return fired
