"""Real learning records for tests: the simulator's visitors through an engine that does
not learn itself (as a worker), every record it emits, in order."""

from __future__ import annotations

from typing import Any

from pipeline.decide import assign_arm
from pipeline.engine import Engine, EngineOptions
from pipeline.engine.visitors import Visitors
from pipeline.sim.options import SimulatorOptions
from pipeline.sim.simulator import Simulator

_START_MS = 1_800_000_000_000


def learning_stream(minutes: int = 6, seed: int = 3, per_minute: int = 30,
                    options: EngineOptions | None = None) -> list[dict[str, Any]]:
    """Every learning record of ``minutes`` of simulated traffic (rewards and labels)."""
    engine = Engine(options, learn_inline=False)
    share = engine.options.decider.control_share
    sim = Simulator(SimulatorOptions(seed=seed, visitors_per_minute=per_minute,
                                     id_prefix=f"ls{seed}"),
                    arm_of=lambda v: assign_arm(v, share))
    visitors = Visitors(engine)
    records: list[dict[str, Any]] = []
    sim.start(_START_MS)
    for minute in range(1, minutes + 30):  # then 30 quiet minutes: every reward expires
        now = _START_MS + minute * 60_000
        for event in (sim.next_events(now) if minute <= minutes else []):
            result = visitors.event(event)
            records += result.learning
            if result.decision is not None:
                eligible = [e["action_id"] for e in result.decision.log["eligible"]]
                for outcome in sim.receive_decision(result.decision.decision,
                                                    event["event_time"], eligible):
                    records += visitors.outcome(outcome).learning
        for outcome in sim.take_outcomes():
            records += visitors.outcome(outcome).learning
        records += visitors.expire_due(now)
    return records
