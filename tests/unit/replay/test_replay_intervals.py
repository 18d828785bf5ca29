"""Intervals and tests against published values and invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.replay.errors import InvalidOptions
from pipeline.replay.intervals import (
    bootstrap_ratio,
    bootstrap_two_sample,
    chi_square_two_cells,
    newcombe_difference,
    relative_risk_interval,
    wilson_interval,
    z_value,
)


def test_wilson_matches_newcombe_1998_table() -> None:
    # Newcombe (1998), single proportions: 81/263 -> 0.2553, 0.3662.
    iv = wilson_interval(81, 263)
    assert (round(iv.low, 4), round(iv.high, 4)) == (0.2553, 0.3662)
    iv = wilson_interval(15, 148)
    assert (round(iv.low, 4), round(iv.high, 4)) == (0.0624, 0.1605)


def test_newcombe_difference_matches_published_examples() -> None:
    # Newcombe (1998) method 10, examples (a) and (c).
    a = newcombe_difference(56, 70, 48, 80)
    assert (round(a.low, 4), round(a.high, 4)) == (0.0524, 0.3339)
    c = newcombe_difference(5, 56, 0, 29)
    assert (round(c.low, 4), round(c.high, 4)) == (-0.0381, 0.1926)


def test_relative_risk_interval() -> None:
    iv = relative_risk_interval(60, 1000, 40, 1000)
    se = math.sqrt(1 / 60 - 1 / 1000 + 1 / 40 - 1 / 1000)
    assert iv.low == pytest.approx(1.5 * math.exp(-1.959964 * se) - 1, rel=1e-5)
    assert math.isnan(relative_risk_interval(0, 10, 3, 10).low)


def test_chi_square_srm() -> None:
    stat, p = chi_square_two_cells(100, 900, 0.1)
    assert (stat, p) == (0.0, 1.0)
    stat, p = chi_square_two_cells(130, 870, 0.1)
    assert stat == pytest.approx(30 ** 2 / 100 + 30 ** 2 / 900)
    assert p == pytest.approx(0.001565, rel=1e-3)  # scipy.stats.chi2.sf(10, 1)
    assert chi_square_two_cells(140, 860, 0.1)[1] < 0.001
    with pytest.raises(InvalidOptions):
        chi_square_two_cells(1, 1, 1.0)


def test_degenerate_inputs() -> None:
    assert math.isnan(wilson_interval(0, 0).low)
    assert math.isnan(newcombe_difference(0, 0, 1, 2).high)
    assert bootstrap_ratio([], n_boot=10).usable == 0
    with pytest.raises(InvalidOptions):
        bootstrap_ratio([1.0], n_boot=1)
    with pytest.raises(InvalidOptions):
        z_value(1.0)
    with pytest.raises(InvalidOptions):
        bootstrap_ratio([1.0, 2.0], [1.0])
    with pytest.raises(InvalidOptions):
        wilson_interval(5, 3)


def test_bootstrap_mean_interval_approximates_the_normal_interval() -> None:
    rng = np.random.default_rng(1)
    data = rng.normal(10.0, 2.0, size=400)
    res = bootstrap_ratio(data, n_boot=2000, seed=3)
    se = data.std(ddof=1) / math.sqrt(data.size)
    assert res.std_error == pytest.approx(se, rel=0.1)
    assert res.interval.low == pytest.approx(data.mean() - 1.96 * se, abs=0.1 * se + 0.02)
    assert bootstrap_ratio(data, n_boot=200, seed=3) == bootstrap_ratio(data, n_boot=200, seed=3)


def test_bootstrap_chunks_give_the_same_answer_for_large_inputs() -> None:
    data = np.arange(50_000, dtype=float)
    res = bootstrap_ratio(data, n_boot=60, seed=0)  # 60 * 50k cells: several chunks
    assert res.usable == 60
    assert res.interval.contains(float(data.mean()))


def test_bootstrap_two_sample_difference() -> None:
    absolute, relative = bootstrap_two_sample(([0.0] * 50 + [10.0] * 50, None),
                                              ([0.0] * 50 + [20.0] * 50, None), n_boot=500)
    assert absolute.interval.contains(5.0)
    assert relative.interval.contains(1.0)
    empty_abs, _ = bootstrap_two_sample(([], None), ([1.0], None), n_boot=10)
    assert empty_abs.usable == 0


@settings(max_examples=60, deadline=None)
@given(trials=st.integers(1, 5000), data=st.data(), level=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_property_wilson_is_a_proper_interval(trials: int, data: st.DataObject,
                                              level: float) -> None:
    successes = data.draw(st.integers(0, trials))
    iv = wilson_interval(successes, trials, level)
    assert 0.0 <= iv.low <= successes / trials <= iv.high <= 1.0
    wider = wilson_interval(successes, trials, min(level + 0.005, 0.999))
    assert wider.low <= iv.low + 1e-12 and wider.high >= iv.high - 1e-12


@settings(max_examples=60, deadline=None)
@given(n1=st.integers(1, 500), n2=st.integers(1, 500), data=st.data())
def test_property_newcombe_contains_the_point_difference(n1: int, n2: int,
                                                         data: st.DataObject) -> None:
    s1, s2 = data.draw(st.integers(0, n1)), data.draw(st.integers(0, n2))
    iv = newcombe_difference(s1, n1, s2, n2)
    diff = s1 / n1 - s2 / n2
    assert -1.0 - 1e-12 <= iv.low <= diff + 1e-12
    assert diff - 1e-12 <= iv.high <= 1.0 + 1e-12
