"""The engine decides the same whether a visitor's state stays in memory or goes through
its bytes after every step (as after a cache miss, a restart or a rebalance)."""

from __future__ import annotations

import json
from typing import Any

from pipeline.decide import assign_arm
from pipeline.engine import Engine, VisitorState
from pipeline.sim import Simulator, SimulatorOptions
from tests.unit.engine.state_view import view

START = 1_800_000_000_000


def _closed_loop(minutes: int, through_bytes: bool) -> tuple[list[Any], dict[str, Any]]:
    """Everything the engine produced on a seeded simulator run, and the final states."""
    engine = Engine()
    sim = Simulator(SimulatorOptions(seed=21, visitors_per_minute=20.0, id_prefix="codec"),
                    arm_of=lambda v: assign_arm(v, engine.options.decider.control_share))
    states: dict[str, VisitorState | None] = {}
    produced: list[Any] = []

    def stored(state: VisitorState | None) -> VisitorState | None:
        if state is None or not through_bytes:
            return state
        return VisitorState.from_bytes(state.to_bytes(), engine.options.rewards)

    def outcome(record: dict[str, Any]) -> None:
        visitor = record["visitor_id"]
        result = engine.on_outcome(states.get(visitor), record)
        produced.append(("outcome", result.learning,
                         [(t.signals, t.decision and t.decision.log) for t in result.timers]))
        states[visitor] = stored(result.state)

    sim.start(START)
    for minute in range(1, minutes + 1):
        for event in sim.next_events(START + minute * 60_000):
            visitor = event["visitor_id"]
            result = engine.on_event(states.get(visitor), event)
            states[visitor] = stored(result.state)
            decision = result.decision
            produced.append(("event", result.signals, result.learning,
                             decision and (decision.decision, decision.log),
                             [(t.signals, t.decision and t.decision.log) for t in result.timers]))
            if decision is not None:
                eligible = [e["action_id"] for e in decision.log["eligible"]]
                for record in sim.receive_decision(decision.decision, event["event_time"],
                                                   eligible):
                    outcome(record)
        for record in sim.take_outcomes():
            outcome(record)
    # As stored (bytes): in memory, the detectors' firings stay in the order they fired;
    # stored, in the rules' order (the session format; no decision depends on it).
    final = {k: None if s is None else view(VisitorState.from_bytes(s.to_bytes()))
             for k, s in states.items()}
    return json.loads(json.dumps(produced, default=repr)), final


def test_decisions_are_the_same_with_states_through_their_bytes_after_every_step() -> None:
    in_memory, memory_states = _closed_loop(15, through_bytes=False)
    through, through_states = _closed_loop(15, through_bytes=True)
    decisions = [p for p in in_memory if p[0] == "event" and p[3] is not None]
    assert len(decisions) > 100  # the run decides: the comparison is not empty
    assert sum(1 for s in through_states.values() if s and s["pending"]) > 20
    assert through == in_memory
    assert through_states == memory_states
