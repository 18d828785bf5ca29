"""The objective names the headline metric: the report leads with it (``rtp report
--config``) and the console shows it first."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import Objective
from pipeline.console import ConsoleOptions
from pipeline.console.experiment import experiment_figures
from pipeline.console.tally import ConsoleTally
from pipeline.replay import ReportOptions
from pipeline.replay.join import join_records
from pipeline.replay.report import build_report_from_rows
from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log

SYN = generate_synthetic_log(SyntheticOptions(n_visitors=300, control_share=0.5))


@pytest.mark.parametrize("objective", list(Objective))
def test_the_report_leads_with_the_objectives_metric(objective: Objective) -> None:
    report = build_report_from_rows(
        join_records(SYN.logs, SYN.outcomes).rows, 0.5,
        ReportOptions(n_boot=20, headline_metric=objective.metric,
                      headline_label=objective.headline))
    lines = report.to_text().splitlines()
    headline = [line for line in lines if line.startswith("headline: ")]
    assert headline == [line for line in lines[:5] if line.startswith("headline: ")]
    assert len(headline) == 1
    assert headline[0].startswith(f"headline: {objective.headline} ({objective.metric}): "
                                  "control ")
    metric = report.metric(objective.metric)
    assert metric.metric == objective.metric
    assert report.to_dict()["headline"] == {"metric": objective.metric,
                                            "label": objective.headline}


def test_each_objective_names_a_metric_the_report_computes() -> None:
    assert {o.metric for o in Objective} == {"conversion_rate", "revenue_per_visitor",
                                             "bounce_rate"}


def test_the_console_figures_carry_the_headline_metric() -> None:
    for objective in Objective:
        figures = experiment_figures(SYN.logs, SYN.outcomes, None, n_boot=20, time_buckets=4,
                                     headline=objective.metric)
        report = build_report_from_rows(join_records(SYN.logs, SYN.outcomes).rows, None,
                                        ReportOptions(n_boot=20, time_buckets=4))
        want = report.metric(objective.metric)
        assert figures["headline"]["metric"] == objective.metric
        assert (figures["headline"]["control"], figures["headline"]["personalized"]) == (
            pytest.approx(want.control), pytest.approx(want.personalized))
    tally = ConsoleTally(ConsoleOptions(report_every_s=0.0), objective=Objective.BOUNCE)
    view = tally.snapshot(now_ms=1_000, catalog=None)
    assert view["objective"] == {"name": "bounce", "headline": "bounce rate",
                                 "metric": "bounce_rate"}


def test_rtp_report_reads_the_objective_from_the_config_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    logs, outcomes = tmp_path / "log.jsonl", tmp_path / "outcomes.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in SYN.logs))
    outcomes.write_text("".join(json.dumps(r) + "\n" for r in SYN.outcomes))
    config = tmp_path / "rtp.yaml"
    config.write_text("objective: revenue\n")
    assert main(["report", str(logs), str(outcomes), "--n-boot", "20", "--erasures", "none",
                 "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "\nheadline: revenue per visitor (revenue_per_visitor): control " in out
    assert main(["report", str(logs), str(outcomes), "--n-boot", "20",
                 "--erasures", "none"]) == 0
    assert "\nheadline: conversion rate per visitor (conversion_rate): " in (
        capsys.readouterr().out)
