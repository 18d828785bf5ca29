"""Estimator calibration on synthetic logs whose true policy values are known.

Thirty seeded logs per check; each estimator's 95% interval must cover the truth
in at least 24 of them (80%), and where the reward model is good DR must be
tighter than IPS. The seeds are fixed, so the outcome is deterministic.
"""

from __future__ import annotations

import statistics

from pipeline.replay.join import join_records
from pipeline.replay.ope import OpeOptions, evaluate_rows
from pipeline.replay.policies import target_policy
from pipeline.replay.reward_model import RewardModelOptions
from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log

SEEDS = range(30)
MIN_COVERED = 24


def _run(options: SyntheticOptions, target: str, estimators: tuple[str, ...],
         ope: OpeOptions | None = None) -> dict[str, list[tuple[bool, float, float]]]:
    """Per estimator: (covered, width, error) for every seed."""
    out: dict[str, list[tuple[bool, float, float]]] = {e: [] for e in estimators}
    policy = target_policy(target)
    for seed in SEEDS:
        syn = generate_synthetic_log(
            SyntheticOptions(**{**options.__dict__, "seed": seed})
        )
        truth = syn.true_value(policy)
        rows = join_records(syn.logs, syn.outcomes).rows
        res = evaluate_rows(rows, policy, target, estimators, n_boot=200, seed=seed, options=ope)
        for name in estimators:
            est = res.estimate(name)
            out[name].append((est.covers(truth), est.width, est.value - truth))
    return out


def test_ips_snips_dr_cover_the_true_value_of_the_uniform_policy() -> None:
    runs = _run(SyntheticOptions(n_visitors=500, epsilon=0.4), "uniform", ("ips", "snips", "dr"))
    for name, results in runs.items():
        covered = sum(c for c, _, _ in results)
        assert covered >= MIN_COVERED, f"{name} covered the truth in {covered}/30 runs"


def test_replay_covers_a_deterministic_target_on_a_uniform_random_log() -> None:
    runs = _run(SyntheticOptions(n_visitors=500, epsilon=1.0), "always:cta", ("replay", "ips"))
    for name, results in runs.items():
        covered = sum(c for c, _, _ in results)
        assert covered >= MIN_COVERED, f"{name} covered the truth in {covered}/30 runs"


def test_dr_is_tighter_than_ips_when_the_reward_model_is_good() -> None:
    # Frequent clicks (base logit +1) leave much explainable reward variance, a
    # target far from the logging policy gives large weights, and the reward
    # model sees exactly the features that drive the reward.
    ope = OpeOptions(reward_model=RewardModelOptions(
        categorical_features=("segment", "device"), numeric_features=(), use_intent_class=False,
    ))
    runs = _run(SyntheticOptions(n_visitors=500, epsilon=0.2, base_logit=1.0), "always:grid",
                ("ips", "dr"), ope)
    ips_width = statistics.mean(w for _, w, _ in runs["ips"])
    dr_width = statistics.mean(w for _, w, _ in runs["dr"])
    assert dr_width < 0.85 * ips_width
    ips_spread = statistics.pstdev(e for _, _, e in runs["ips"])
    dr_spread = statistics.pstdev(e for _, _, e in runs["dr"])
    assert dr_spread < ips_spread
    assert sum(c for c, _, _ in runs["dr"]) >= MIN_COVERED
