"""Acceptance: on the simulator, rtp's personalized arm converts better than control.

Offline (the engine in-process, no broker latency) and seeded, so the result is the
policy's, deterministic, and not left to the chance of a short run.
"""

from __future__ import annotations

from pipeline.sim.offline import run_offline
from pipeline.sim.options import SimulatorOptions


def test_personalized_conversion_beats_control_on_the_simulator() -> None:
    summary = run_offline(SimulatorOptions(seed=5, visitors_per_minute=60), minutes=10)
    personalized, control = summary.arms["personalized"], summary.arms["control"]
    assert personalized.visitors > 5 * control.visitors > 0
    # The simulator's truth for what each visitor was shown, and what they actually did.
    assert personalized.expected_rate > control.expected_rate + 0.03
    lift = summary.lift()
    assert lift is not None and lift[0] > 0
    # Ten minutes in, learning has started: a real share of what the oracle would get.
    assert summary.rewards.obtained > 0.2 * summary.rewards.oracle
