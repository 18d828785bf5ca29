"""IntentModel.predict runs the logreg pipeline step by step: exactly River's answer."""

from __future__ import annotations

import struct
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from river import compose

from pipeline.intent import IntentModel, IntentOptions
from pipeline.intent.model import _logreg_proba, _logreg_steps

NAMES = st.sampled_from(["page_views", "cart_value", "device", "sector", "clicks", "x", "y"])
NUMERIC = st.dictionaries(NAMES, st.floats(allow_nan=True, allow_infinity=True, width=64)
                          | st.integers(-1000, 1000) | st.booleans(), max_size=6)
CATEGORICAL = st.dictionaries(NAMES, st.sampled_from(["mobile", "desktop", "ecommerce", "", "é"])
                              | st.integers(0, 3), max_size=4)
EXAMPLES = st.lists(st.tuples(NUMERIC, CATEGORICAL, st.booleans()), max_size=12)


def bits(value: Any) -> Any:
    """Exact comparison, NaN included: floats by their IEEE bytes."""
    if isinstance(value, float):
        return struct.pack("<d", value)
    if isinstance(value, dict):
        return {k: bits(v) for k, v in value.items()}
    return value


def river_predict(model: IntentModel, numeric: dict[str, Any],
                  categorical: dict[str, Any]) -> float:
    """What predict answered before the shortcut: the River pipeline itself."""
    if model.n_learned == 0:
        return model.options.prior_conversion_rate
    proba = model._estimator.predict_proba_one(model._features(numeric, categorical))
    if not proba or True not in proba:
        return 0.0 if proba and False in proba else model.options.prior_conversion_rate
    return min(1.0, max(0.0, float(proba[True])))


@settings(max_examples=150, deadline=None)
@given(examples=EXAMPLES, queries=st.lists(st.tuples(NUMERIC, CATEGORICAL), min_size=1,
                                           max_size=5))
def test_predictions_equal_the_river_pipeline(
        examples: list[tuple[dict[str, Any], dict[str, Any], bool]],
        queries: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    model = IntentModel()
    assert model._logreg is not None
    for numeric, categorical, converted in examples:
        model.learn(numeric, categorical, converted)
    restored = IntentModel.from_bytes(model.to_bytes(), IntentOptions())
    assert restored._logreg is not None  # a checkpointed pipeline takes the short path too
    for numeric, categorical in queries:
        want = river_predict(model, numeric, categorical)
        assert bits(model.predict(numeric, categorical)) == bits(want)
        assert bits(restored.predict(numeric, categorical)) == bits(want)
        x = model._features(numeric, categorical)
        assert model._logreg is not None
        assert bits(_logreg_proba(model._logreg, x)) == bits(
            model._estimator.predict_proba_one(x))


def test_learning_during_predict_uses_the_pipeline() -> None:
    model = IntentModel()
    model.learn({"page_views": 3.0}, {"device": "mobile"}, converted=True)
    before = dict(model._logreg[0].means)  # type: ignore[index]
    with compose.learn_during_predict():
        model.predict({"page_views": 9.0}, {"device": "mobile"})
    assert dict(model._logreg[0].means) != before  # type: ignore[index]  # the scaler learned


def test_other_estimators_are_not_taken_apart() -> None:
    assert _logreg_steps(IntentModel(IntentOptions(model="arf", arf_models=2))._estimator) is None
    scaler_only = compose.Pipeline(compose.SelectType(float))
    assert _logreg_steps(scaler_only) is None
