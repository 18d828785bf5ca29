"""The online intent model: learns, classifies, handles odd input."""

from __future__ import annotations

import math
import random
from typing import Literal

import pytest

from pipeline.intent import (
    IntentCutoffs,
    IntentModel,
    IntentOptions,
    IntentOptionsError,
    intent_class,
)


def _separable(rng: random.Random, n: int) -> list[tuple[dict[str, float], dict[str, str], bool]]:
    """Converters have carts and dwell on checkout; browsers do not. Plus noise features."""
    rows = []
    for _ in range(n):
        converts = rng.random() < 0.5
        numeric = {
            "cart_value": rng.uniform(40, 200) if converts else 0.0,
            "dwell_checkout_s": rng.uniform(30, 120) if converts else rng.uniform(0, 5),
            "page_views": float(rng.randint(1, 20)),
            "converted": 1.0 if converts else 0.0,  # the label: must be ignored
        }
        categorical = {
            "device": rng.choice(["desktop", "mobile"]),
            "product_id": f"p{rng.random()}",
        }
        rows.append((numeric, categorical, converts))
    return rows


def _accuracy(
    model: IntentModel, rows: list[tuple[dict[str, float], dict[str, str], bool]]
) -> float:
    hits = sum((model.predict(n, c) >= 0.5) == label for n, c, label in rows)
    return hits / len(rows)


@pytest.mark.parametrize(("kind", "train"), [("logreg", 600), ("arf", 300)])
def test_learns_a_separable_problem(kind: Literal["logreg", "arf"], train: int) -> None:
    rng = random.Random(7)
    model = IntentModel(IntentOptions(model=kind, arf_models=3, seed=1))
    test_rows = _separable(rng, 200)
    before = _accuracy(model, test_rows)
    for numeric, categorical, label in _separable(rng, train):
        model.learn(numeric, categorical, label)
    after = _accuracy(model, test_rows)
    assert before == pytest.approx(0.5, abs=0.1)  # the prior says "no" to everyone
    assert after >= 0.95
    assert model.n_learned == train


def test_label_and_high_cardinality_features_are_not_learned() -> None:
    model = IntentModel()
    for i in range(200):
        model.learn({"converted": float(i % 2)}, {"product_id": f"p{i}"}, converted=bool(i % 2))
    # "converted" carried the label perfectly; excluded, the model cannot separate the classes.
    assert abs(model.predict({"converted": 1.0}, {}) - model.predict({"converted": 0.0}, {})) < 1e-9


def test_untrained_model_returns_the_prior_not_one_half() -> None:
    model = IntentModel(IntentOptions(prior_conversion_rate=0.02))
    assert model.predict({"cart_value": 999.0}, {"device": "mobile"}) == 0.02
    assert model.classify({}, {})[1] == "browsing"


def test_non_finite_numbers_do_not_poison_the_model() -> None:
    model = IntentModel()
    model.learn({"page_views": math.nan, "cart_value": math.inf}, {}, converted=True)
    probability = model.predict({"page_views": math.nan}, {})
    assert 0.0 <= probability <= 1.0 and math.isfinite(probability)


def test_probability_is_always_a_probability() -> None:
    model = IntentModel()
    rng = random.Random(3)
    for numeric, categorical, label in _separable(rng, 100):
        model.learn(numeric, categorical, label)
        assert 0.0 <= model.predict(numeric, categorical) <= 1.0


@pytest.mark.parametrize(
    ("probability", "numeric", "expected"),
    [
        (0.5, {}, "high_intent"),
        (0.9, {"signal_rage_click": 1.0}, "high_intent"),
        (0.15, {"signal_rage_click": 1.0}, "at_risk"),
        (0.49, {"signal_form_struggle": 1.0}, "at_risk"),
        (0.01, {"signal_hesitation": 1.0, "cart_value": 10.0}, "at_risk"),
        (0.01, {"signal_hesitation": 1.0}, "browsing"),
        (0.15, {}, "researching"),
        (0.01, {"product_views": 3.0}, "researching"),
        (0.01, {"dwell_pricing_s": 15.0, "dwell_shipping_returns_s": 15.0}, "researching"),
        (0.01, {"dwell_pricing_s": 29.0}, "browsing"),
        (0.149, {"product_views": 2.0}, "browsing"),
        (0.01, {"cart_value": 10.0}, "browsing"),
    ],
)
def test_intent_class_rules(probability: float, numeric: dict[str, float], expected: str) -> None:
    assert intent_class(probability, numeric) == expected


def test_cutoffs_are_configurable_and_validated() -> None:
    loose = IntentCutoffs(high_intent=0.3, researching=0.1)
    assert intent_class(0.3, {}, loose) == "high_intent"
    assert intent_class(0.3, {}) == "researching"
    with pytest.raises(IntentOptionsError, match="researching cut-off"):
        IntentCutoffs(high_intent=0.2, researching=0.2)
    with pytest.raises(IntentOptionsError, match="unknown intent model"):
        IntentOptions(model="svm")  # type: ignore[arg-type]
    with pytest.raises(IntentOptionsError, match="prior_conversion_rate"):
        IntentOptions(prior_conversion_rate=0.0)
