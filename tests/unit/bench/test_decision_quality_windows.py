"""bench/decision_quality: the realized reward after the warm-up is that of the decisions
shown after the warm-up, each with every reward it obtained (a conversion included when the
purchase came after the run's end), recomputed here from the outcomes the loop fed the
engine, not from the simulator's ledger."""

from __future__ import annotations

from typing import Any

import pytest

from bench.decision_quality import _START_MS, RulesOnly, Tap, _closed_loop
from pipeline.engine import EngineOptions
from pipeline.sim import RewardWeights, SimulatorOptions

MINUTES, WARMUP = 9, 3
WEIGHTS = RewardWeights(clicked=1.0, converted=1.0, dismissed=-0.5)


def _realized(tap: Tap, since_ms: int, until_ms: int) -> tuple[float, int, int]:
    """Reward, clicks and conversions of the outcomes of the decisions shown in
    ``[since_ms, until_ms)``, whenever each outcome came."""
    shown_at: dict[str, int] = {}
    reward, clicks, conversions = 0.0, 0, 0
    for kind, item in tap:
        if kind == "decision":
            shown_at.setdefault(item["decision_id"], int(item["created_at"]))
        elif kind == "outcome" and since_ms <= shown_at[item["decision_id"]] < until_ms:
            reward += {"clicked": WEIGHTS.clicked, "dismissed": WEIGHTS.dismissed,
                       "converted": WEIGHTS.converted}.get(item["kind"], 0.0)
            clicks += item["kind"] == "clicked"
            conversions += item["kind"] == "converted"
    return reward, clicks, conversions


def _conversions(tap: Tap) -> list[tuple[int, int]]:
    """(decision time, conversion time) of every converted outcome."""
    shown_at: dict[str, int] = {}
    out = []
    for kind, item in tap:
        if kind == "decision":
            shown_at.setdefault(item["decision_id"], int(item["created_at"]))
        elif kind == "outcome" and item["kind"] == "converted":
            out.append((shown_at[item["decision_id"]], int(item["event_time"])))
    return out


@pytest.fixture(scope="module")
def run() -> tuple[Any, Tap]:
    tap: Tap = []
    options = EngineOptions()
    sim = SimulatorOptions(seed=12, visitors_per_minute=12, id_prefix="t-dqw", world="contextual",
                           weights=WEIGHTS)
    return _closed_loop(RulesOnly(), MINUTES, WARMUP, options, sim, tap), tap


def test_the_stream_has_conversions_across_both_boundaries(run: tuple[Any, Tap]) -> None:
    """What the next test is about must happen: purchases after the warm-up for decisions
    before it, and after the run's end for decisions of the run."""
    _, tap = run
    warm, end = _START_MS + WARMUP * 60_000, _START_MS + MINUTES * 60_000
    conversions = _conversions(tap)
    assert any(at < warm <= when for at, when in conversions)
    assert any(at < end <= when for at, when in conversions)


def test_realized_reward_is_that_of_the_windows_own_decisions(run: tuple[Any, Tap]) -> None:
    loop, tap = run
    warm, end = _START_MS + WARMUP * 60_000, _START_MS + MINUTES * 60_000
    reward, clicks, conversions = _realized(tap, warm, end)
    after = loop.after_warmup
    assert (after.obtained, after.clicks, after.conversions) == (
        pytest.approx(reward), clicks, conversions)
    reward, clicks, conversions = _realized(tap, _START_MS, end)
    whole = loop.whole
    assert (whole.obtained, whole.clicks, whole.conversions) == (
        pytest.approx(reward), clicks, conversions)

