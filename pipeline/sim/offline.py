"""The closed loop without Kafka: the simulator's visitors against the engine, in one process.

No latency, no broker: what the policy itself achieves. Used by ``rtp simulate
--offline`` and by tests; the same engine runs in the worker.

>>> from pipeline.sim.options import SimulatorOptions
>>> summary = run_offline(SimulatorOptions(seed=1, visitors_per_minute=10), minutes=3)
>>> summary.events > 0
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.decide import DecisionOutcome, assign_arm
from pipeline.engine import Engine, EngineOptions
from pipeline.engine.visitors import Visitors
from pipeline.sim.options import SimulatorOptions
from pipeline.sim.simulator import Simulator
from pipeline.sim.summary import SimulationSummary

__all__ = ["run_offline"]

_START_MS = 1_800_000_000_000


def run_offline(options: SimulatorOptions, minutes: int = 60,
                engine_options: EngineOptions | None = None,
                progress: Callable[[int], None] | None = None) -> SimulationSummary:
    """Simulate ``minutes`` of traffic through the engine, a minute of event time per step."""
    engine = Engine(engine_options)
    share = engine.options.decider.control_share
    sim = Simulator(options, arm_of=lambda v: assign_arm(v, share))
    visitors = Visitors(engine)
    sim.start(_START_MS)

    def deliver(decision: DecisionOutcome | None) -> None:
        if decision is None:
            return
        eligible = [e["action_id"] for e in decision.log["eligible"]]
        # An event's decision is made at its time; a timer's at its due time.
        for outcome in sim.receive_decision(decision.decision, decision.decision["created_at"],
                                            eligible):
            react(outcome)

    def react(outcome: dict[str, Any]) -> None:
        for fired in visitors.outcome(outcome).timers:  # due before the outcome
            deliver(fired.decision)

    for minute in range(1, minutes + 1):
        now = _START_MS + minute * 60_000
        for event in sim.next_events(now):
            result = visitors.event(event)
            for fired in result.timers:  # timers due before this event fired first
                deliver(fired.decision)
            deliver(result.decision)
        for outcome in sim.take_outcomes():
            react(outcome)
        for _, fired in visitors.fire_due(now):
            deliver(fired.decision)
        visitors.expire_due(now)
        if progress is not None:
            progress(minute)
    return sim.summary()

