"""CUPED: a tighter conversion-lift interval from a covariate measured before exposure.

Deng, Xu, Kohavi and Walker, "Improving the sensitivity of online controlled experiments
by utilizing pre-experiment data" (WSDM 2013). Per visitor, ``Y`` = 1 if they converted
and ``X`` = a covariate that the experiment cannot have changed. With ``theta`` =
``cov(Y, X) / var(X)`` pooled over both arms and ``mean X`` over both arms, the adjusted
outcome ``Y - theta (X - mean X)`` has the same expected difference between arms (``X``
has the same distribution in both, by randomization) and a smaller variance, by the
share ``corr(Y, X)^2`` (approximately). The lift is the difference of the arms' adjusted
means, with a normal (Welch) interval from the adjusted outcomes' variance in each arm;
the same interval on the unadjusted outcomes is computed beside it, and the **variance
reduction** is ``1 - var(adjusted lift) / var(unadjusted lift)`` (the interval's width
shrinks by ``sqrt(1 - reduction)``).

**Which covariate is pre-exposure.** The report takes it from the ``numeric_features`` of
each visitor's *first* logged decision: that context is computed before the decision is
made, and the arm is drawn only after the action is chosen (control decisions are logged
at the same triggers), so nothing the arm does can have reached it. The default is
``past_purchases`` (the visitor profile's purchases before that moment: the same metric in
the pre-period, Deng et al.'s recommended covariate); ``returning`` qualifies too. In-session
features at the first decision (``page_views``, ``session_age_s``) are pre-exposure but
constant, since the first decision is made at the first page view; features of *later*
decisions are post-exposure and must never be used. One caveat: a log that starts after
the experiment did (an export ``--since`` a time) has first decisions that are not first
exposures.

Like the Newcombe interval, this one is fixed horizon: valid for one look at a sample
size set in advance, not for watching it (the always-valid interval is for that).
When the covariate is missing for a visitor, or the same for every visitor, or the
outcome is, CUPED is not applied and :class:`CupedUnavailable` says why.

>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> x = rng.poisson(1.0, 4000).astype(float)
>>> control = rng.random(4000) < 0.5
>>> y = rng.random(4000) < 0.03 + 0.04 * np.minimum(x, 3)
>>> res = cuped_lift(control, y, x, "past_purchases")
>>> res.interval.contains(0.0), res.interval.width < res.unadjusted_interval.width
(True, True)
>>> cuped_lift(control, y, np.zeros(4000), "returning").reason
'returning is 0 for every visitor: a constant covariate cannot reduce variance'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.replay.errors import InvalidOptions
from pipeline.replay.intervals import Interval, z_value

__all__ = ["CupedLift", "CupedUnavailable", "cuped_lift"]


@dataclass(frozen=True)
class CupedLift:
    """The CUPED-adjusted conversion lift (personalized minus control) and its interval.

    ``theta``: the pooled regression coefficient; ``covariate_mean``: ``mean X`` over both
    arms; ``control_mean`` / ``personalized_mean``: the arms' adjusted conversion rates;
    ``unadjusted_*``: the same normal interval without the adjustment;
    ``variance_reduction``: ``1 - var(adjusted lift) / var(unadjusted lift)``;
    ``correlation``: ``corr(Y, X)`` pooled.

    >>> CupedLift("x", 10, 0.1, 1.0, 0.1, 0.2, 0.1, Interval(0.01, 0.19), 0.1,
    ...           Interval(0.0, 0.2), 0.19, 0.44).conclusive
    True
    """

    covariate: str
    visitors: int
    theta: float
    covariate_mean: float
    control_mean: float
    personalized_mean: float
    lift: float
    interval: Interval
    unadjusted_lift: float
    unadjusted_interval: Interval
    variance_reduction: float
    correlation: float

    @property
    def conclusive(self) -> bool:
        """The adjusted interval excludes zero (at one look, fixed horizon)."""
        return bool(self.interval.low > 0.0 or self.interval.high < 0.0)


@dataclass(frozen=True)
class CupedUnavailable:
    """CUPED was not applied: ``reason`` says why (no adjusted line is shown).

    >>> CupedUnavailable("past_purchases", "needs 100 visitors (have 3)").covariate
    'past_purchases'
    """

    covariate: str
    reason: str


def _welch(values: np.ndarray, control: np.ndarray) -> tuple[float, float]:
    """Difference of means (personalized minus control) and its variance."""
    treated, base = values[~control], values[control]
    diff = float(treated.mean() - base.mean())
    var = float(treated.var(ddof=1) / treated.size + base.var(ddof=1) / base.size)
    return diff, var


def cuped_lift(
    control: Sequence[bool] | np.ndarray,
    converted: Sequence[bool] | Sequence[float] | np.ndarray,
    covariate: Sequence[float | None] | np.ndarray,
    name: str,
    confidence: float = 0.95,
    min_visitors: int = 100,
    outcome: str = "conversion outcome",
) -> CupedLift | CupedUnavailable:
    """CUPED lift of personalized over control, one entry per visitor.

    ``control[i]``: visitor ``i`` is in control; ``converted[i]``: their outcome (0/1 for
    conversion, or any number: revenue per visitor is adjusted the same way);
    ``covariate[i]``: their pre-exposure covariate (``None`` or ``nan``: missing);
    ``name``: what the covariate is, for the report; ``outcome``: what ``converted`` is,
    for the reason when every visitor has the same.

    >>> cuped_lift([True, False] * 60, [0.0] * 120, [1.0, 2.0] * 60, "x").reason
    'every visitor has the same conversion outcome: nothing to adjust'
    >>> cuped_lift([True, False], [1.0, 0.0], [None, 1.0], "x").reason
    'x is missing from the first decision of 1 of 2 visitors'
    """
    if not 0.0 < confidence < 1.0:
        raise InvalidOptions(f"confidence must be in (0, 1), got {confidence}")
    arm = np.asarray(control, dtype=bool)
    y = np.asarray(converted, dtype=float)
    x = np.array([np.nan if v is None else v for v in covariate], dtype=float)
    if not arm.shape == y.shape == x.shape:
        raise InvalidOptions("control, converted and covariate must have the same length")
    n = int(arm.size)
    missing = int(np.count_nonzero(~np.isfinite(x)))
    if missing:
        return CupedUnavailable(
            name, f"{name} is missing from the first decision of {missing} of {n} visitors")
    if n < min_visitors:
        return CupedUnavailable(name, f"needs {min_visitors} visitors (have {n})")
    if min(int(arm.sum()), n - int(arm.sum())) < 2:
        return CupedUnavailable(name, "needs at least 2 visitors in each arm")
    if np.all(x == x[0]):
        return CupedUnavailable(
            name, f"{name} is {x[0]:g} for every visitor: a constant covariate cannot "
                  "reduce variance")
    if np.all(y == y[0]):
        return CupedUnavailable(name, f"every visitor has the same {outcome}: "
                                      "nothing to adjust")
    x_mean = float(x.mean())
    centred = x - x_mean
    theta = float(np.dot(y - y.mean(), centred) / np.dot(centred, centred))
    adjusted = y - theta * centred
    lift, var = _welch(adjusted, arm)
    raw_lift, raw_var = _welch(y, arm)
    z = z_value(confidence)
    half, raw_half = z * math.sqrt(var), z * math.sqrt(raw_var)
    correlation = float(np.corrcoef(y, x)[0, 1])
    return CupedLift(
        covariate=name,
        visitors=n,
        theta=theta,
        covariate_mean=x_mean,
        control_mean=float(adjusted[arm].mean()),
        personalized_mean=float(adjusted[~arm].mean()),
        lift=lift,
        interval=Interval(lift - half, lift + half, confidence),
        unadjusted_lift=raw_lift,
        unadjusted_interval=Interval(raw_lift - raw_half, raw_lift + raw_half, confidence),
        variance_reduction=1.0 - var / raw_var if raw_var > 0 else float("nan"),
        correlation=correlation,
    )
