"""Every figure of the experiment report counts the same attributed conversions (issue 11).

The report's headline conversion, revenue per visitor, per-action table, reward chart,
lift-over-time series and always-valid band are recomputed here **independently**, from
the rows and purchases with plain loops (no code of ``pipeline.replay`` beyond the
JoinedRow container), and compared with what the report says, in its object, its JSON
and its HTML. Before this, the reward chart summed outcome-based rewards (control decisions,
never shown, read 0) while the headline counted attributed purchases: two outputs of one
report disagreed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.replay.attribution import Purchase
from pipeline.replay.join import JoinedRow, RewardWeights
from pipeline.replay.report import ReportOptions, build_report_from_rows
from pipeline.replay.report_html import render_report_html
from pipeline.replay.sequential import confidence_sequence_path

MIN = 60_000
WINDOW = 30 * MIN
CLICK, CONVERSION = 1.0, 1.0  # the report's default weights, stated independently


def _row(did: str, visitor: str, at: int, arm: str, action: str, clicked: bool,
         outcome_converted: bool) -> JoinedRow:
    # An outcome-based reward the report must replace: a converted outcome worth 100.
    n_outcomes = int(clicked) + int(outcome_converted)
    return JoinedRow(decision_id=did, visitor_id=visitor, session_id="s", created_at=at,
                     action_id=action, propensity=0.5, eligible={action: 0.5}, arm=arm,
                     served=arm == "personalized", trigger_event_id=f"t-{did}",
                     control_share=0.5, clicked=clicked, converted=outcome_converted,
                     conversions=int(outcome_converted),
                     revenue=100.0 if outcome_converted else 0.0, n_outcomes=n_outcomes,
                     reward=float(clicked) + (100.0 if outcome_converted else 0.0))


@st.composite
def experiments(draw: st.DrawFn) -> tuple[list[JoinedRow], list[Purchase]]:
    n_visitors = draw(st.integers(2, 12))
    rows: list[JoinedRow] = []
    purchases: list[Purchase] = []
    for v in range(n_visitors):
        visitor = f"v{v}"
        arm = "control" if v % 2 == 0 else "personalized"  # both arms always present
        start = draw(st.integers(0, 60)) * MIN
        for k in range(draw(st.integers(1, 4))):
            at = start + draw(st.integers(0, 40)) * MIN
            clicked = arm == "personalized" and draw(st.booleans())
            rows.append(_row(f"d{v}-{k}", visitor, at, arm,
                             draw(st.sampled_from(["no_action", "cta", "hero"])), clicked,
                             draw(st.booleans())))
        for k in range(draw(st.integers(0, 2))):
            at = start + draw(st.integers(0, 90)) * MIN
            value = draw(st.sampled_from([0.0, 10.0, 25.5, 80.0]))
            purchases.append(Purchase(f"p{v}-{k}", visitor, at, value))
    return rows, purchases


def _independent(rows: Sequence[JoinedRow], purchases: Sequence[Purchase]) -> dict:
    credits: dict[str, list[tuple[str, float]]] = {}  # decision -> (purchase, share)
    bought: dict[str, list[float]] = {}                 # visitor -> purchase values
    seen: set[str] = set()
    for p in purchases:
        if p.purchase_id in seen:
            continue
        seen.add(p.purchase_id)
        own = [r for r in rows if r.visitor_id == p.visitor_id
               and p.at_ms - WINDOW <= r.created_at <= p.at_ms]
        if not own:
            continue
        bought.setdefault(p.visitor_id, []).append(p.value)
        for r in own:
            credits.setdefault(r.decision_id, []).append((p.purchase_id, p.value / len(own)))
    first: dict[str, JoinedRow] = {}
    for r in sorted(rows, key=lambda r: (r.created_at, r.decision_id)):
        first.setdefault(r.visitor_id, r)
    arm_of = {v: r.arm for v, r in first.items()}
    out: dict = {"conversion": {}, "revenue_per_visitor": {}, "visitors": {}}
    for arm in ("control", "personalized"):
        members = [v for v in arm_of if arm_of[v] == arm]
        out["visitors"][arm] = len(members)
        out["conversion"][arm] = sum(1 for v in members if v in bought) / len(members)
        out["revenue_per_visitor"][arm] = sum(sum(bought.get(v, [])) for v in members) / len(
            members)
    reward: dict[str, float] = {}
    actions: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        credited = r.decision_id in credits
        reward[r.decision_id] = (CLICK * r.clicked + CONVERSION * credited
                                 if r.n_outcomes or credited else 0.0)
        tally = actions.setdefault((r.action_id, r.arm), [0, 0, 0, 0.0, 0.0])
        tally[0] += 1
        tally[1] += int(r.clicked)
        tally[2] += len(credits.get(r.decision_id, []))
        tally[3] += sum(share for _, share in credits.get(r.decision_id, []))
        tally[4] += reward[r.decision_id]
    out["actions"] = actions
    out["reward"] = reward
    out["first_seen"] = {v: r.created_at for v, r in first.items()}
    out["arm_of"] = arm_of
    out["bought"] = set(bought)
    return out


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=150, deadline=None)
@given(experiments())
def test_every_figure_counts_the_same_attributed_conversions(
        case: tuple[list[JoinedRow], list[Purchase]]) -> None:
    rows, purchases = case
    opts = ReportOptions(n_boot=20, time_buckets=6, cs_min_visitors=2, cuped_covariate=None)
    report = build_report_from_rows(rows, 0.5, opts, purchases=purchases)
    truth = _independent(rows, purchases)

    # Headline: conversion and revenue per visitor per arm.
    conv = report.metric("conversion_rate")
    assert _close(conv.control, truth["conversion"]["control"])
    assert _close(conv.personalized, truth["conversion"]["personalized"])
    rpv = report.metric("revenue_per_visitor")
    assert _close(rpv.control, truth["revenue_per_visitor"]["control"])
    assert _close(rpv.personalized, truth["revenue_per_visitor"]["personalized"])

    # Per-action table: decisions, clicks, attributed conversions, revenue and reward.
    got = {}
    for a in report.actions:
        for arm in ("personalized", "control"):
            s = getattr(a, arm)
            if s.decisions:
                got[(a.action_id, arm)] = [s.decisions, s.clicks, s.conversions, s.revenue,
                                           s.reward]
    assert set(got) == set(truth["actions"])
    for key, want in truth["actions"].items():
        assert all(_close(float(x), float(y)) for x, y in zip(got[key], want, strict=True)), key

    # Timeline: cumulative reward per arm, conversion of the visitors enrolled so far and
    # the always-valid band over them, at every point.
    ordered = sorted(truth["first_seen"], key=lambda v: truth["first_seen"][v])
    low, high = confidence_sequence_path(
        [truth["arm_of"][v] == "control" for v in ordered],
        [v in truth["bought"] for v in ordered], 0.5, opts.confidence, opts.cs_tuning_visitors)
    for point in report.timeline:
        for arm, value, n in (("control", point.control_reward, point.control_decisions),
                              ("personalized", point.personalized_reward,
                               point.personalized_decisions)):
            upto = [r for r in rows if r.arm == arm and r.created_at <= point.at_ms]
            assert n == len(upto)
            assert _close(value, sum(truth["reward"][r.decision_id] for r in upto))
        enrolled = [v for v in ordered if truth["first_seen"][v] <= point.at_ms]
        for arm, rate in (("control", point.control_conversion),
                          ("personalized", point.personalized_conversion)):
            members = [v for v in enrolled if truth["arm_of"][v] == arm]
            want = (sum(v in truth["bought"] for v in members) / len(members) if members
                    else float("nan"))
            assert _close(rate, want)
        if len(enrolled) >= opts.cs_min_visitors:
            assert point.always_valid is not None
            assert _close(point.always_valid.low, float(low[len(enrolled) - 1]))
            assert _close(point.always_valid.high, float(high[len(enrolled) - 1]))
        else:
            assert point.always_valid is None
    last = report.timeline[-1]
    assert report.always_valid is not None and last.always_valid is not None
    assert (_close(report.always_valid.low, last.always_valid.low)
            and _close(report.always_valid.high, last.always_valid.high))
    assert _close(last.control_conversion, conv.control)
    assert _close(last.personalized_conversion, conv.personalized)

    # The JSON form says the same.
    data = report.to_dict()
    assert [t["control_reward"] for t in data["timeline"]] == [
        t.control_reward for t in report.timeline]


def test_the_html_page_shows_the_headline_and_names_the_attributed_reward() -> None:
    rows = [_row("c1", "ctl", 0, "control", "cta", False, False),
            _row("c2", "ctl", MIN, "control", "hero", False, False),
            _row("p1", "per", 0, "personalized", "cta", True, True),
            _row("p2", "other", 0, "personalized", "hero", False, False)]
    purchases = [Purchase("buy", "ctl", 2 * MIN, 40.0)]
    opts = ReportOptions(n_boot=20, cs_min_visitors=2, cuped_covariate=None)
    report = build_report_from_rows(rows, 0.5, opts, purchases=purchases)
    # Control's two decisions are credited (reward 1 each); personalized: one click.
    last = report.timeline[-1]
    assert (last.control_reward, last.personalized_reward) == (2.0, 1.0)
    page = render_report_html(report)
    assert "(click 1 + attributed conversion 1)" in page
    assert "always-valid 95% (any number of looks)" in page
    headline = re.search(r"<td>conversion_rate</td><td>([^<]*)</td><td>([^<]*)</td>", page)
    assert headline is not None and headline.groups() == ("100.00%", "0.00%")
    # Weights stated explicitly change the reward the same way everywhere.
    clicks_only = build_report_from_rows(
        rows, 0.5, ReportOptions(n_boot=20, cs_min_visitors=2, cuped_covariate=None,
                                 weights=RewardWeights(clicked=1.0)), purchases=purchases)
    assert (clicks_only.timeline[-1].control_reward,
            clicks_only.timeline[-1].personalized_reward) == (0.0, 1.0)


def test_the_demo_summary_prints_the_reports_interval_for_the_same_counts() -> None:
    from pipeline.sim.ledger import ArmStats  # the demo's summary ("lift: ... 95% CI ...")

    rows, purchases = [], []
    for v in range(60):
        arm = "control" if v < 25 else "personalized"
        rows.append(_row(f"d{v}", f"v{v}", v, arm, "cta", False, False))
        if v % 7 == 0 or (arm == "personalized" and v % 3 == 0):
            purchases.append(Purchase(f"p{v}", f"v{v}", v + MIN, 5.0))
    report = build_report_from_rows(rows, 0.5, ReportOptions(n_boot=20, cuped_covariate=None),
                                    purchases=purchases)
    conv = report.metric("conversion_rate")
    bought = {p.visitor_id for p in purchases}
    treated = ArmStats(35, sum(f"v{v}" in bought for v in range(25, 60)))
    control = ArmStats(25, sum(f"v{v}" in bought for v in range(25)))
    lift = treated.lift_over(control)
    assert lift is not None
    assert _close(lift[0], conv.absolute)
    assert (_close(lift[1], conv.absolute_ci.low) and _close(lift[2], conv.absolute_ci.high))
