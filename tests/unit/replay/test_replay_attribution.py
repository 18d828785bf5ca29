"""Purchases attributed to logged decisions of either arm (pipeline.replay.attribution) and
the experiment report's conversions built from them (issue 11: control read 0%)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.replay.attribution import (
    AttributionOptions,
    Purchase,
    attribute,
    credited_rows,
    read_purchases,
)
from pipeline.replay.join import JoinedRow
from pipeline.replay.logfile import write_decision_logs, write_outcomes, write_records
from pipeline.replay.report import ReportOptions, build_report, build_report_from_rows

MIN = 60_000
WINDOW = AttributionOptions().window_ms


def row(did: str, visitor: str, at: int, arm: str = "personalized", action: str = "no_action",
        trigger: str = "", **extra: object) -> JoinedRow:
    return JoinedRow(decision_id=did, visitor_id=visitor, session_id="s", created_at=at,
                     action_id=action, propensity=1.0, eligible={action: 1.0}, arm=arm,
                     served=arm == "personalized", trigger_event_id=trigger or f"t-{did}",
                     control_share=0.5, **extra)  # type: ignore[arg-type]


def test_a_control_visitors_purchase_credits_their_logged_decisions() -> None:
    rows = [row("c1", "ctl", 0, "control"), row("c2", "ctl", 5 * MIN, "control", "cta_change"),
            row("p1", "per", 0)]
    found = attribute(rows, [Purchase("buy", "ctl", 6 * MIN, 90.0)])
    assert {v: c.purchases for v, c in found.visitors.items()} == {"ctl": ("buy",)}
    assert {d: (c.purchases, c.revenue) for d, c in found.decisions.items()} == {
        "c1": (("buy",), 45.0), "c2": (("buy",), 45.0)}
    assert (found.purchases, found.attributed, found.unattributed) == (1, 1, 0)


def test_window_bounds_and_order() -> None:
    rows = [row("early", "v", 0), row("late", "v", 100 * MIN)]
    found = attribute(rows, [
        Purchase("in-edge", "v", WINDOW, 1.0),          # exactly window after "early": in
        Purchase("out", "v", WINDOW + 1, 2.0),          # a millisecond later: no decision
        Purchase("before", "v", -1, 4.0),               # before any decision
        Purchase("same-ms", "v", 100 * MIN, 8.0),       # at the decision's time: credited
    ])
    assert {d: c.purchases for d, c in found.decisions.items()} == {
        "early": ("in-edge",), "late": ("same-ms",)}
    assert found.visitors["v"].revenue == 9.0
    assert found.unattributed == 2


def test_the_decision_a_purchase_triggered_is_not_credited() -> None:
    rows = [row("before", "v", 0), row("by-purchase", "v", MIN, trigger="buy")]
    found = attribute(rows, [Purchase("buy", "v", MIN, 10.0)])
    assert {d: c.revenue for d, c in found.decisions.items()} == {"before": 10.0}
    alone = attribute([row("by-purchase", "v", MIN, trigger="buy")],
                      [Purchase("buy", "v", MIN, 10.0)])
    assert (alone.visitors, alone.unattributed) == ({}, 1)


def test_duplicates_count_once_and_bad_values_are_refused() -> None:
    rows = [row("d", "v", 0)]
    found = attribute(rows, [Purchase("a", "v", 1, 5.0), Purchase("a", "v", 1, 5.0),
                             Purchase("neg", "v", 2, -1.0), Purchase("nan", "v", 3, math.nan)])
    assert found.visitors["v"].purchases == ("a",) and found.visitors["v"].revenue == 5.0
    assert (found.duplicates, found.invalid, found.purchases) == (1, 2, 1)


def test_credited_rows_replace_outcome_conversions_and_keep_clicks() -> None:
    rows = [row("d1", "v", 0, clicked=True, converted=True, conversions=1, revenue=50.0,
                reward=1.0),
            row("d2", "w", 0, converted=True, conversions=1, revenue=70.0)]
    out = credited_rows(rows, attribute(rows, [Purchase("p", "v", 1, 50.0)]))
    assert [(r.clicked, r.converted, r.conversions, r.revenue, r.reward) for r in out] == [
        (True, True, 1, 50.0, 1.0), (False, False, 0, 0.0, 0.0)]


# -- property: the same answer as a brute-force reading of the rule ---------------------

visitors = st.sampled_from(["a", "b", "c"])
times = st.integers(0, 3 * WINDOW)


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[JoinedRow], list[Purchase]]:
    n = draw(st.integers(0, 12))
    rows = [row(f"d{i}", draw(visitors), draw(times), draw(st.sampled_from(
        ["control", "personalized"])), trigger=draw(st.sampled_from(["", "p0", "p1"])))
        for i in range(n)]
    buys = [Purchase(f"p{draw(st.integers(0, 6))}", draw(visitors), draw(times),
                     draw(st.sampled_from([0.0, 1.5, 20.0, -3.0, math.inf])))
            for _ in range(draw(st.integers(0, 8)))]
    return rows, buys


@settings(max_examples=300, deadline=None)
@given(scenario())
def test_attribution_matches_the_rule_read_literally(
        case: tuple[list[JoinedRow], list[Purchase]]) -> None:
    rows, buys = case
    found = attribute(rows, buys)
    first: dict[str, Purchase] = {}
    for p in sorted(buys, key=lambda p: (p.at_ms, p.purchase_id)):
        first.setdefault(p.purchase_id, p)
    valid = [p for p in first.values() if math.isfinite(p.value) and p.value >= 0]
    credits = {p.purchase_id: {r.decision_id for r in rows
                               if r.visitor_id == p.visitor_id
                               and p.at_ms - WINDOW <= r.created_at <= p.at_ms
                               and r.trigger_event_id != p.purchase_id} for p in valid}
    # Per decision: exactly the purchases whose window holds it (nothing lost, nothing extra).
    expected_by_decision = {r.decision_id: sorted(pid for pid, ds in credits.items()
                                                  if r.decision_id in ds) for r in rows}
    assert {d: sorted(c.purchases) for d, c in found.decisions.items()} == {
        d: ids for d, ids in expected_by_decision.items() if ids}
    # Per visitor: converted iff one of their purchases credits a decision; revenue once each.
    credited = [p for p in valid if credits[p.purchase_id]]
    expected_visitors = {v: sorted(p.purchase_id for p in credited if p.visitor_id == v)
                         for v in {p.visitor_id for p in credited}}
    assert {v: sorted(c.purchases) for v, c in found.visitors.items()} == expected_visitors
    for v, credit in found.visitors.items():
        assert math.isclose(credit.revenue, sum(p.value for p in credited if p.visitor_id == v))
    # The split shares add up to the same revenue: no purchase counted twice.
    assert math.isclose(sum(c.revenue for c in found.decisions.values()),
                        sum(p.value for p in credited), abs_tol=1e-9)
    assert (found.attributed, found.unattributed, found.invalid) == (
        len(credited), len(valid) - len(credited), len(first) - len(valid))
    assert found.duplicates == len(buys) - len(first)


# -- the report --------------------------------------------------------------------------


def _two_arms() -> tuple[list[JoinedRow], list[Purchase]]:
    """Four visitors per arm. Control: c0 buys, c1 clicks nothing and buys nothing.
    Personalized: t0 clicks and does not buy, t1 buys without a click; the simulator's
    converted outcome on t1's shown decision carries the same purchase."""
    rows = []
    for arm, prefix in (("control", "c"), ("personalized", "t")):
        for i in range(4):
            rows.append(row(f"{prefix}{i}-a", f"{prefix}{i}", i * MIN, arm))
            rows.append(row(f"{prefix}{i}-b", f"{prefix}{i}", i * MIN + 30_000, arm,
                            "cta_change"))
    rows = [r if r.decision_id != "t0-b" else row("t0-b", "t0", 30_000, clicked=True)
            for r in rows]
    rows = [r if r.decision_id != "t1-b" else row("t1-b", "t1", MIN + 30_000, "personalized",
                                                  "cta_change", converted=True, conversions=1,
                                                  revenue=120.0)
            for r in rows]
    buys = [Purchase("buy-c0", "c0", 40_000, 80.0), Purchase("buy-t1", "t1", MIN + 40_000, 120.0),
            Purchase("buy-c0", "c0", 40_000, 80.0)]  # forwarded twice after a worker crash
    return rows, buys


def test_report_counts_control_conversions_from_purchases_once() -> None:
    rows, buys = _two_arms()
    report = build_report_from_rows(rows, None, ReportOptions(n_boot=20), purchases=buys)
    conversion = report.metric("conversion_rate")
    assert (conversion.control, conversion.personalized) == (0.25, 0.25)
    revenue = report.metric("revenue_per_visitor")
    assert (revenue.control, revenue.personalized) == (20.0, 30.0)  # 80/4 and 120/4, not 240/4
    aov = report.metric("average_order_value")
    assert (aov.control, aov.personalized) == (80.0, 120.0)
    # Conversion is not the click rate: t0 clicked and did not buy, t1 bought without a click.
    assert report.metric("click_rate").personalized == 0.25
    assert [(v.visitor_id, v.clicked, v.converted) for v in _summaries(report, rows, buys)
            if v.arm == "personalized" and (v.clicked or v.converted)] == [
        ("t0", True, False), ("t1", False, True)]
    by_action = {a.action_id: a for a in report.actions}
    assert by_action["cta_change"].control.conversions == 1
    assert math.isclose(by_action["cta_change"].control.revenue
                        + by_action["no_action"].control.revenue, 80.0)
    assert "control_conversions_unmeasured" not in report.warning_codes


def _summaries(report: object, rows: list[JoinedRow], buys: list[Purchase]) -> list:
    from pipeline.replay.report import summarise_visitors
    found = attribute(rows, buys)
    return summarise_visitors(credited_rows(rows, found), credits=found.visitors)[0]


def test_report_without_purchases_says_control_is_unmeasured() -> None:
    rows, _ = _two_arms()
    report = build_report_from_rows(rows, None, ReportOptions(n_boot=20))
    assert report.metric("conversion_rate").control == 0.0
    assert "control_conversions_unmeasured" in report.warning_codes
    assert report.to_dict()["conversions"] == {"source": "converted outcomes"}


def test_build_report_reads_purchases_from_a_clickstream_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pipeline.client.samples import click_event
    from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log

    syn = generate_synthetic_log(SyntheticOptions(n_visitors=40, control_share=0.5, seed=3))
    control = [log["decision"] for log in syn.logs
               if log["decision"]["experiment_arm"] == "control"]
    buyer = control[0]
    t = int(buyer["created_at"]) + MIN
    events = [click_event(buyer["visitor_id"], "page_view", t - 1, event_id="pv"),
              {**click_event(buyer["visitor_id"], "purchase", t, event_id="buy"),
               "purchase": {"order_id": "o", "value": 25.0, "currency": "EUR",
                            "kind": "purchase"}}]
    write_records(tmp_path / "events.jsonl", "ClickEvent", events)
    assert read_purchases(tmp_path / "events.jsonl").purchases == (
        Purchase("buy", buyer["visitor_id"], t, 25.0),)
    write_decision_logs(tmp_path / "d.jsonl", syn.logs)
    write_outcomes(tmp_path / "o.jsonl", syn.outcomes)
    report = build_report(tmp_path / "d.jsonl", tmp_path / "o.jsonl", None,
                          ReportOptions(n_boot=20), purchases_path=tmp_path / "events.jsonl")
    n_control = report.srm.control_visitors
    assert report.metric("conversion_rate").control == 1 / n_control
    assert report.to_dict()["conversions"]["attributed"] == 1
    assert "purchases attributed" in report.to_text() and "purchases attributed" in (
        report.to_html())
