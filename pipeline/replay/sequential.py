"""An always-valid confidence sequence for the conversion lift: safe to look at any time.

The report's fixed-horizon interval is valid for **one** look at a sample size fixed in
advance; looking at the lift over time and stopping when it excludes 0 makes false
"wins" far more likely than 5%. A confidence sequence holds at every sample size at once:
with probability about ``1 - alpha`` the true lift is inside it at every look, however
often one looks, so stopping the first time it excludes 0 is allowed.

Construction (Waudby-Smith, Arbour, Sinha, Kennedy and Ramdas, "Time-uniform central
limit theory and asymptotic confidence sequences", 2023; the normal-mixture boundary of
Howard, Ramdas, McAuliffe and Sekhon, "Time-uniform, nonparametric, nonasymptotic
confidence sequences", 2021). Visitors in order of first sight, each with the unbiased
per-visitor lift estimate that the known randomization gives (``pi`` = control share)::

    psi_i = Y_i / (1 - pi)   if visitor i is personalized
    psi_i = -Y_i / pi        if visitor i is in control

(``Y_i`` = 1 if the visitor converted; or any number per visitor, such as their revenue:
the report gives the revenue-per-visitor lift the same sequence). After ``t`` visitors,
with ``m_t`` the mean and ``s_t`` the standard deviation of ``psi_1..psi_t``::

    m_t +/- s_t * sqrt(2 (t rho^2 + 1) / (t^2 rho^2) * log(sqrt(t rho^2 + 1) / alpha))

``rho^2 = (-2 log alpha + log(-2 log alpha + 1)) / t*`` makes the sequence tightest near
``t*`` visitors (``tuning_visitors``, fixed in advance, not from the data). The guarantee
is asymptotic (the CLT inside it), so the sequence is reported from ``min_visitors`` on.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> control = rng.random(4000) < 0.5
>>> converted = rng.random(4000) < np.where(control, 0.05, 0.10)
>>> cs = confidence_sequence(control, converted, control_share=0.5)
>>> cs.low < 0.05 < cs.high, cs.conclusive, cs.visitors
(True, True, 4000)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.replay.errors import InvalidOptions

__all__ = ["AlwaysValidInterval", "confidence_sequence", "confidence_sequence_path"]


@dataclass(frozen=True)
class AlwaysValidInterval:
    """The confidence sequence at the last visitor: ``[low, high]`` for the lift.

    ``conclusive``: the interval excludes 0 (a result one may stop on). ``nan`` bounds
    when there are fewer than ``min_visitors`` visitors.

    >>> AlwaysValidInterval(0.01, 0.05, 0.95, 500, 1000).conclusive
    True
    """

    low: float
    high: float
    confidence: float
    visitors: int
    tuning_visitors: int

    @property
    def conclusive(self) -> bool:
        """The interval excludes zero."""
        return bool(self.low > 0.0 or self.high < 0.0)


def _psi(control: np.ndarray, converted: np.ndarray, control_share: float) -> np.ndarray:
    y = converted
    return np.where(control, -y / control_share, y / (1.0 - control_share))


def confidence_sequence_path(
    control: Sequence[bool] | np.ndarray,
    converted: Sequence[bool] | Sequence[float] | np.ndarray,
    control_share: float,
    confidence: float = 0.95,
    tuning_visitors: int = 1000,
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds after each visitor (arrays of the visitors' length).

    >>> low, high = confidence_sequence_path([True, False] * 50, [False] * 100, 0.5)
    >>> float(low[-1]), float(high[-1])
    (0.0, 0.0)
    """
    if not 0.0 < control_share < 1.0:
        raise InvalidOptions(f"control_share must be in (0, 1), got {control_share}")
    if not 0.0 < confidence < 1.0:
        raise InvalidOptions(f"confidence must be in (0, 1), got {confidence}")
    if tuning_visitors < 1:
        raise InvalidOptions(f"tuning_visitors must be >= 1, got {tuning_visitors}")
    psi = _psi(np.asarray(control, dtype=bool), np.asarray(converted, dtype=float),
               control_share)
    t = np.arange(1, len(psi) + 1, dtype=float)
    mean = np.cumsum(psi) / t
    var = np.maximum(np.cumsum(psi * psi) / t - mean * mean, 0.0)
    alpha = 1.0 - confidence
    rho2 = (-2.0 * math.log(alpha) + math.log(-2.0 * math.log(alpha) + 1.0)) / tuning_visitors
    radius = np.sqrt(var) * np.sqrt(
        2.0 * (t * rho2 + 1.0) / (t * t * rho2) * np.log(np.sqrt(t * rho2 + 1.0) / alpha))
    return mean - radius, mean + radius


def confidence_sequence(
    control: Sequence[bool] | np.ndarray,
    converted: Sequence[bool] | Sequence[float] | np.ndarray,
    control_share: float,
    confidence: float = 0.95,
    tuning_visitors: int = 1000,
    min_visitors: int = 100,
) -> AlwaysValidInterval:
    """The always-valid interval for the conversion lift after the last visitor.

    ``control[i]`` / ``converted[i]``: visitor ``i`` (in order of first sight) is in
    control / converted (or their revenue, for the revenue-per-visitor lift).

    >>> confidence_sequence([True, False] * 10, [False] * 20, 0.5).visitors
    20
    """
    n = len(control)
    if n < min_visitors:
        return AlwaysValidInterval(float("nan"), float("nan"), confidence, n, tuning_visitors)
    low, high = confidence_sequence_path(control, converted, control_share, confidence,
                                         tuning_visitors)
    return AlwaysValidInterval(float(low[-1]), float(high[-1]), confidence, n,
                               tuning_visitors)
