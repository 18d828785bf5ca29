"""Confidence intervals and tests used by the estimators and the experiment report.

- :func:`bootstrap_ratio`: seeded nonparametric bootstrap (percentile interval)
  of ``sum(numerators) / sum(denominators)`` over resampled rows; with no
  denominators it is the mean. Every estimator here (IPS, SNIPS, DR, replay) is
  such a ratio of per-row terms, so one routine serves them all.
- :func:`bootstrap_two_sample`: the same for the absolute and relative
  difference of two independent groups (revenue per visitor, order value).
- :func:`wilson_interval`: score interval for a binomial proportion.
- :func:`newcombe_difference`: Newcombe's hybrid score interval for a difference
  of two proportions (method 10 of Newcombe 1998).
- :func:`relative_risk_interval`: Katz log interval for a ratio of proportions,
  returned as relative lift (ratio minus one).
- :func:`chi_square_two_cells`: goodness-of-fit test of a two-way split against
  an expected share (one degree of freedom), for sample-ratio mismatch.

>>> wilson_interval(38, 10_000).contains(0.0038)
True
>>> round(chi_square_two_cells(500, 500, 0.5)[1], 6)
1.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from pipeline.replay.errors import InvalidOptions

__all__ = [
    "BootstrapResult",
    "Interval",
    "bootstrap_ratio",
    "bootstrap_two_sample",
    "chi_square_two_cells",
    "newcombe_difference",
    "relative_risk_interval",
    "wilson_interval",
    "z_value",
]

_CELLS_PER_CHUNK = 2_000_000


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval at ``level``.

    >>> Interval(0.1, 0.3).width, Interval(0.1, 0.3).contains(0.2)
    (0.19999999999999998, True)
    """

    low: float
    high: float
    level: float = 0.95

    @property
    def width(self) -> float:
        """``high - low``."""
        return self.high - self.low

    def contains(self, value: float) -> bool:
        """Whether ``low <= value <= high`` (``False`` for an undefined interval).

        >>> Interval(float("nan"), float("nan")).contains(0.0)
        False
        """
        return bool(self.low <= value <= self.high)


@dataclass(frozen=True)
class BootstrapResult:
    """Percentile interval, bootstrap standard error and how many resamples were usable.

    >>> BootstrapResult(Interval(0.0, 1.0), 0.2, 100).usable
    100
    """

    interval: Interval
    std_error: float
    usable: int


def z_value(level: float) -> float:
    """Two-sided standard normal quantile for confidence ``level``.

    >>> round(z_value(0.95), 4)
    1.96
    """
    if not 0.0 < level < 1.0:
        raise InvalidOptions(f"confidence level must be in (0, 1), got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def _check_boot(n_boot: int, level: float) -> None:
    if n_boot < 2:
        raise InvalidOptions(f"n_boot must be at least 2, got {n_boot}")
    z_value(level)


def _summarise(stats: np.ndarray, level: float) -> BootstrapResult:
    finite = stats[np.isfinite(stats)]
    if finite.size < 2:
        nan = float("nan")
        return BootstrapResult(Interval(nan, nan, level), nan, int(finite.size))
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(finite, [alpha, 1.0 - alpha])
    return BootstrapResult(
        Interval(float(low), float(high), level), float(np.std(finite, ddof=1)), int(finite.size)
    )


def _resampled_sums(
    columns: Sequence[np.ndarray], n_boot: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Sums of each column over ``n_boot`` row resamples (the same rows for every column)."""
    n = columns[0].shape[0]
    out = [np.empty(n_boot) for _ in columns]
    chunk = max(1, _CELLS_PER_CHUNK // max(n, 1))
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(size, n))
        for column, target in zip(columns, out, strict=True):
            target[start : start + size] = column[idx].sum(axis=1)
    return out


def bootstrap_ratio(
    numerators: Sequence[float] | np.ndarray,
    denominators: Sequence[float] | np.ndarray | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> BootstrapResult:
    """Bootstrap interval of ``sum(num)/sum(den)`` (or ``mean(num)``) over resampled rows.

    Resamples whose denominator sums to zero are dropped (``usable`` counts the
    rest). The same ``seed`` draws the same row resamples for inputs of equal
    length, so estimators evaluated on one log are compared on equal footing.

    >>> res = bootstrap_ratio([0.0, 1.0] * 50, n_boot=200, seed=1)
    >>> res.interval.contains(0.5), res.usable
    (True, 200)
    >>> bootstrap_ratio([1.0, 2.0], [0.0, 0.0], n_boot=10).usable
    0
    """
    _check_boot(n_boot, level)
    num = np.asarray(numerators, dtype=float)
    if num.size == 0:
        nan = float("nan")
        return BootstrapResult(Interval(nan, nan, level), nan, 0)
    rng = np.random.default_rng(seed)
    if denominators is None:
        (sums,) = _resampled_sums([num], n_boot, rng)
        return _summarise(sums / num.size, level)
    den = np.asarray(denominators, dtype=float)
    if den.shape != num.shape:
        raise InvalidOptions("numerators and denominators must have the same length")
    num_sums, den_sums = _resampled_sums([num, den], n_boot, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        stats = np.where(den_sums != 0.0, num_sums / den_sums, np.nan)
    return _summarise(stats, level)


def bootstrap_two_sample(
    control: tuple[Sequence[float] | np.ndarray, Sequence[float] | np.ndarray | None],
    treatment: tuple[Sequence[float] | np.ndarray, Sequence[float] | np.ndarray | None],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[BootstrapResult, BootstrapResult]:
    """Bootstrap the absolute and relative difference of treatment over control.

    Each group is ``(numerators, denominators-or-None)`` and is resampled
    independently; the statistic of a group is ``sum(num)/sum(den)`` (or the
    mean). Returns ``(absolute, relative)`` where relative is
    ``treatment / control - 1`` (resamples with a zero control are dropped).

    >>> absolute, relative = bootstrap_two_sample(([1.0, 2.0, 3.0] * 20, None),
    ...                                           ([2.0, 3.0, 4.0] * 20, None), n_boot=300)
    >>> absolute.interval.contains(1.0), relative.interval.contains(0.5)
    (True, True)
    """
    _check_boot(n_boot, level)
    rng = np.random.default_rng(seed)
    stats: list[np.ndarray] = []
    for num_in, den_in in (control, treatment):
        num = np.asarray(num_in, dtype=float)
        if num.size == 0:
            stats.append(np.full(n_boot, np.nan))
            continue
        if den_in is None:
            (sums,) = _resampled_sums([num], n_boot, rng)
            stats.append(sums / num.size)
        else:
            den = np.asarray(den_in, dtype=float)
            num_sums, den_sums = _resampled_sums([num, den], n_boot, rng)
            with np.errstate(divide="ignore", invalid="ignore"):
                stats.append(np.where(den_sums != 0.0, num_sums / den_sums, np.nan))
    base, treated = stats
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(base != 0.0, treated / base - 1.0, np.nan)
    return _summarise(treated - base, level), _summarise(relative, level)


def wilson_interval(successes: int, trials: int, level: float = 0.95) -> Interval:
    """Wilson score interval for a binomial proportion (``nan`` bounds with no trials).

    >>> iv = wilson_interval(0, 100)
    >>> iv.low, round(iv.high, 4)
    (0.0, 0.037)
    """
    if trials <= 0:
        return Interval(float("nan"), float("nan"), level)
    if not 0 <= successes <= trials:
        raise InvalidOptions(f"successes must be within 0..{trials}, got {successes}")
    z = z_value(level)
    p = successes / trials
    denom = 1.0 + z * z / trials
    centre = (p + z * z / (2.0 * trials)) / denom
    half = z * math.sqrt(p * (1.0 - p) / trials + z * z / (4.0 * trials * trials)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return Interval(low, high, level)


def newcombe_difference(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int, level: float = 0.95
) -> Interval:
    """Newcombe hybrid score interval for ``p_a - p_b``.

    >>> iv = newcombe_difference(56, 70, 48, 80)  # Newcombe (1998), example (a)
    >>> round(iv.low, 4), round(iv.high, 4)
    (0.0524, 0.3339)
    """
    if trials_a <= 0 or trials_b <= 0:
        return Interval(float("nan"), float("nan"), level)
    pa, pb = successes_a / trials_a, successes_b / trials_b
    a = wilson_interval(successes_a, trials_a, level)
    b = wilson_interval(successes_b, trials_b, level)
    diff = pa - pb
    low = diff - math.sqrt((pa - a.low) ** 2 + (b.high - pb) ** 2)
    high = diff + math.sqrt((a.high - pa) ** 2 + (pb - b.low) ** 2)
    return Interval(low, high, level)


def relative_risk_interval(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int, level: float = 0.95
) -> Interval:
    """Katz log interval for ``p_a / p_b - 1`` (relative lift of a over b).

    Undefined (``nan`` bounds) when either group has no successes.

    >>> iv = relative_risk_interval(60, 1000, 40, 1000)
    >>> iv.contains(0.5), round(iv.low, 3)
    (True, 0.015)
    """
    if min(successes_a, successes_b) <= 0 or min(trials_a, trials_b) <= 0:
        return Interval(float("nan"), float("nan"), level)
    ratio = (successes_a / trials_a) / (successes_b / trials_b)
    se = math.sqrt(
        1.0 / successes_a - 1.0 / trials_a + 1.0 / successes_b - 1.0 / trials_b
    )
    z = z_value(level)
    return Interval(
        ratio * math.exp(-z * se) - 1.0, ratio * math.exp(z * se) - 1.0, level
    )


def chi_square_two_cells(count_a: int, count_b: int, share_a: float) -> tuple[float, float]:
    """Chi-square statistic and p-value of ``(count_a, count_b)`` against share ``share_a``.

    One degree of freedom: ``p = erfc(sqrt(chi2 / 2))``.

    >>> stat, p = chi_square_two_cells(5200, 4800, 0.5)
    >>> round(stat, 2), p < 0.001
    (16.0, True)
    """
    if not 0.0 < share_a < 1.0:
        raise InvalidOptions(f"expected share must be in (0, 1), got {share_a}")
    total = count_a + count_b
    if total <= 0:
        return 0.0, 1.0
    expected_a = total * share_a
    expected_b = total - expected_a
    stat = (count_a - expected_a) ** 2 / expected_a + (count_b - expected_b) ** 2 / expected_b
    return stat, math.erfc(math.sqrt(stat / 2.0))
