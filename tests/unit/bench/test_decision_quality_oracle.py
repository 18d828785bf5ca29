"""bench/decision_quality: the headline shares of the oracle, recomputed independently.

At every personalized decision the simulator scores, a fresh ResponseModel gives each
eligible action's expected reward for the visitor's context at that moment; the share of
the oracle over a window is then sum(chosen) / sum(best). It must equal what the bench
reports after the warm-up and in both drift windows (the engine's own policy, the
contextual world drifting during the run)."""

from __future__ import annotations

from typing import Any

import pytest

from bench.decision_quality import _START_MS, RECOVERY_MINUTES, _closed_loop, share_after
from pipeline.engine import EngineOptions
from pipeline.sim import RewardWeights, SimulatorOptions
from pipeline.sim import simulator as simulator_module
from pipeline.sim.response import ResponseModel

MINUTES, WARMUP, DRIFT_MINUTES = 14, 3, 2


def test_shares_match_an_independent_recomputation(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, float, float]] = []
    receive = simulator_module.Simulator.receive_decision

    def spying(self: Any, decision: Any, now_ms: int, eligible: Any = None) -> Any:
        context = self.context_of(str(decision["visitor_id"]), now_ms)
        out = receive(self, decision, now_ms, eligible)
        if context is not None and eligible and str(decision["decision_id"]) in {
                r.decision_id for r in self.decision_records()[-1:]}:
            fresh = ResponseModel(self.options.response_strength, self.options.weights,
                                  self.options.world)
            truth = {a: fresh.expected_reward(a, context) for a in eligible}
            seen.append((now_ms, truth[decision["action_id"]], max(truth.values())))
        return out

    monkeypatch.setattr(simulator_module.Simulator, "receive_decision", spying)
    sim = SimulatorOptions(seed=12, visitors_per_minute=12, id_prefix="t-dqo", world="contextual",
                           drift_after_ms=DRIFT_MINUTES * 60_000,
                           weights=RewardWeights(dismissed=-0.5))
    loop = _closed_loop(None, MINUTES, WARMUP, EngineOptions(), sim)

    def share(since_min: float, until_min: float) -> float:
        since, until = _START_MS + since_min * 60_000, _START_MS + until_min * 60_000
        window = [(c, b) for at, c, b in seen if since <= at < until]
        assert window  # the check is about something
        return sum(c for c, _ in window) / sum(b for _, b in window)

    end = MINUTES
    recovered = DRIFT_MINUTES + RECOVERY_MINUTES
    assert loop.drift_first is not None and loop.drift_recovered is not None
    assert share_after(loop.after_warmup)["expected_share"] == pytest.approx(share(WARMUP, end))
    assert share_after(loop.drift_first)["expected_share"] == pytest.approx(
        share(DRIFT_MINUTES, recovered))
    assert share_after(loop.drift_recovered)["expected_share"] == pytest.approx(
        share(recovered, end))
    # Every scored decision of the run was seen once, no other.
    assert loop.whole.decisions == len([1 for at, _, _ in seen
                                        if at < _START_MS + end * 60_000])
