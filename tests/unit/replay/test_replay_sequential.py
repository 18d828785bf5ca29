"""The always-valid interval survives peeking (A/A simulation); the fixed-horizon one does not."""

from __future__ import annotations

from html import escape

import numpy as np
import pytest

from pipeline.replay import InvalidOptions, ReportOptions, build_report_from_rows, join_records
from pipeline.replay.report import always_valid_text
from pipeline.replay.sequential import confidence_sequence, confidence_sequence_path
from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log

RUNS, VISITORS, FIRST_LOOK = 200, 2000, 100


def _aa_runs(seed: int) -> tuple[float, float]:
    """Share of A/A runs in which the interval ever excluded 0, looking after every visitor
    (from FIRST_LOOK on): the always-valid one, and the fixed-horizon 95% Wald interval."""
    rng = np.random.default_rng(seed)
    ever_cs = ever_fixed = 0
    t = np.arange(1, VISITORS + 1)
    for _ in range(RUNS):
        control = rng.random(VISITORS) < 0.5
        converted = rng.random(VISITORS) < 0.08  # same rate in both arms
        low, high = confidence_sequence_path(control, converted, 0.5)
        ever_cs += bool(np.any(((low > 0) | (high < 0))[FIRST_LOOK:]))
        y = converted.astype(float)
        psi = np.where(control, -y / 0.5, y / 0.5)
        mean = np.cumsum(psi) / t
        half = 1.96 * np.sqrt(np.maximum(np.cumsum(psi * psi) / t - mean**2, 0.0) / t)
        ever_fixed += bool(np.any(((mean - half > 0) | (mean + half < 0))[FIRST_LOOK:]))
    return ever_cs / RUNS, ever_fixed / RUNS


def test_aa_coverage_however_often_one_looks() -> None:
    always_valid, fixed = _aa_runs(seed=20261202)
    assert always_valid <= 0.06  # ~5% at most, looking 1,900 times per run
    # Both directions: the fixed-horizon interval, peeked at the same way, "wins" far
    # more often than its nominal 5%: that is the failure the sequence prevents.
    assert fixed >= 0.2


def test_a_real_lift_becomes_conclusive_and_the_interval_covers_it() -> None:
    rng = np.random.default_rng(5)
    control = rng.random(6000) < 0.5
    converted = rng.random(6000) < np.where(control, 0.05, 0.09)
    cs = confidence_sequence(control, converted, control_share=0.5)
    assert cs.conclusive and cs.low < 0.04 < cs.high
    assert not confidence_sequence(control[:150], converted[:150], 0.5).conclusive


def test_the_report_shows_it_beside_the_fixed_horizon_interval() -> None:
    syn = generate_synthetic_log(SyntheticOptions(n_visitors=600, control_share=0.5, seed=2))
    report = build_report_from_rows(join_records(syn.logs, syn.outcomes).rows,
                                    options=ReportOptions(n_boot=20))
    cs = report.always_valid
    assert cs is not None and cs.visitors == 600
    fixed = report.metric("conversion_rate").absolute_ci
    assert cs.low <= fixed.low and cs.high >= fixed.high  # wider: the price of peeking
    assert "always-valid 95% interval (valid however often you look)" in report.to_text()
    assert escape(always_valid_text(report)) in report.to_html()
    assert report.to_dict()["always_valid_conversion_lift"]["visitors"] == 600


def test_bad_options_are_refused() -> None:
    with pytest.raises(InvalidOptions, match="control_share"):
        confidence_sequence_path([True], [False], 1.0)
    with pytest.raises(InvalidOptions, match="tuning_visitors"):
        confidence_sequence_path([True], [False], 0.5, tuning_visitors=0)
