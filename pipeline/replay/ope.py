"""Off-policy evaluation: the value a target policy would have had, estimated from a log.

Notation per logged row ``i``: context ``x_i``, logged action ``a_i`` with
propensity ``p_i``, reward ``r_i``, target distribution ``pi(.|x_i)`` and
importance weight ``w_i = pi(a_i|x_i) / p_i``.

- ``ips`` (inverse propensity scoring): ``mean(w_i r_i)``; unbiased when the
  logging policy gave every action the target uses a positive probability.
- ``snips`` (self-normalised IPS): ``sum(w_i r_i) / sum(w_i)``; slightly biased,
  far less variance when weights are large.
- ``dr`` (doubly robust): ``mean(sum_a pi(a|x_i) q(x_i, a) + w_i (r_i - q(x_i, a_i)))``
  with ``q`` the cross-fitted (or sequential) River reward model of
  :mod:`pipeline.replay.reward_model`: unbiased if either the propensities or
  the model are right, and lower variance when the model is good.
- ``dm`` (direct method, optional): ``mean(sum_a pi(a|x_i) q(x_i, a))``.
- ``replay`` (Li et al. 2011): keep the rows where the target's action (sampled
  with the seed, or the argmax) equals the logged one and average their reward.
  Unbiased only when the log came from a uniform random policy; otherwise a
  ``replay_nonuniform_logging`` warning is returned.

Intervals are seeded percentile-bootstrap intervals over logged rows (the
reward model is held fixed across resamples). Diagnostics: Kish's effective
sample size ``(sum w)^2 / sum w^2``, the largest weight and the smallest
propensity, with structured warnings when they indicate trouble. Rows of the
control group (``served`` false) are excluded by default: their reward is that
of the default experience, not of the logged action.

>>> from pipeline.replay.join import join_records
>>> from pipeline.replay.policies import uniform_policy
>>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
>>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=2000, seed=11))
>>> rows = join_records(syn.logs, syn.outcomes).rows
>>> result = evaluate_rows(rows, uniform_policy, "uniform", n_boot=200, seed=1)
>>> truth = syn.true_value(uniform_policy)
>>> result.estimate("ips").covers(truth), result.estimate("dr").covers(truth)
(True, True)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pipeline.replay.errors import (
    EmptyLog,
    InvalidOptions,
    InvalidPropensity,
    InvalidTargetPolicy,
    MissingPropensity,
    UnknownTargetAction,
)
from pipeline.replay.intervals import bootstrap_ratio
from pipeline.replay.join import JoinedRow, RewardWeights, join_files
from pipeline.replay.logfile import LogFileOptions
from pipeline.replay.notices import ReplayWarning
from pipeline.replay.policies import (
    RewardPredictor,
    TargetPolicy,
    predict_actions,
    target_policy,
)
from pipeline.replay.reward_model import RewardModelOptions, fit_reward_model

__all__ = [
    "ESTIMATORS",
    "Estimate",
    "EvaluationResult",
    "OpeOptions",
    "WeightDiagnostics",
    "check_propensities",
    "effective_sample_size",
    "evaluate",
    "evaluate_rows",
]

#: Estimators run by default; ``"dm"`` (direct method) is available on request.
ESTIMATORS: tuple[str, ...] = ("ips", "snips", "dr", "replay")
_KNOWN = ("ips", "snips", "dr", "dm", "replay")
_SUM_TOLERANCE = 1e-6
_EXAMPLES = 5


@dataclass(frozen=True)
class OpeOptions:
    """Thresholds and choices of off-policy evaluation.

    ``confidence``: interval level. ``propensity_floor``: warn
    (``tiny_propensity``) when a used row's propensity is below it.
    ``max_weight``: warn (``exploding_weights``) when an importance weight exceeds
    it. ``min_ess_fraction``: warn (``low_effective_sample_size``) when Kish's ESS
    is below this share of the rows. ``include_unserved``: also evaluate control
    rows. ``replay_mode``: ``"sample"`` the target's action (seeded) or take its
    ``"argmax"``. ``min_replay_matches``: warn (``replay_few_matches``) below it.
    ``reward_model``: the DR/greedy model. ``weights``: reward weights used when
    joining files in :func:`evaluate`.

    >>> OpeOptions().propensity_floor, OpeOptions().max_weight
    (0.001, 100.0)
    """

    confidence: float = 0.95
    propensity_floor: float = 1e-3
    max_weight: float = 100.0
    min_ess_fraction: float = 0.05
    include_unserved: bool = False
    replay_mode: Literal["sample", "argmax"] = "sample"
    min_replay_matches: int = 30
    reward_model: RewardModelOptions = field(default_factory=RewardModelOptions)
    weights: RewardWeights = field(default_factory=RewardWeights)


@dataclass(frozen=True)
class Estimate:
    """One estimator's value with its bootstrap interval.

    ``n_used`` is the number of rows that carry the estimate (all rows, or the
    matched rows for ``replay``); ``std_error`` is the bootstrap standard error.

    >>> e = Estimate("ips", 0.1, 0.05, 0.15, 0.02, 100)
    >>> e.covers(0.12), e.width
    (True, 0.09999999999999999)
    """

    estimator: str
    value: float
    ci_low: float
    ci_high: float
    std_error: float
    n_used: int
    confidence: float = 0.95

    @property
    def width(self) -> float:
        """Interval width ``ci_high - ci_low``."""
        return self.ci_high - self.ci_low

    def covers(self, value: float) -> bool:
        """Whether ``value`` lies in the interval (bounds included).

        >>> Estimate("x", 0.0, float("nan"), float("nan"), 0.0, 0).covers(0.0)
        False
        """
        return bool(self.ci_low <= value <= self.ci_high)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``None`` for undefined numbers).

        >>> Estimate("ips", 0.5, 0.4, 0.6, 0.05, 10).to_dict()["ci"]
        [0.4, 0.6]
        """
        return {
            "estimator": self.estimator,
            "value": _json_number(self.value),
            "ci": [_json_number(self.ci_low), _json_number(self.ci_high)],
            "confidence": self.confidence,
            "std_error": _json_number(self.std_error),
            "n_used": self.n_used,
        }


@dataclass(frozen=True)
class WeightDiagnostics:
    """Importance-weight health of an evaluation.

    >>> WeightDiagnostics(10, 5.0, 0.5, 3.0, 1.0, 0.1, 0).ess_fraction
    0.5
    """

    n: int
    ess: float
    ess_fraction: float
    max_weight: float
    mean_weight: float
    min_propensity: float
    n_below_floor: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form.

        >>> WeightDiagnostics(10, 5.0, 0.5, 3.0, 1.0, 0.1, 0).to_dict()["ess"]
        5.0
        """
        return {k: _json_number(v) for k, v in dataclasses.asdict(self).items()}


@dataclass(frozen=True)
class EvaluationResult:
    """Estimates of a target policy's value from one log, with diagnostics and warnings.

    ``logged`` is the observed mean reward of the evaluated rows (the logging
    policy's on-policy value) with its bootstrap interval, for comparison.

    >>> from pipeline.replay.join import join_records
    >>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
    >>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=300, seed=2))
    >>> res = evaluate_rows(join_records(syn.logs, syn.outcomes).rows, target_policy("logged"),
    ...                     "logged", estimators=("ips",), n_boot=50)
    >>> abs(res.estimate("ips").value - res.logged.value) < 1e-9
    True
    >>> res.to_dict()["target"], "ips" in res.to_text()
    ('logged', True)
    """

    target: str
    n_rows: int
    n_excluded: int
    estimates: tuple[Estimate, ...]
    logged: Estimate
    diagnostics: WeightDiagnostics
    warnings: tuple[ReplayWarning, ...]
    n_boot: int
    seed: int
    confidence: float
    reward_model: str | None = None

    def estimate(self, name: str) -> Estimate:
        """The estimate of estimator ``name`` (``KeyError`` if it was not run).

        >>> est = Estimate("ips", 0.5, 0.4, 0.6, 0.05, 10)
        >>> diag = WeightDiagnostics(10, 10.0, 1.0, 1.0, 1.0, 0.5, 0)
        >>> EvaluationResult("u", 10, 0, (est,), est, diag, (), 10, 0, 0.95).estimate("ips").value
        0.5
        """
        for est in self.estimates:
            if est.estimator == name:
                return est
        ran = [e.estimator for e in self.estimates]
        raise KeyError(f"estimator {name!r} was not run; ran {ran}")

    @property
    def warning_codes(self) -> tuple[str, ...]:
        """Codes of the warnings, in order."""
        return tuple(w.code for w in self.warnings)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form of the whole result."""
        return {
            "target": self.target,
            "n_rows": self.n_rows,
            "n_excluded_unserved": self.n_excluded,
            "confidence": self.confidence,
            "n_boot": self.n_boot,
            "seed": self.seed,
            "reward_model": self.reward_model,
            "estimates": [e.to_dict() for e in self.estimates],
            "logged": self.logged.to_dict(),
            "diagnostics": self.diagnostics.to_dict(),
            "warnings": [w.to_dict() for w in self.warnings],
        }

    def to_text(self) -> str:
        """A plain-text table for the terminal."""
        level = f"{self.confidence:.0%}"
        lines = [
            f"Off-policy evaluation of target {self.target!r} on {self.n_rows} logged decisions"
            + (f" ({self.n_excluded} unserved control rows excluded)" if self.n_excluded else ""),
            "",
            f"{'estimator':<10} {'value':>10}  {level + ' CI':<24} {'std err':>9} {'rows':>7}",
        ]
        for est in (*self.estimates, self.logged):
            name = "logged*" if est is self.logged else est.estimator
            ci = f"[{_fmt(est.ci_low)}, {_fmt(est.ci_high)}]"
            lines.append(
                f"{name:<10} {_fmt(est.value):>10}  {ci:<24} {_fmt(est.std_error):>9} "
                f"{est.n_used:>7}"
            )
        d = self.diagnostics
        lines += [
            "* logged = observed mean reward of the logging policy (not an estimate of the target)",
            "",
            f"effective sample size (Kish) {d.ess:.1f} of {d.n} ({d.ess_fraction:.1%}); "
            f"max weight {_fmt(d.max_weight)}; mean weight {_fmt(d.mean_weight)}; "
            f"min propensity {_fmt(d.min_propensity)}",
            f"bootstrap: {self.n_boot} resamples, seed {self.seed}",
        ]
        if self.reward_model:
            lines.append(f"reward model: {self.reward_model}")
        if self.warnings:
            lines.append("warnings:")
            lines += [f"  - [{w.code}] {w.message}" for w in self.warnings]
        else:
            lines.append("warnings: none")
        return "\n".join(lines)


def _fmt(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.4g}"


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def effective_sample_size(weights: Sequence[float] | np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` (0 when all weights are 0).

    >>> effective_sample_size([1.0, 1.0, 1.0, 1.0])
    4.0
    >>> effective_sample_size([10.0, 0.0, 0.0, 0.0])
    1.0
    """
    w = np.asarray(weights, dtype=float)
    squares = float(np.sum(w * w))
    if squares == 0.0:
        return 0.0
    return float(np.sum(w)) ** 2 / squares


def check_propensities(rows: Sequence[JoinedRow]) -> None:
    """Raise ``MissingPropensity`` / ``InvalidPropensity`` unless every ``0 < p <= 1``.

    >>> from pipeline.replay.join import JoinedRow
    >>> row = JoinedRow(decision_id="d7", visitor_id="v", session_id="s", created_at=0,
    ...                 action_id="a", propensity=0.0, eligible={"a": 0.0})
    >>> check_propensities([row])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.replay.errors.MissingPropensity: 1 logged decisions have no usable propensity ...
    """
    missing = [
        r.decision_id
        for r in rows
        if r.propensity is None or not math.isfinite(r.propensity) or r.propensity <= 0.0
    ]
    if missing:
        raise MissingPropensity(missing[:_EXAMPLES], total=len(missing))
    above = [r.decision_id for r in rows if r.propensity is not None and r.propensity > 1.0 + 1e-9]
    if above:
        raise InvalidPropensity(above[:_EXAMPLES], total=len(above))


def _distributions(
    rows: Sequence[JoinedRow], target: TargetPolicy
) -> tuple[list[Mapping[str, float]], int]:
    dists: list[Mapping[str, float]] = []
    outside = 0
    for row in rows:
        dist = target(row)
        total = 0.0
        for action, p in dist.items():
            if not (isinstance(p, int | float) and math.isfinite(p)) or p < 0.0:
                raise InvalidTargetPolicy(row.decision_id, f"probability of {action!r} is {p!r}")
            total += p
        if abs(total - 1.0) > _SUM_TOLERANCE:
            raise InvalidTargetPolicy(row.decision_id, f"probabilities sum to {total:.6g}")
        if any(p > 0.0 and a not in row.eligible for a, p in dist.items()):
            outside += 1
        dists.append(dist)
    return dists, outside


def _replay_matches(
    rows: Sequence[JoinedRow], dists: Sequence[Mapping[str, float]], mode: str, seed: int
) -> np.ndarray:
    matched = np.zeros(len(rows))
    uniforms = np.random.default_rng(seed).random(len(rows))
    for i, (row, dist) in enumerate(zip(rows, dists, strict=True)):
        if mode == "argmax":
            best = max(dist.values())
            chosen = next(a for a, p in dist.items() if p == best)
        else:
            chosen, cumulative = "", 0.0
            for action, p in dist.items():
                cumulative += p
                chosen = action
                if uniforms[i] < cumulative:
                    break
        matched[i] = 1.0 if chosen == row.action_id else 0.0
    return matched


def _is_uniform(row: JoinedRow) -> bool:
    probs = list(row.eligible.values())
    return max(probs) - min(probs) <= 1e-9 * max(max(probs), 1e-300)


def _estimate(
    name: str,
    num: np.ndarray,
    den: np.ndarray | None,
    n_used: int,
    n_boot: int,
    seed: int,
    level: float,
) -> Estimate:
    if den is None:
        value = float(np.mean(num)) if num.size else float("nan")
    else:
        total = float(np.sum(den))
        value = float(np.sum(num)) / total if total != 0.0 else float("nan")
    boot = bootstrap_ratio(num, den, n_boot=n_boot, seed=seed, level=level)
    return Estimate(
        name, value, boot.interval.low, boot.interval.high, boot.std_error, n_used, level
    )


def evaluate_rows(
    rows: Sequence[JoinedRow],
    target: TargetPolicy,
    target_name: str = "custom",
    estimators: Sequence[str] = ESTIMATORS,
    n_boot: int = 1000,
    seed: int = 0,
    options: OpeOptions | None = None,
    reward_model: RewardPredictor | None = None,
) -> EvaluationResult:
    """Estimate the value of ``target`` from joined rows (see the module docstring).

    ``reward_model`` is fitted on the evaluated rows when DR/DM need one and
    none is given.

    >>> from pipeline.replay.join import JoinedRow
    >>> rows = [JoinedRow(decision_id=f"d{i}", visitor_id="v", session_id="s", created_at=i,
    ...                   action_id="a" if i % 2 else "b", propensity=0.5,
    ...                   eligible={"a": 0.5, "b": 0.5}, reward=float(i % 2))
    ...         for i in range(40)]
    >>> res = evaluate_rows(rows, target_policy("always:a"), "always:a",
    ...                     estimators=("ips", "snips"), n_boot=100)
    >>> res.estimate("ips").value, res.estimate("snips").value
    (1.0, 1.0)
    """
    opts = options or OpeOptions()
    unknown = [e for e in estimators if e not in _KNOWN]
    if unknown or not estimators:
        raise InvalidOptions(f"unknown estimators {unknown}: choose from {list(_KNOWN)}")
    used = [r for r in rows if opts.include_unserved or r.served]
    excluded = len(rows) - len(used)
    if not used:
        raise EmptyLog(
            f"no decisions to evaluate ({excluded} unserved control rows excluded)"
            if excluded
            else "no decisions to evaluate: the log is empty"
        )
    check_propensities(used)
    dists, outside = _distributions(used, target)
    n = len(used)
    propensity = np.array([float(r.propensity or 0.0) for r in used])
    reward = np.array([r.reward for r in used])
    target_p = np.array([float(d.get(r.action_id, 0.0)) for r, d in zip(used, dists, strict=True)])
    weight = target_p / propensity
    warnings = _weight_warnings(used, weight, propensity, outside, opts)
    ess = effective_sample_size(weight)
    below = int(np.sum(propensity < opts.propensity_floor))
    diagnostics = WeightDiagnostics(
        n=n,
        ess=ess,
        ess_fraction=ess / n,
        max_weight=float(np.max(weight)),
        mean_weight=float(np.mean(weight)),
        min_propensity=float(np.min(propensity)),
        n_below_floor=below,
    )
    level = opts.confidence
    model_description: str | None = None
    needs_model = any(e in ("dr", "dm") for e in estimators)
    q_logged = q_target = np.zeros(n)
    if needs_model:
        model = reward_model if reward_model is not None else fit_reward_model(
            used, opts.reward_model
        )
        model_description = getattr(model, "description", type(model).__name__)
        q_logged = np.empty(n)
        q_target = np.empty(n)
        for i, (r, d) in enumerate(zip(used, dists, strict=True)):
            support = [a for a, p in d.items() if p > 0.0]
            predicted = predict_actions(model, r, [r.action_id, *support])
            q_logged[i] = predicted[r.action_id]
            q_target[i] = sum(d[a] * predicted[a] for a in support)
    estimates: list[Estimate] = []
    for name in estimators:
        if name == "ips":
            estimates.append(_estimate(name, weight * reward, None, n, n_boot, seed, level))
        elif name == "snips":
            estimates.append(_estimate(name, weight * reward, weight, n, n_boot, seed, level))
        elif name == "dm":
            estimates.append(_estimate(name, q_target, None, n, n_boot, seed, level))
        elif name == "dr":
            terms = q_target + weight * (reward - q_logged)
            estimates.append(_estimate(name, terms, None, n, n_boot, seed, level))
        else:
            matched = _replay_matches(used, dists, opts.replay_mode, seed)
            n_matched = int(matched.sum())
            estimates.append(
                _estimate(name, matched * reward, matched, n_matched, n_boot, seed, level)
            )
            warnings += _replay_warnings(used, n_matched, opts)
    logged = _estimate("logged", reward, None, n, n_boot, seed, level)
    return EvaluationResult(
        target=target_name,
        n_rows=n,
        n_excluded=excluded,
        estimates=tuple(estimates),
        logged=logged,
        diagnostics=diagnostics,
        warnings=tuple(warnings),
        n_boot=n_boot,
        seed=seed,
        confidence=level,
        reward_model=model_description,
    )


def _weight_warnings(
    rows: Sequence[JoinedRow],
    weight: np.ndarray,
    propensity: np.ndarray,
    outside: int,
    opts: OpeOptions,
) -> list[ReplayWarning]:
    n = len(rows)
    warnings: list[ReplayWarning] = []
    below = int(np.sum(propensity < opts.propensity_floor))
    if below:
        warnings.append(
            ReplayWarning(
                "tiny_propensity",
                f"{below} of {n} rows have a propensity below {opts.propensity_floor:g} "
                f"(smallest {float(np.min(propensity)):.3g}): their weights can dominate",
                {"rows": below, "floor": opts.propensity_floor,
                 "min_propensity": float(np.min(propensity))},
            )
        )
    max_w = float(np.max(weight))
    if max_w > opts.max_weight:
        over = int(np.sum(weight > opts.max_weight))
        warnings.append(
            ReplayWarning(
                "exploding_weights",
                f"{over} rows have an importance weight above {opts.max_weight:g} "
                f"(max {max_w:.4g}): IPS/DR variance is driven by a few rows; prefer SNIPS "
                "or clip",
                {"rows": over, "max_weight": max_w, "threshold": opts.max_weight},
            )
        )
    ess = effective_sample_size(weight)
    if ess < opts.min_ess_fraction * n:
        warnings.append(
            ReplayWarning(
                "low_effective_sample_size",
                f"effective sample size {ess:.1f} is {ess / n:.1%} of {n} rows "
                f"(threshold {opts.min_ess_fraction:.0%}): the target differs strongly from "
                "the logging policy",
                {"ess": ess, "rows": n, "threshold_fraction": opts.min_ess_fraction},
            )
        )
    if outside:
        warnings.append(
            ReplayWarning(
                "target_outside_eligible",
                f"for {outside} rows the target puts probability on actions that were not "
                "eligible; the log cannot tell what they would have earned (counted as 0 by "
                "IPS)",
                {"rows": outside},
            )
        )
    synthesized = sum(1 for r in rows if not r.eligible_logged)
    if synthesized:
        warnings.append(
            ReplayWarning(
                "eligible_missing",
                f"{synthesized} rows have no logged eligible list; only the chosen action is "
                "known to be eligible there",
                {"rows": synthesized},
            )
        )
    return warnings


def _replay_warnings(
    rows: Sequence[JoinedRow], n_matched: int, opts: OpeOptions
) -> list[ReplayWarning]:
    warnings: list[ReplayWarning] = []
    nonuniform = sum(1 for r in rows if not _is_uniform(r))
    if nonuniform:
        warnings.append(
            ReplayWarning(
                "replay_nonuniform_logging",
                f"{nonuniform} rows were not logged by a uniform random policy: the replay "
                "method is biased there; prefer IPS/SNIPS/DR",
                {"rows": nonuniform},
            )
        )
    if n_matched < opts.min_replay_matches:
        warnings.append(
            ReplayWarning(
                "replay_few_matches",
                f"only {n_matched} rows match the target's action (minimum "
                f"{opts.min_replay_matches}): the replay estimate is unreliable",
                {"matches": n_matched, "minimum": opts.min_replay_matches},
            )
        )
    return warnings


def evaluate(
    log_path: str | Path,
    outcomes_path: str | Path | None,
    target: str,
    estimators: Sequence[str] = ESTIMATORS,
    n_boot: int = 1000,
    seed: int = 0,
    options: OpeOptions | None = None,
    file_options: LogFileOptions | None = None,
) -> EvaluationResult:
    """Read a decision log and outcomes, and estimate the value of the named target policy.

    ``target`` is ``"uniform"``, ``"logged"``, ``"greedy"`` (greedy over the
    reward model fitted on the log, cross-fitted so each row's choice comes from
    a model that did not see it) or ``"always:<action_id>"`` (an action the log
    never chose nor listed as eligible raises :class:`UnknownTargetAction`). Outcomes whose
    decision is missing from the log add an ``unmatched_outcomes`` warning.

    >>> import tempfile, pathlib
    >>> from pipeline.replay.logfile import write_decision_logs, write_outcomes
    >>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
    >>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=400, seed=8))
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_decision_logs(folder / "d.jsonl", syn.logs)
    >>> _ = write_outcomes(folder / "o.jsonl", syn.outcomes)
    >>> res = evaluate(folder / "d.jsonl", folder / "o.jsonl", "greedy", n_boot=100)
    >>> [e.estimator for e in res.estimates], res.target
    (['ips', 'snips', 'dr', 'replay'], 'greedy')
    """
    opts = options or OpeOptions()
    joined = join_files(log_path, outcomes_path, opts.weights, file_options)
    used = [r for r in joined.rows if opts.include_unserved or r.served]
    policy = None if target == "greedy" else target_policy(target)
    if target.startswith("always:"):
        action = target[len("always:"):]
        known = {r.action_id for r in joined.rows} | {a for r in joined.rows
                                                      for a in r.eligible}
        if action not in known:
            raise UnknownTargetAction(action, sorted(known), len(joined.rows))
    model: RewardPredictor | None = None
    if used and (policy is None or any(e in ("dr", "dm") for e in estimators)):
        check_propensities(used)
        model = fit_reward_model(used, opts.reward_model)
    if policy is None:
        if model is None:
            raise EmptyLog(f"{log_path}: no served decisions to evaluate")
        policy = target_policy(target, model)
    result = evaluate_rows(
        joined.rows, policy, target, estimators, n_boot, seed, opts, reward_model=model
    )
    if joined.unmatched_outcomes:
        extra = ReplayWarning(
            "unmatched_outcomes",
            f"{joined.unmatched_outcomes} outcomes refer to decisions missing from the log",
            {"outcomes": joined.unmatched_outcomes},
        )
        result = dataclasses.replace(result, warnings=(*result.warnings, extra))
    return result
