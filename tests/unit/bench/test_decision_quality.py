"""bench/decision_quality: the Vowpal Wabbit baseline is fed every served decision's reward
exactly once, with its action, propensity and the reward the stream says it earned."""

from __future__ import annotations

import doctest
from collections.abc import Mapping
from typing import Any

import pytest

import bench.decision_quality
from bench.decision_quality import Tap, VowpalWabbit, _closed_loop
from pipeline.engine import EngineOptions
from pipeline.feedback import RewardOptions
from pipeline.sim import SimulatorOptions

pytest.importorskip("vowpalwabbit")


def test_doctests() -> None:
    result = doctest.testmod(bench.decision_quality)
    assert result.attempted > 0
    assert result.failed == 0


def _rewards_from_stream(tap: Tap, rewards: RewardOptions) -> dict[str, tuple[str, float, float]]:
    """Each served decision whose reward wait ended before the last timer: its action, the
    reward of the distinct outcome kinds within the wait (a purchase of the visitor counts
    as ``converted`` for the latest shown action still within its wait, as the engine
    attributes it: last touch), its propensity. Computed from what the loop fed the engine,
    not from the engine."""
    wait = rewards.reward_wait_ms
    last = max(item["now"] for kind, item in tap if kind == "timer")
    decisions: dict[str, Mapping[str, Any]] = {}
    kinds: dict[str, set[str]] = {}
    for kind, item in tap:
        if kind == "decision" and item["served"]:
            decisions[item["decision_id"]] = item
            kinds[item["decision_id"]] = set()
        elif kind == "outcome" and item["decision_id"] in decisions:
            decision = decisions[item["decision_id"]]
            if item["event_time"] <= decision["created_at"] + wait:
                kinds[item["decision_id"]].add(item["kind"])
        elif kind == "event" and item["event_type"] == "purchase":
            last_touch = None  # the latest shown action still within its wait
            for decision_id, decision in decisions.items():
                if (decision["visitor_id"] == item["visitor_id"]
                        and decision["action_id"] != "no_action"
                        and decision["created_at"] <= item["event_time"]
                        < decision["created_at"] + wait
                        and (last_touch is None
                             or decision["created_at"] >= decisions[last_touch]["created_at"])):
                    last_touch = decision_id
            if last_touch is not None:
                kinds[last_touch].add("converted")
    return {d: (decision["action_id"],
                sum(rewards.weight(k) for k in kinds[d]) if kinds[d] else rewards.default_reward,
                float(decision["propensity"]))
            for d, decision in decisions.items() if decision["created_at"] + wait <= last}


def test_vw_learns_every_served_decision_once_with_the_streams_reward() -> None:
    options = EngineOptions()
    vw = VowpalWabbit(options.rewards.reward_wait_ms)
    tap: Tap = []
    _closed_loop(vw, 16, 5, options,
                 SimulatorOptions(seed=5, visitors_per_minute=8, id_prefix="t-dq"), tap)
    expected = _rewards_from_stream(tap, options.rewards)
    # The stream must hold what the check is about: rewards of every sign, and decisions
    # that got none (no outcome within the wait: the default reward), no_action among them.
    totals = {total for _, total, _ in expected.values()}
    assert {0.0, 1.0} <= totals and any(t < 0 for t in totals)
    assert any(a == "no_action" and t == 0.0 for a, t, _ in expected.values())
    learned = {d: e for d, e in vw.examples.items() if d in expected}
    assert learned == expected  # same decisions, each with the stream's action/reward/p
    # Nothing learned beyond them: only decisions still within their wait at the end.
    assert set(vw.examples) == set(expected)
    assert vw.late_updates == 0
