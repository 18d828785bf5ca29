"""Per-decision records: each reward stays with its decision, a conversion included when
the purchase comes long after it; the summary tells which decisions still await theirs.
Checked against the outcomes the simulator emitted, not against its ledger."""

from __future__ import annotations

import itertools
from typing import Any

from pipeline.sim import RewardWeights, Simulator, SimulatorOptions, ledger_of
from tests.unit.sim.driver import LAG_MS, T0, decision

OPTIONS = SimulatorOptions(seed=13, visitors_per_minute=20,
                           persona_mix=(("hesitant_headphones_shopper", 1.0),))
W = RewardWeights()  # the engine's: click 1, conversion 1, dismissal -0.5


def _reward(outcomes: list[dict[str, Any]], decisions: set[str]) -> tuple[float, int]:
    kinds = {"clicked": W.clicked, "dismissed": W.dismissed, "converted": W.converted}
    picked = [o for o in outcomes if o["decision_id"] in decisions]
    return (sum(kinds.get(o["kind"], 0.0) for o in picked),
            sum(o["kind"] == "converted" for o in picked))


def test_records_keep_each_reward_with_its_decision_and_the_summary_the_unsettled() -> None:
    sim = Simulator(OPTIONS)
    sim.start(T0)
    ids = itertools.count(1)
    outcomes: list[dict[str, Any]] = []
    shown: dict[str, str] = {}  # decision id -> visitor, from the shown outcomes
    mid_ms, stop_ms, now = T0 + 4 * 60_000, T0 + 5 * 60_000, T0
    mid: dict[str, Any] = {}
    while True:
        now += 1_000
        if now > stop_ms:
            sim.stop_arrivals()
        for event in sim.next_events(now):
            if event["event_type"] == "page_view" and now <= stop_ms:
                chosen = decision(f"d{next(ids)}", event["visitor_id"], "free_express_shipping")
                for o in sim.receive_decision(chosen, now + LAG_MS):
                    outcomes.append(o)
                    if o["kind"] == "shown":
                        shown[o["decision_id"]] = o["visitor_id"]
        outcomes.extend(sim.take_outcomes())
        if now == mid_ms:
            finished = {v for v, o in sim.visitor_outcomes().items() if o.finished}
            pending = {d for d, v in shown.items() if v not in finished}
            mid = {"summary": sim.summary(), "pending": pending,
                   "reward": _reward(outcomes, pending), "all": _reward(outcomes, set(shown))}
        if now > stop_ms and sim.active_visitors == 0:
            break
    summary, pending = mid["summary"], mid["pending"]
    # Mid-run: the decisions of visitors still browsing, and what they obtained so far.
    assert summary.unsettled.decisions == len(pending) > 0
    assert summary.unsettled.obtained == mid["reward"][0]
    assert summary.rewards.obtained == mid["all"][0]
    # Those decisions did gain conversions afterwards: the records hold them.
    later = _reward(outcomes, pending)
    assert later[1] > mid["reward"][1]
    records = sim.decision_records()
    assert {r.decision_id for r in records} == set(shown)
    assert ledger_of([r for r in records if r.decision_id in pending], W).obtained == later[0]
    # At the end every visit has ended: nothing unsettled, records and ledger agree.
    end = sim.summary()
    assert end.unsettled.decisions == 0
    assert ledger_of(records, W).obtained == end.rewards.obtained == _reward(outcomes,
                                                                              set(shown))[0]
