"""Reward models: cross-fitting and sequential fitting never predict a row from itself."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline.replay.errors import EmptyLog, InvalidOptions
from pipeline.replay.join import JoinedRow, RewardWeights, join_records
from pipeline.replay.reward_model import (
    CrossFittedRewardModel,
    FeatureEncoder,
    RewardModelOptions,
    SequentialRewardModel,
    fit_reward_model,
    fold_of,
)
from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log


def _rows(n: int = 400, seed: int = 1, weights: RewardWeights | None = None) -> list[JoinedRow]:
    syn = generate_synthetic_log(SyntheticOptions(n_visitors=n, seed=seed))
    return join_records(syn.logs, syn.outcomes, weights).rows


def test_cross_fitted_prediction_ignores_the_rows_own_reward() -> None:
    rows = _rows()
    options = RewardModelOptions(folds=2, epochs=2)
    target = rows[0]
    flipped = [dataclasses.replace(r, reward=1.0 - r.reward) if r is target else r for r in rows]
    a = CrossFittedRewardModel(rows, options)
    b = CrossFittedRewardModel(flipped, options)
    # The row's own prediction comes from the model trained without its fold ...
    assert a.predict(target, "cta") == b.predict(target, "cta")
    # ... while a row in the other fold is predicted by a model that did see the flip.
    other = next(r for r in rows if fold_of(r.decision_id, 2) != fold_of(target.decision_id, 2))
    assert a.predict(other, "cta") != b.predict(other, "cta")


def test_sequential_prediction_only_uses_earlier_rows() -> None:
    rows = _rows(200)
    ordered = sorted(rows, key=lambda r: (r.created_at, r.decision_id))
    middle = ordered[100]
    later = {r.decision_id for r in ordered[100:]}
    flipped = [
        dataclasses.replace(r, reward=1.0 - r.reward) if r.decision_id in later else r
        for r in rows
    ]
    options = RewardModelOptions(method="sequential")
    a = SequentialRewardModel(rows, options)
    b = SequentialRewardModel(flipped, options)
    for early in ordered[:101]:  # predicted before any flipped reward was learned
        assert a.predict(early, "cta") == b.predict(early, "cta")
    assert a.predict(middle, middle.action_id) == b.predict(middle, middle.action_id)
    # the last row was predicted after learning the flipped rewards before it
    assert a.predict(ordered[-1], "cta") != b.predict(ordered[-1], "cta")


def test_cross_fitted_model_learns_the_action_effect() -> None:
    rows = _rows(1500, seed=2)
    syn = generate_synthetic_log(SyntheticOptions(n_visitors=1, seed=2))
    model = fit_reward_model(rows)
    # Compare the model's ranking with the true click probabilities on frequent contexts.
    errors = []
    for r in rows[:200]:
        seg, dev = r.categorical_features["segment"], r.categorical_features["device"]
        for action in r.eligible:
            truth = syn.world.click_probability(seg, dev, action)
            errors.append(abs(model.predict(r, action) - truth))
    assert sum(errors) / len(errors) < 0.08


def test_regressor_for_graded_rewards_beats_a_constant() -> None:
    weights = RewardWeights(clicked=1.0, converted=2.0)
    rows = _rows(600, seed=4, weights=weights)
    assert {r.reward for r in rows} == {0.0, 1.0, 3.0}
    model = fit_reward_model(rows)
    assert isinstance(model, CrossFittedRewardModel)
    assert not model.classifier
    assert "LinearRegression" in model.description
    syn = generate_synthetic_log(SyntheticOptions(n_visitors=1, seed=4))
    mean_reward = sum(r.reward for r in rows) / len(rows)
    pairs = [(r, a) for r in rows for a in r.eligible]

    def truth(r: JoinedRow, a: str) -> float:
        seg, dev = r.categorical_features["segment"], r.categorical_features["device"]
        return syn.expected_reward(seg, dev, a, weights)

    model_error = sum(abs(model.predict(r, a) - truth(r, a)) for r, a in pairs) / len(pairs)
    constant_error = sum(abs(mean_reward - truth(r, a)) for r, a in pairs) / len(pairs)
    assert model_error < 0.8 * constant_error


def test_regressor_on_revenue_stays_on_the_revenue_scale() -> None:
    rows = _rows(600, seed=3, weights=RewardWeights(clicked=0.0, revenue=1.0))
    assert max(r.reward for r in rows) > 20.0
    model = fit_reward_model(rows)
    mean_reward = sum(r.reward for r in rows) / len(rows)
    mean_pred = sum(model.predict(r, r.action_id) for r in rows) / len(rows)
    assert abs(mean_pred - mean_reward) < 0.25 * mean_reward


def test_feature_selection_and_standardisation() -> None:
    rows = [
        JoinedRow(decision_id=f"d{i}", visitor_id="v", session_id="s", created_at=i,
                  action_id="a", propensity=1.0, eligible={"a": 1.0},
                  numeric_features={"x": float(i), "y": 3.0},
                  categorical_features={"k": "u", "skip": "me"})
        for i in range(3)
    ]
    enc = FeatureEncoder(rows, RewardModelOptions(numeric_features=("x",),
                                                  categorical_features=("k",),
                                                  use_intent_class=False, interactions=False))
    assert enc.features(rows[2], "b") == {"action=b": 1.0, "k=u": 1.0, "x": pytest.approx(1.2247,
                                                                                           rel=1e-3)}


def test_options_are_checked_and_empty_logs_rejected() -> None:
    with pytest.raises(InvalidOptions):
        RewardModelOptions(epochs=0).check()
    with pytest.raises(InvalidOptions):
        RewardModelOptions(learning_rate=0.0).check()
    with pytest.raises(InvalidOptions):
        RewardModelOptions(method="bogus").check()  # type: ignore[arg-type]
    with pytest.raises(EmptyLog):
        fit_reward_model([])
    with pytest.raises(EmptyLog):
        SequentialRewardModel([], RewardModelOptions(method="sequential"))


def test_fold_assignment_is_stable_and_balanced() -> None:
    folds = [fold_of(f"d{i}", 3) for i in range(3000)]
    assert folds == [fold_of(f"d{i}", 3) for i in range(3000)]
    assert all(900 < folds.count(k) < 1100 for k in range(3))
