"""The decider's hot-path shortcuts give exactly what the plain computations give."""

from __future__ import annotations

import math
import uuid

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.decide import DECISION_NAMESPACE, decision_id_for
from pipeline.decide.bandit import BanditOptions, LinUCB
from pipeline.decide.featurize import Featurizer
from pipeline.decide.vocabulary import INTENT_CLASSES, PAGE_TYPES, SECTORS, SIGNAL_RULES

FEATURIZER = Featurizer()
NUMERIC_NAMES = [name for name, _cap in FEATURIZER.options.numeric_caps] + [
    f"signal_{rule}" for rule in SIGNAL_RULES] + ["unknown_feature"]
TEXTS = st.sampled_from([*SECTORS, *PAGE_TYPES, "desktop", "mobile", "ads", "other", "?", ""])
NUMBERS = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.integers(-5, 5000)


def reference_transform(featurizer: Featurizer, numeric: dict[str, float],
                        categorical: dict[str, str], signals: frozenset[str],
                        intent_probability: float, intent_class: str) -> np.ndarray:
    """The vector as the featurizer first computed it (tuple.index, f-string keys)."""
    options = featurizer.options
    x = np.zeros(featurizer.dimension, dtype=np.float64)
    x[0] = 1.0
    position = 1
    for name, cap in options.numeric_caps:
        value = float(numeric.get(name, 0.0))
        if math.isfinite(value) and value > 0.0:
            x[position] = math.log1p(min(value, cap)) / math.log1p(cap)
        position += 1
    for feature, full in options.categorical_vocabulary:
        vocabulary = tuple(v for v in full if v != "other")
        value_text = categorical.get(feature, "other")
        offset = vocabulary.index(value_text) if value_text in vocabulary else len(vocabulary)
        x[position + offset] = 1.0
        position += len(vocabulary) + 1
    probability = float(intent_probability)
    x[position] = min(1.0, max(0.0, probability)) if math.isfinite(probability) else 0.0
    position += 1
    if intent_class in options.intent_classes:
        x[position + options.intent_classes.index(intent_class)] = 1.0
    position += len(options.intent_classes)
    for offset, rule in enumerate(options.signals):
        if rule in signals or numeric.get(f"signal_{rule}", 0.0) > 0.0:
            x[position + offset] = 1.0
    return x


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_decision_ids_are_uuid5_of_the_trigger(trigger: str) -> None:
    try:
        expected = str(uuid.uuid5(DECISION_NAMESPACE, trigger))
    except UnicodeEncodeError:  # lone surrogates: both refuse them
        try:
            decision_id_for(trigger)
        except UnicodeEncodeError:
            return
        raise AssertionError("decision_id_for accepted what uuid5 refuses") from None
    assert decision_id_for(trigger) == expected


@settings(max_examples=300, deadline=None)
@given(
    numeric=st.dictionaries(st.sampled_from(NUMERIC_NAMES), NUMBERS, max_size=12),
    categorical=st.dictionaries(
        st.sampled_from(["sector", "device", "traffic_source", "page_type", "country"]), TEXTS),
    signals=st.frozensets(st.sampled_from([*SIGNAL_RULES, "other_rule"])),
    probability=st.floats(allow_nan=True, allow_infinity=True, width=64),
    intent_class=st.sampled_from([*INTENT_CLASSES, "nonsense"]),
)
def test_the_featurizer_builds_the_reference_vector(
        numeric: dict[str, float], categorical: dict[str, str], signals: frozenset[str],
        probability: float, intent_class: str) -> None:
    got = FEATURIZER.transform(numeric, categorical, signals, probability, intent_class)
    want = reference_transform(FEATURIZER, numeric, categorical, signals, probability,
                               intent_class)
    assert got.dtype == np.float64
    assert got.tobytes() == want.tobytes()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-3.0, 3.0), min_size=3, max_size=3),
       st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True))
def test_unseen_arms_score_the_prior_width(x: list[float], arms: list[str]) -> None:
    bandit = LinUCB(3)
    bandit.update([1.0, 0.0, 0.5], "a", 1.0)
    vector = np.asarray(x, dtype=np.float64)
    prior = bandit.options.alpha / math.sqrt(bandit.options.ridge) * float(
        np.sqrt(vector @ vector))
    scores = bandit.scores(x, arms)
    for action_id, score in zip(arms, scores, strict=True):
        if action_id != "a":
            assert score == prior


@settings(max_examples=500, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e150,
                          max_value=1e150), min_size=61, max_size=61),
       st.integers(0, 60))
def test_the_context_norm_is_the_matmul_product_bit_for_bit(values: list[float],
                                                            zeros: int) -> None:
    vector = np.asarray(values[zeros:] + [0.0] * zeros, dtype=np.float64)
    _vector, norm2 = LinUCB(61)._checked(vector)
    assert np.float64(norm2).tobytes() == np.float64(vector @ vector).tobytes()


def reference_distribution(bandit: LinUCB, x: list[float],
                           action_ids: list[str]) -> list[tuple[str, float, float]]:
    """The policy's distribution as first written (one list per step)."""
    scores = bandit.scores(x, action_ids)
    n, epsilon = len(action_ids), bandit.epsilon_for(action_ids)
    top = max(scores)
    if bandit.options.exploration == "softmax":
        weights = [math.exp((s - top) / bandit.options.temperature) for s in scores]
        exploit = [w / sum(weights) for w in weights]
    else:
        tolerance = 1e-9 * max(1.0, abs(top))
        leaders = [s >= top - tolerance for s in scores]
        share = 1.0 / sum(leaders)
        exploit = [share if lead else 0.0 for lead in leaders]
    probabilities = [(1.0 - epsilon) * p + epsilon / n for p in exploit]
    total = math.fsum(probabilities)
    return [(a, p / total, s) for a, p, s in zip(action_ids, probabilities, scores, strict=True)]


@settings(max_examples=300, deadline=None)
@given(x=st.lists(st.floats(-3.0, 3.0), min_size=3, max_size=3),
       arms=st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=5,
                     unique=True),
       learned=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.floats(-1.0, 2.0),
                                  st.lists(st.sampled_from([0.0, 1.0, 0.5]), min_size=3,
                                           max_size=3)), max_size=12),
       softmax=st.booleans())
def test_the_distribution_is_the_reference_bit_for_bit(
        x: list[float], arms: list[str], learned: list[tuple[str, float, list[float]]],
        softmax: bool) -> None:
    bandit = LinUCB(3, BanditOptions(exploration="softmax" if softmax else "epsilon_greedy"))
    for action_id, reward, context in learned:
        bandit.update(context, action_id, reward)
    got = [(a.action_id, a.probability, a.score) for a in bandit.distribution(x, arms)]
    assert got == reference_distribution(bandit, x, arms)


class _Float(float):
    """A float subclass (numpy's float64 is one): float() turns it into a plain float."""


_LOGGED_VALUES = (st.floats(allow_nan=True, allow_infinity=True) | st.integers(-3, 3)
                  | st.booleans() | st.builds(_Float, st.floats(allow_nan=False)))


@settings(max_examples=300, deadline=None)
@given(numeric=st.dictionaries(st.text(max_size=4), _LOGGED_VALUES, max_size=8),
       categorical=st.dictionaries(st.text(max_size=4),
                                   st.text(max_size=4) | st.integers() | st.none(), max_size=8))
def test_the_logged_features_are_the_converted_copies(numeric: dict[str, object],
                                                      categorical: dict[str, object]) -> None:
    from pipeline.decide.decider import _floats, _texts

    expected = {k: float(v) for k, v in numeric.items()}  # type: ignore[arg-type]
    logged = _floats(numeric)  # type: ignore[arg-type]
    assert list(logged) == list(expected) and logged is not numeric
    for key, value in logged.items():  # the same values and exact types (NaN: itself)
        assert type(value) is float and (value == expected[key] or value != value)
    texts = _texts(categorical)  # type: ignore[arg-type]
    assert texts == {k: str(v) for k, v in categorical.items()} and texts is not categorical
    assert all(type(v) is str for v in texts.values())
