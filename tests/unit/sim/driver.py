"""A small closed-loop driver for the simulator tests: step the clock, decide, collect."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline.sim import Simulator, SimulatorOptions

T0 = 1_700_000_000_000
LAG_MS = 150
"""How long after the clock tick the driver delivers a decision."""

Policy = Callable[[Simulator, dict[str, Any], int], "dict[str, Any] | None"]
"""Given the simulator, one emitted event and the clock: a decision to deliver, or None."""


@dataclass
class Run:
    sim: Simulator
    events: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)

    def of(self, visitor_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["visitor_id"] == visitor_id]

    def visitors(self) -> list[str]:
        return list(dict.fromkeys(e["visitor_id"] for e in self.events))


def hash_arm(visitor_id: str, control_share: float = 0.5) -> str:
    """A deterministic experiment assignment for tests."""
    digest = hashlib.blake2b(visitor_id.encode(), digest_size=8).digest()
    return "control" if int.from_bytes(digest, "big") / 2**64 < control_share else "personalized"


def decision(decision_id: str, visitor_id: str, action_id: str, arm: str = "personalized",
             slot: str = "hero", payload: dict[str, str] | None = None) -> dict[str, Any]:
    """A Decision dict shaped like schemas/Decision.avsc."""
    return {"decision_id": decision_id, "visitor_id": visitor_id, "session_id": f"{visitor_id}:1",
            "action_id": action_id, "slot": slot, "payload": payload or {}, "propensity": 1.0,
            "policy": "test", "policy_version": "1", "model_version": "1",
            "experiment_arm": arm, "ttl_ms": 600_000, "trigger_event_id": decision_id,
            "created_at": T0}


def drive(options: SimulatorOptions, minutes: float, policy: Policy | None = None, *,
          arm_of: Callable[[str], str] | None = None, step_ms: int = 1_000, lag_ms: int = LAG_MS,
          eligible: Iterable[str] | None = None) -> Run:
    """Run arrivals for ``minutes``, then let every session finish."""
    sim = Simulator(options, arm_of=arm_of)
    sim.start(T0)
    run = Run(sim)
    stop = T0 + int(minutes * 60_000)
    now = T0
    candidates = None if eligible is None else list(eligible)
    while True:
        now += step_ms
        if now > stop:
            sim.stop_arrivals()
        batch = sim.next_events(now)
        run.events.extend(batch)
        if policy is not None:
            for event in batch:
                chosen = policy(sim, event, now)
                if chosen is not None:
                    run.decisions.append(chosen)
                    run.outcomes.extend(sim.receive_decision(chosen, now + lag_ms, candidates))
        run.outcomes.extend(sim.take_outcomes())
        if now > stop and sim.active_visitors == 0:
            return run
