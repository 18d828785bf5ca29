"""Issue 11, finding 1: the experiment report's conversion per arm is the simulator's truth.

The simulator runs through the real pipeline (a real ``rtp worker`` process on the real
broker, control share 0.5 as in the demo); the report is built from what the topics hold
(the decision log, the outcomes and the purchases the worker forwarded) and compared,
per arm and visitor by visitor, with the simulator's own ledger: no visitor credited who
did not buy, none who bought missed, the same revenue. Before the fix control read 0%.
"""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.replay import ReportOptions, build_report, join_files, read_purchases
from pipeline.replay.attribution import attribute, credited_rows
from pipeline.replay.report import summarise_visitors
from pipeline.replay.sources import export_purchases, export_topics
from pipeline.settings import Settings
from pipeline.sim.closed_loop import ClosedLoop, LoopOptions
from pipeline.sim.options import SimulatorOptions
from pipeline.topics import EVENTS, OUTCOMES
from tests.integration.worker_process import WorkerProcess, wait_caught_up

SHARE = 0.5


def test_report_conversion_per_arm_is_the_simulators_ledger(
        topics: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    worker = WorkerProcess(topics, tmp_path / "data", tmp_path / "worker.log",
                           control_share=SHARE)
    try:
        worker.wait_ready()
        loop = ClosedLoop(topics, SimulatorOptions(seed=5, id_prefix=f"arms{uuid.uuid4().hex[:6]}",
                                                   visitors_per_minute=60),
                          LoopOptions(duration_s=30, speed=20, control_share=SHARE))
        run = loop.run()
        wait_caught_up(worker, [topics.topic(EVENTS), topics.topic(OUTCOMES)], timeout=180)
    finally:
        worker.stop()
    log_path, outcomes_path = export_topics(topics, tmp_path / "export")
    purchases_path = export_purchases(topics, tmp_path / "export")
    report = build_report(log_path, outcomes_path, None, ReportOptions(n_boot=20),
                          purchases_path=purchases_path)

    # The report's visitors, with the conversions the report counts (same functions).
    rows = join_files(log_path, outcomes_path).rows
    found = attribute(rows, read_purchases(purchases_path).purchases)
    visitors, conflicts = summarise_visitors(credited_rows(rows, found), credits=found.visitors)
    truth = run.visitors
    assert conflicts == 0
    for arm in ("control", "personalized"):
        mine = [v for v in visitors if v.arm == arm]
        assert mine, f"no {arm} visitors"
        # Every visitor of the report is one the simulator made, in the same arm.
        assert {v.visitor_id: truth[v.visitor_id].arm for v in mine} == {
            v.visitor_id: arm for v in mine}
        reported = {v.visitor_id for v in mine if v.converted}
        bought = {v.visitor_id for v in mine if truth[v.visitor_id].converted}
        assert bought, f"no {arm} visitor bought: the comparison could not fail"
        assert reported - bought == set(), "credited without a purchase"
        assert bought - reported == set(), "bought, not counted"
        metric = report.metric("conversion_rate")
        rate = metric.control if arm == "control" else metric.personalized
        assert rate == len(bought) / len(mine)
        revenue = report.metric("revenue_per_visitor")
        per_visitor = revenue.control if arm == "control" else revenue.personalized
        assert math.isclose(per_visitor * len(mine),
                            sum(truth[v].value for v in bought), rel_tol=1e-9)
    # The demo's summary counts the same visitors with the simulator's truth: the same rates.
    run.logged_visitors = {v.visitor_id for v in visitors}
    enrolled = run.enrolled()
    assert (enrolled["control"].rate, enrolled["personalized"].rate) == (
        report.metric("conversion_rate").control, report.metric("conversion_rate").personalized)
    # Purchases forwarded by the worker are the simulator's purchases, each once.
    assert found.duplicates == 0 and found.invalid == 0
    assert found.purchases == sum(1 for t in truth.values() if t.converted)
    # rtp report --from-topics exports the purchases itself: the same conversion.
    assert main(["report", "--from-topics", "--topic-prefix", topics.topic_prefix,
                 "--bootstrap", topics.bootstrap, "--export-dir", str(tmp_path / "cli"),
                 "--json", "--n-boot", "20"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert cli["conversions"]["source"] == "purchases"
    assert next(m for m in cli["metrics"] if m["metric"] == "conversion_rate")["control"] == (
        report.metric("conversion_rate").control)
