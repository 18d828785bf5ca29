"""The closed loop without Kafka: the simulator's visitors against the engine, in one process.

No latency, no broker: what the policy itself achieves. Used by ``rtp simulate
--offline`` and by tests; the same engine runs in the worker.

>>> from pipeline.sim.options import SimulatorOptions
>>> summary = run_offline(SimulatorOptions(seed=1, visitors_per_minute=10), minutes=3)
>>> summary.events > 0
True
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from pipeline.decide import assign_arm
from pipeline.engine import Engine, EngineOptions, VisitorState
from pipeline.engine.deadlines import Deadlines
from pipeline.sim.options import SimulatorOptions
from pipeline.sim.simulator import Simulator
from pipeline.sim.summary import SimulationSummary

__all__ = ["expire_due", "run_offline"]

_START_MS = 1_800_000_000_000


def run_offline(options: SimulatorOptions, minutes: int = 60,
                engine_options: EngineOptions | None = None,
                progress: Callable[[int], None] | None = None) -> SimulationSummary:
    """Simulate ``minutes`` of traffic through the engine, a minute of event time per step."""
    engine = Engine(engine_options)
    share = engine.options.decider.control_share
    sim = Simulator(options, arm_of=lambda v: assign_arm(v, share))
    states: dict[str, VisitorState | None] = {}
    deadlines: Deadlines[str] = Deadlines()

    def outcome_of(outcome: dict[str, Any]) -> None:
        state = states.get(outcome["visitor_id"])
        engine.on_outcome(state, outcome)
        if state is not None:
            deadlines.add(outcome["visitor_id"], state.next_deadline_ms())

    sim.start(_START_MS)
    for minute in range(1, minutes + 1):
        now = _START_MS + minute * 60_000
        for event in sim.next_events(now):
            visitor = event["visitor_id"]
            result = engine.on_event(states.get(visitor), event)
            states[visitor] = result.state
            if result.state is not None:
                deadlines.add(visitor, result.state.next_deadline_ms())
            decision = result.decision
            if decision is None:
                continue
            eligible = [e["action_id"] for e in decision.log["eligible"]]
            for outcome in sim.receive_decision(decision.decision, event["event_time"],
                                                eligible):
                outcome_of(outcome)
        for outcome in sim.take_outcomes():
            outcome_of(outcome)
        expire_due(engine, states, deadlines, now)
        if progress is not None:
            progress(minute)
    return sim.summary()


def expire_due(engine: Engine, states: MutableMapping[str, VisitorState | None],
               deadlines: Deadlines[str], now_ms: int) -> int:
    """The reward timer of an in-memory loop: expire what is due; how many rewards.

    >>> expire_due(Engine(), {}, Deadlines(), 0)
    0
    """
    rewards = 0
    for visitor in deadlines.pop_due(now_ms):
        state = states.get(visitor)
        if state is not None:
            rewards += sum(r["reward"] is not None for r in engine.expire(state, now_ms))
            deadlines.add(visitor, state.next_deadline_ms())
    return rewards
