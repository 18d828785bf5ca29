"""CUPED in the experiment report: every number against a computation by hand (numpy in the
test), its coverage and its gain by simulation, and no CUPED line when it cannot apply."""

from __future__ import annotations

from html import escape

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from pipeline.replay.attribution import Purchase
from pipeline.replay.cuped import CupedLift, CupedUnavailable, cuped_lift
from pipeline.replay.errors import InvalidOptions
from pipeline.replay.join import JoinedRow
from pipeline.replay.report import (
    ReportOptions,
    build_report_from_rows,
    cuped_revenue_text,
    cuped_text,
)

Z = float(norm.ppf(0.975))


def _by_hand(control: np.ndarray, y: np.ndarray, x: np.ndarray) -> dict[str, float]:
    """CUPED written out independently: theta is the OLS slope of Y on X (polyfit)."""
    theta = float(np.polyfit(x, y, 1)[0])
    adj = y - theta * (x - x.mean())

    def welch(v: np.ndarray) -> tuple[float, float]:
        a, b = v[~control], v[control]
        return a.mean() - b.mean(), a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)

    lift, var = welch(adj)
    raw, raw_var = welch(y.astype(float))
    return {"theta": theta, "control": adj[control].mean(), "treated": adj[~control].mean(),
            "lift": lift, "low": lift - Z * np.sqrt(var), "high": lift + Z * np.sqrt(var),
            "raw": raw, "raw_low": raw - Z * np.sqrt(raw_var),
            "raw_high": raw + Z * np.sqrt(raw_var), "reduction": 1.0 - var / raw_var,
            "corr": float(np.corrcoef(x, y)[0, 1])}


def _experiment(rng: np.random.Generator, n: int, effect: float = 0.0
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Past purchases X (pre-exposure) drive conversion; the arm adds ``effect``."""
    x = rng.poisson(1.0, n).astype(float)
    control = rng.random(n) < 0.5
    p = 0.02 + 0.15 * np.minimum(x, 4) + np.where(control, 0.0, effect)
    return control, rng.random(n) < p, x


def test_theta_adjusted_means_interval_and_reduction_match_a_hand_computation() -> None:
    control, y, x = _experiment(np.random.default_rng(11), 3000, effect=0.05)
    res = cuped_lift(control, y, x, "past_purchases")
    want = _by_hand(control, y.astype(float), x)
    assert isinstance(res, CupedLift)
    assert res.theta == pytest.approx(want["theta"], rel=1e-9)
    assert res.covariate_mean == pytest.approx(x.mean())
    assert res.control_mean == pytest.approx(want["control"], rel=1e-9)
    assert res.personalized_mean == pytest.approx(want["treated"], rel=1e-9)
    assert res.lift == pytest.approx(want["lift"], rel=1e-9)
    assert res.interval.low == pytest.approx(want["low"], rel=1e-9)
    assert res.interval.high == pytest.approx(want["high"], rel=1e-9)
    assert res.unadjusted_lift == pytest.approx(want["raw"], rel=1e-9)
    assert res.unadjusted_interval.low == pytest.approx(want["raw_low"], rel=1e-9)
    assert res.unadjusted_interval.high == pytest.approx(want["raw_high"], rel=1e-9)
    assert res.variance_reduction == pytest.approx(want["reduction"], rel=1e-9)
    assert res.correlation == pytest.approx(want["corr"], rel=1e-9)
    # Deng et al.: the reduction is about corr(Y, X)^2.
    assert res.variance_reduction == pytest.approx(want["corr"] ** 2, abs=0.02)
    assert res.variance_reduction > 0.1 and res.conclusive


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shift=st.floats(-50, 50), scale=st.floats(0.1, 20))
def test_an_affine_change_of_the_covariate_changes_nothing(seed: int, shift: float,
                                                            scale: float) -> None:
    control, y, x = _experiment(np.random.default_rng(seed), 300)
    a = cuped_lift(control, y, x, "x")
    b = cuped_lift(control, y, x * scale + shift, "x")
    if isinstance(a, CupedUnavailable):
        assert isinstance(b, CupedUnavailable)
        return
    assert isinstance(b, CupedLift)
    assert b.lift == pytest.approx(a.lift, abs=1e-9)
    assert b.interval.low == pytest.approx(a.interval.low, abs=1e-9)
    assert b.variance_reduction == pytest.approx(a.variance_reduction, abs=1e-9)
    assert b.theta == pytest.approx(a.theta / scale, rel=1e-6)
    # The identity behind it: adjusted lift = raw lift - theta * (arm difference of X).
    gap = x[~control].mean() - x[control].mean()
    assert a.lift == pytest.approx(a.unadjusted_lift - a.theta * gap, abs=1e-12)


RUNS, VISITORS = 1000, 2000


def _simulate(effect: float, seed: int) -> tuple[float, float, float, float, float]:
    """Coverage of the true lift by CUPED and unadjusted intervals, mean width ratio, the
    spread of the two lift estimates over runs, and the share of runs CUPED was narrower."""
    rng = np.random.default_rng(seed)
    cover = cover_raw = narrower = 0
    ratios, lifts, raws = [], [], []
    for _ in range(RUNS):
        control, y, x = _experiment(rng, VISITORS, effect)
        res = cuped_lift(control, y, x, "past_purchases")
        assert isinstance(res, CupedLift)
        cover += res.interval.contains(effect)
        cover_raw += res.unadjusted_interval.contains(effect)
        narrower += res.interval.width < res.unadjusted_interval.width
        ratios.append(res.interval.width / res.unadjusted_interval.width)
        lifts.append(res.lift)
        raws.append(res.unadjusted_lift)
    return (cover / RUNS, cover_raw / RUNS, float(np.mean(ratios)),
            float(np.std(lifts) / np.std(raws)), narrower / RUNS)


@pytest.mark.parametrize("effect", [0.0, 0.03])
def test_simulated_experiments_keep_coverage_and_cuped_is_narrower(effect: float) -> None:
    cover, cover_raw, width_ratio, spread_ratio, narrower = _simulate(effect, seed=20261202)
    # ~95% (1,000 runs: one standard error is 0.7 points; seeded, so the same every time).
    assert 0.93 <= cover <= 0.97, cover
    assert 0.93 <= cover_raw <= 0.97, cover_raw
    # Narrower in every run, by about sqrt(1 - corr^2) = 0.92 (corr^2 ~0.15 here) ...
    assert narrower == 1.0
    assert width_ratio < 0.95
    # ... and truly so: the CUPED estimate varies less across runs, as much as its
    # interval claims (the spread is measured, not taken from the formula).
    assert spread_ratio == pytest.approx(width_ratio, abs=0.03)


def _rows(control: np.ndarray, y: np.ndarray, x: np.ndarray | None) -> list[JoinedRow]:
    """Two decisions per visitor; only the first carries the pre-exposure value (the second
    has a post-exposure one that must be ignored)."""
    rows = []
    for i, (c, conv) in enumerate(zip(control, y, strict=True)):
        arm = "control" if c else "personalized"
        for k in range(2):
            numeric = {} if x is None else {"past_purchases": float(x[i]) if k == 0 else 99.0}
            rows.append(JoinedRow(
                decision_id=f"d{i}-{k}", visitor_id=f"v{i}", session_id=f"s{i}",
                created_at=1000 * i + k, action_id="banner", propensity=1.0,
                eligible={"banner": 1.0}, arm=arm, served=not c, numeric_features=numeric,
                converted=bool(conv) and k == 1, conversions=int(bool(conv) and k == 1)))
    return rows


def test_the_report_prints_the_hand_computed_numbers_beside_the_unadjusted_interval() -> None:
    control, y, x = _experiment(np.random.default_rng(3), 3000, effect=0.04)
    report = build_report_from_rows(_rows(control, y, x), 0.5, ReportOptions(n_boot=20))
    want = _by_hand(control, y.astype(float), x)
    text, page = report.to_text(), report.to_html()
    line = cuped_text(report)
    for figure in (f"theta {want['theta']:.4g}", f"correlation {want['corr']:+.3f}",
                   f"variance reduction {want['reduction']:.2%}",
                   f"lift {want['lift']:+.2%} [{want['low']:+.2%}, {want['high']:+.2%}]",
                   f"unadjusted {want['raw']:+.2%} "
                   f"[{want['raw_low']:+.2%}, {want['raw_high']:+.2%}]",
                   "covariate past_purchases of each visitor's first decision"):
        assert figure in line, figure
    assert line in text and escape(line) in page
    assert line.endswith("conclusive only if this is the one look planned in advance; if you "
                         "have been watching the lift, go by the always-valid interval")
    # The fixed-horizon (Newcombe) verdict and the always-valid one are beside it.
    assert "conversion lift, fixed-horizon 95% interval (Newcombe" in text
    assert "always-valid 95% interval" in text
    assert f"[{want['low']:+.2%}, {want['high']:+.2%}]" in page  # the side-by-side table
    assert f"variance reduction {want['reduction']:.1%}" in page
    newcombe = report.metric("conversion_rate").absolute_ci
    for low, high in ((want["low"], want["high"]), (want["raw_low"], want["raw_high"]),
                      (newcombe.low, newcombe.high)):  # the table's widths
        assert f"<td>[{low:+.2%}, {high:+.2%}]</td><td>{high - low:.2%}</td>" in page
    d = report.to_dict()["cuped_conversion_lift"]
    assert d["applied"] and d["theta"] == pytest.approx(want["theta"])
    assert d["ci"] == pytest.approx([want["low"], want["high"]])


@pytest.mark.parametrize(("x", "reason"), [
    (None, "past_purchases is missing from the first decision of 200 of 200 visitors"),
    (np.full(200, 2.0), "past_purchases is 2 for every visitor: a constant covariate "
                        "cannot reduce variance"),
])
def test_no_cuped_line_when_the_covariate_is_missing_or_constant(
        x: np.ndarray | None, reason: str) -> None:
    rng = np.random.default_rng(8)
    control, y = rng.random(200) < 0.5, rng.random(200) < 0.3
    report = build_report_from_rows(_rows(control, y, x), 0.5, ReportOptions(n_boot=20))
    assert isinstance(report.cuped, CupedUnavailable) and report.cuped.reason == reason
    text, page = report.to_text(), report.to_html()
    assert f"CUPED: not applied ({reason}); no adjusted interval" in text
    assert "CUPED 95% interval" not in text
    assert "CUPED on" not in page and "CUPED 95% interval" not in page
    assert report.to_dict()["cuped_conversion_lift"] == {
        "covariate": "past_purchases", "applied": False, "reason": reason}


def test_cuped_off_and_bad_input() -> None:
    control, y, x = _experiment(np.random.default_rng(1), 200)
    off = build_report_from_rows(_rows(control, y, x), 0.5,
                                 ReportOptions(n_boot=20, cuped_covariate=None))
    assert off.cuped is None and "CUPED: off" in off.to_text()
    small = cuped_lift(control[:50], y[:50], x[:50], "past_purchases")
    assert isinstance(small, CupedUnavailable) and small.reason == "needs 100 visitors (have 50)"
    with pytest.raises(InvalidOptions, match="same length"):
        cuped_lift(control, y, x[:-1], "x")


# --- revenue per visitor -------------------------------------------------------------------

def _revenue_experiment(rng: np.random.Generator, n: int, effect: float = 0.0
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Past purchases X drive both buying and basket size; the arm adds ``effect`` to the
    chance of buying. Revenue per visitor: 0, or a skewed order value (lognormal)."""
    x = rng.poisson(1.0, n).astype(float)
    control = rng.random(n) < 0.5
    p = 0.02 + 0.12 * np.minimum(x, 4) + np.where(control, 0.0, effect)
    order = rng.lognormal(3.5 + 0.2 * np.minimum(x, 4), 0.6)
    return control, np.where(rng.random(n) < p, order, 0.0), x


def _revenue_rows(control: np.ndarray, revenue: np.ndarray, x: np.ndarray) -> tuple[
        list[JoinedRow], list[Purchase]]:
    rows, buys = [], []
    for i, (c, value) in enumerate(zip(control, revenue, strict=True)):
        arm = "control" if c else "personalized"
        for k in range(2):  # only the first decision carries the pre-exposure value
            rows.append(JoinedRow(
                decision_id=f"d{i}-{k}", visitor_id=f"v{i}", session_id=f"s{i}",
                created_at=1000 * i + k, action_id="banner", propensity=1.0,
                eligible={"banner": 1.0}, arm=arm, served=not c,
                numeric_features={"past_purchases": float(x[i]) if k == 0 else 99.0}))
        if value > 0:
            buys.append(Purchase(f"p{i}", f"v{i}", 1000 * i + 2, float(value)))
    return rows, buys


def test_the_report_adjusts_revenue_per_visitor_as_computed_by_hand() -> None:
    control, revenue, x = _revenue_experiment(np.random.default_rng(5), 3000, effect=0.05)
    rows, buys = _revenue_rows(control, revenue, x)
    report = build_report_from_rows(rows, 0.5, ReportOptions(n_boot=20), purchases=buys)
    want = _by_hand(control, revenue, x)
    found = report.cuped_revenue
    assert isinstance(found, CupedLift)
    assert found.theta == pytest.approx(want["theta"], rel=1e-9)
    assert found.lift == pytest.approx(want["lift"], rel=1e-9)
    assert (found.interval.low, found.interval.high) == pytest.approx(
        (want["low"], want["high"]), rel=1e-9)
    assert found.unadjusted_lift == pytest.approx(
        report.metric("revenue_per_visitor").absolute, rel=1e-9)  # the headline's lift
    assert found.variance_reduction == pytest.approx(want["reduction"], rel=1e-9)
    line = cuped_revenue_text(report)
    assert f"lift {want['lift']:+,.2f} [{want['low']:+,.2f}, {want['high']:+,.2f}]" in line
    assert f"variance reduction {want['reduction']:.2%}" in line
    assert line in report.to_text() and escape(line) in report.to_html()
    d = report.to_dict()["cuped_revenue_per_visitor_lift"]
    assert d["applied"] and d["ci"] == pytest.approx([want["low"], want["high"]])


def test_revenue_cuped_keeps_coverage_and_is_narrower_by_simulation() -> None:
    rng = np.random.default_rng(20261203)
    runs, cover, narrower = 400, 0, 0
    for _ in range(runs):  # A/A: the true revenue lift is 0
        control, revenue, x = _revenue_experiment(rng, 2000)
        res = cuped_lift(control, revenue, x, "past_purchases", outcome="revenue")
        assert isinstance(res, CupedLift)
        cover += res.interval.contains(0.0)
        narrower += res.interval.width < res.unadjusted_interval.width
    # ~95% (400 runs: one standard error ~1.1 points; seeded, the same every time).
    assert 0.92 <= cover / runs <= 0.98, cover / runs
    assert narrower == runs


def test_no_revenue_cuped_without_purchases_to_adjust() -> None:
    control, revenue, x = _revenue_experiment(np.random.default_rng(2), 300)
    rows, _ = _revenue_rows(control, revenue, x)
    report = build_report_from_rows(rows, 0.5, ReportOptions(n_boot=20), purchases=[])
    assert isinstance(report.cuped_revenue, CupedUnavailable)
    assert report.cuped_revenue.reason == "every visitor has the same revenue: nothing to adjust"
    assert "revenue per visitor lift, CUPED: not applied" in report.to_text()
