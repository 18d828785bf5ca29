"""Experiment report: per-visitor metrics, lifts, SRM, breakdowns, text and HTML output."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from pipeline.replay.errors import EmptyLog, InvalidOptions, LogFormatError
from pipeline.replay.intervals import newcombe_difference
from pipeline.replay.join import JoinedRow, join_records
from pipeline.replay.logfile import write_decision_logs, write_outcomes
from pipeline.replay.report import (
    Report,
    ReportOptions,
    build_report,
    build_report_from_rows,
    read_page_views,
)
from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
from tests.unit.replay.replay_helpers import decision_log, outcome

T0 = 1_700_000_000_000


def _log(did: str, visitor: str, arm: str, minute: int, action: str = "banner",
         device: str = "mobile") -> dict:
    return decision_log(did, action_id=action, visitor_id=visitor, arm=arm,
                        served=arm == "personalized", created_at=T0 + minute * 60_000,
                        categorical={"device": device, "traffic_source": "search"})


def _small_experiment() -> list[JoinedRow]:
    logs = [
        _log("c1a", "c1", "control", 0),
        _log("c2a", "c2", "control", 1), _log("c2b", "c2", "control", 2, action="none"),
        _log("c3a", "c3", "control", 3, device="desktop"),
        _log("p1a", "p1", "personalized", 4),
        _log("p2a", "p2", "personalized", 5, device="desktop"),
        _log("p3a", "p3", "personalized", 6), _log("p3b", "p3", "personalized", 7),
        _log("p3c", "p3", "personalized", 8, action="none"),
        _log("p4a", "p4", "personalized", 9),
    ]
    outs = [
        outcome("c2b", "clicked", visitor_id="c2"),
        outcome("c2b", "converted", 50.0, visitor_id="c2"),
        outcome("c3a", "clicked", visitor_id="c3"),
        outcome("p1a", "clicked", visitor_id="p1"),
        outcome("p1a", "converted", 30.0, visitor_id="p1", outcome_id="o-p1-1"),
        outcome("p1a", "converted", 20.0, visitor_id="p1", outcome_id="o-p1-2"),
        outcome("p3b", "clicked", visitor_id="p3"),
    ]
    return join_records(logs, outs).rows


@pytest.fixture(scope="module")
def small() -> Report:
    return build_report_from_rows(_small_experiment(), 0.5, ReportOptions(n_boot=300, seed=1))


def test_per_visitor_rates_and_newcombe_lift(small: Report) -> None:
    conv = small.metric("conversion_rate")
    assert (conv.control, conv.personalized) == (1 / 3, 1 / 4)
    assert conv.absolute == pytest.approx(1 / 4 - 1 / 3)
    assert conv.absolute_ci == newcombe_difference(1, 4, 1, 3)
    assert conv.relative == pytest.approx((1 / 4) / (1 / 3) - 1)
    clicks = small.metric("click_rate")
    assert (clicks.control, clicks.personalized) == (2 / 3, 2 / 4)


def test_bounce_is_single_decision_without_click_or_conversion(small: Report) -> None:
    bounce = small.metric("bounce_rate")
    assert (bounce.control, bounce.personalized) == (1 / 3, 2 / 4)
    assert bounce.higher_is_better is False


def test_revenue_per_visitor_and_average_order_value(small: Report) -> None:
    rpv = small.metric("revenue_per_visitor")
    assert (rpv.control, rpv.personalized) == pytest.approx((50 / 3, 50 / 4))
    assert rpv.absolute_ci.low <= rpv.absolute <= rpv.absolute_ci.high
    aov = small.metric("average_order_value")
    assert (aov.control, aov.personalized) == (50.0, 25.0)
    assert "bootstrap" in aov.method


def test_srm_ok_and_breakdowns(small: Report) -> None:
    assert (small.srm.control_visitors, small.srm.personalized_visitors) == (3, 4)
    assert not small.srm.mismatch
    assert small.warnings == ()
    banner = next(a for a in small.actions if a.action_id == "banner")
    assert (banner.personalized.decisions, banner.control.decisions) == (5, 3)
    assert banner.personalized.conversions == 2
    assert banner.personalized.revenue == 50.0
    device = {s.value: s for s in small.segments if s.key == "device"}
    assert (device["mobile"].personalized_visitors, device["mobile"].control_visitors) == (3, 2)
    assert device["desktop"].control_conversion == 0.0
    keys = {s.key for s in small.segments}
    assert keys == {"device", "traffic_source", "intent_class"}  # no visitor has a sector


def test_timeline_is_cumulative(small: Report) -> None:
    last = small.timeline[-1]
    assert (last.control_visitors, last.personalized_visitors) == (3, 4)
    assert (last.control_decisions, last.personalized_decisions) == (4, 6)
    assert last.personalized_reward == 2.0  # two clicked decisions, clicks weigh 1
    visitors = [t.control_visitors + t.personalized_visitors for t in small.timeline]
    assert visitors == sorted(visitors)


def test_page_views_summary_overrides_the_log_bounce_definition() -> None:
    rows = _small_experiment()
    rep = build_report_from_rows(rows, 0.5, ReportOptions(n_boot=50),
                                 page_views={"c2": 1, "c1": 4})
    assert rep.metric("bounce_rate").control == 1 / 3  # c2 bounced, c1 no longer


def test_sample_ratio_mismatch_is_warned() -> None:
    syn = generate_synthetic_log(SyntheticOptions(n_visitors=2000, control_share=0.2, seed=3))
    rows = join_records(syn.logs, syn.outcomes).rows
    ok = build_report_from_rows(rows, 0.2, ReportOptions(n_boot=50))
    assert not ok.srm.mismatch and "sample_ratio_mismatch" not in ok.warning_codes
    bad = build_report_from_rows(rows, 0.5, ReportOptions(n_boot=50))
    assert bad.srm.mismatch and bad.srm.p_value < 0.001
    assert bad.warning_codes[0] == "sample_ratio_mismatch"
    assert "MISMATCH" in bad.to_text()


def test_arm_conflict_and_empty_arm_are_warned() -> None:
    logs = [
        _log("a", "v1", "personalized", 0), _log("b", "v1", "control", 1),
        _log("c", "v2", "personalized", 2),
    ]
    rep = build_report_from_rows(join_records(logs).rows, 0.1, ReportOptions(n_boot=20))
    assert rep.srm.personalized_visitors == 2 and rep.srm.control_visitors == 0
    assert {"arm_conflict", "empty_arm"} <= set(rep.warning_codes)
    assert math.isnan(rep.metric("conversion_rate").absolute)
    assert "n/a" in rep.to_text()
    assert "<svg" in rep.to_html()
    json.dumps(rep.to_dict())


def test_invalid_inputs() -> None:
    with pytest.raises(EmptyLog):
        build_report_from_rows([], 0.5)
    with pytest.raises(InvalidOptions):
        build_report_from_rows(_small_experiment(), 0.0)


def test_text_report_has_the_tables(small: Report) -> None:
    text = small.to_text()
    for needle in ("conversion_rate", "revenue_per_visitor", "per action", "per segment",
                   "device=mobile", "bounce: a visitor bounced", "warnings: none"):
        assert needle in text


def test_html_is_self_contained_and_escaped(tmp_path: Path) -> None:
    logs = [
        _log("x1", "v1", "personalized", 0, action="<b>bold</b>"),
        _log("x2", "v2", "control", 1),
    ]
    rep = build_report_from_rows(join_records(logs).rows, 0.5, ReportOptions(n_boot=20))
    path = rep.write_html(tmp_path / "deep" / "report.html")
    page = path.read_text()
    assert "<script" not in page.lower()
    assert re.search(r"\b(src|href)\s*=", page) is None
    assert "https://" not in page
    assert set(re.findall(r"http://[^\"]+", page)) <= {"http://www.w3.org/2000/svg"}
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page
    assert page.count("<svg") == 3
    assert "<style>" in page


def test_build_report_from_files_with_page_views(tmp_path: Path) -> None:
    syn = generate_synthetic_log(SyntheticOptions(n_visitors=300, control_share=0.3,
                                                  decisions_per_visitor=(1, 3), seed=5))
    write_decision_logs(tmp_path / "d.avro", syn.logs)
    write_outcomes(tmp_path / "o.jsonl", [*syn.outcomes, outcome("ghost", "clicked")])
    views = tmp_path / "pv.jsonl"
    views.write_text("\n".join(json.dumps({"visitor_id": v, "page_views": n})
                               for v, n in syn.page_views.items()) + "\n")
    rep = build_report(tmp_path / "d.avro", tmp_path / "o.jsonl", 0.3,
                       ReportOptions(n_boot=100), page_views=read_page_views(views))
    assert rep.n_decisions == len(syn.logs)
    assert rep.warning_codes[-1] == "unmatched_outcomes"
    assert rep.sources == (str(tmp_path / "d.avro"), str(tmp_path / "o.jsonl"))
    # Personalization beats the default experience in the synthetic world.
    assert rep.metric("click_rate").absolute > 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"visitor_id": "v"}\n')
    with pytest.raises(LogFormatError, match=r"bad\.jsonl:1"):
        read_page_views(bad)


def test_intent_segment_uses_each_visitors_last_class() -> None:
    # Intent builds up over a visit: the first decision is "browsing" for everyone.
    logs = []
    for i in range(6):
        arm = "control" if i % 2 else "personalized"
        for minute, cls in enumerate(("browsing", "browsing", "buying" if i < 4 else
                                      "browsing")):
            logs.append(decision_log(f"d{i}-{minute}", visitor_id=f"v{i}", arm=arm,
                                     served=arm == "personalized",
                                     created_at=T0 + (i * 10 + minute) * 60_000,
                                     intent_class=cls))
    report = build_report_from_rows(join_records(logs).rows, 0.5, ReportOptions(n_boot=10))
    by_value = {s.value: s for s in report.segments if s.key == "intent_class"}
    assert sorted(by_value) == ["browsing", "buying"]
    assert (by_value["buying"].personalized_visitors, by_value["buying"].control_visitors) \
        == (2, 2)
    assert (by_value["browsing"].personalized_visitors,
            by_value["browsing"].control_visitors) == (1, 1)
