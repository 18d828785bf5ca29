"""The when-block language: properties against an independent reference evaluator."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.decide import CatalogError, Condition, ConditionView, parse_catalog
from pipeline.decide.vocabulary import INTENT_CLASSES, PAGE_TYPES, SECTORS, SIGNAL_RULES

NUMERIC = ("page_views", "product_views", "max_views_same_product", "cart_value", "searches")
CATEGORICAL = {"sector": SECTORS, "device": ("desktop", "mobile"), "industry": ("retail", "bank")}

_small = st.integers(0, 6).map(float)
_signal_sets = st.lists(st.sampled_from(SIGNAL_RULES), max_size=3, unique=True)


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    clauses: dict[str, st.SearchStrategy[Any]] = {
        "signals_any": _signal_sets.filter(bool),
        "signals_all": _signal_sets,
        "signals_none": _signal_sets,
        "page_types": st.lists(st.sampled_from(PAGE_TYPES), min_size=1, max_size=3, unique=True),
        "intent_classes": st.lists(
            st.sampled_from(INTENT_CLASSES), min_size=1, max_size=2, unique=True
        ),
        "min_intent": st.sampled_from([0.0, 0.2, 0.5, 0.8]),
        "max_intent": st.sampled_from([0.2, 0.5, 1.0]),
        "min_product_views": _small,
        "at_least": st.dictionaries(st.sampled_from(NUMERIC), _small, min_size=1, max_size=2),
        "at_most": st.dictionaries(st.sampled_from(NUMERIC), _small, min_size=1, max_size=2),
        "equals": st.dictionaries(
            st.sampled_from(sorted(CATEGORICAL)),
            st.sampled_from(["retail", "saas", "mobile", "travel"])
            | st.lists(
                st.sampled_from(["retail", "bank", "desktop", "ecommerce"]),
                min_size=1,
                max_size=2,
                unique=True,
            ),
            min_size=1,
            max_size=2,
        ),
    }
    return st.fixed_dictionaries({}, optional=clauses).filter(
        lambda d: d.get("min_intent", 0.0) <= d.get("max_intent", 1.0)
    )


_when = st.recursive(
    _leaf(),
    lambda inner: st.builds(
        lambda base, subs: {**base, "any_of": subs},
        _leaf(),
        st.lists(inner, min_size=1, max_size=3),
    ),
    max_leaves=4,
)


@st.composite
def _views(draw: st.DrawFn) -> ConditionView:
    numeric = draw(st.dictionaries(st.sampled_from(NUMERIC), _small, max_size=len(NUMERIC)))
    for rule in draw(_signal_sets):
        numeric[f"signal_{rule}"] = 1.0
    categorical = {
        name: draw(st.sampled_from(values))
        for name, values in CATEGORICAL.items()
        if draw(st.booleans())
    }
    categorical["page_type"] = draw(st.sampled_from(PAGE_TYPES))
    return ConditionView(
        numeric=numeric,
        categorical=categorical,
        active_signals=frozenset(draw(_signal_sets)),
        intent_probability=draw(st.sampled_from([0.0, 0.1, 0.2, 0.5, 0.8, 1.0])),
        intent_class=draw(st.sampled_from(INTENT_CLASSES)),
    )


def _reference(when: dict[str, Any], view: ConditionView) -> bool:
    """A deliberately naive, clause-by-clause reading of the documented semantics."""
    signals = set(view.active_signals) | {
        rule for rule in SIGNAL_RULES if view.numeric.get(f"signal_{rule}", 0.0) > 0
    }
    results = []
    for key, value in when.items():
        if key == "signals_any":
            results.append(any(s in signals for s in value))
        elif key == "signals_all":
            results.append(all(s in signals for s in value))
        elif key == "signals_none":
            results.append(not any(s in signals for s in value))
        elif key == "page_types":
            results.append(view.categorical.get("page_type") in value)
        elif key == "intent_classes":
            results.append(view.intent_class in value)
        elif key == "min_intent":
            results.append(view.intent_probability >= value)
        elif key == "max_intent":
            results.append(view.intent_probability <= value)
        elif key == "min_product_views":
            results.append(view.numeric.get("product_views", 0.0) >= value)
        elif key == "at_least":
            results.append(all(view.numeric.get(k, 0.0) >= v for k, v in value.items()))
        elif key == "at_most":
            results.append(all(view.numeric.get(k, 0.0) <= v for k, v in value.items()))
        elif key == "equals":
            results.append(
                all(
                    view.categorical.get(k, "unknown") in ([v] if isinstance(v, str) else v)
                    for k, v in value.items()
                )
            )
        elif key == "any_of":
            results.append(any(_reference(sub, view) for sub in value))
    return all(results)


@settings(max_examples=100, deadline=None)
@given(when=_when, view=_views())
def test_evaluator_agrees_with_the_reference(when: dict[str, Any], view: ConditionView) -> None:
    assert Condition.from_mapping(when).matches(view) == _reference(when, view)


@settings(max_examples=100, deadline=None)
@given(when=_when, view=_views())
def test_a_block_is_the_conjunction_of_its_clauses(
    when: dict[str, Any], view: ConditionView
) -> None:
    whole = Condition.from_mapping(when).matches(view)
    parts = [Condition.from_mapping({key: value}).matches(view) for key, value in when.items()]
    assert whole == all(parts)


@settings(max_examples=100, deadline=None)
@given(when=_when)
def test_mapping_round_trip(when: dict[str, Any]) -> None:
    condition = Condition.from_mapping(when)
    assert Condition.from_mapping(condition.to_mapping()) == condition


@settings(max_examples=40, deadline=None)
@given(when=_when, view=_views())
def test_yaml_round_trip_through_a_catalog(when: dict[str, Any], view: ConditionView) -> None:
    document = {
        "version": 1,
        "actions": [
            {"id": "no_action", "slot": "none"},
            {"id": "a", "slot": "hero", "ttl_seconds": 60, "when": when},
        ],
    }
    catalog = parse_catalog(yaml.safe_dump(document), "generated.yaml")
    assert catalog["a"].when == Condition.from_mapping(when)
    assert catalog["a"].applies_to(view) == _reference(when, view)


@settings(max_examples=60, deadline=None)
@given(view=_views())
def test_empty_block_always_holds(view: ConditionView) -> None:
    assert Condition.from_mapping({}).matches(view)
    assert Condition.from_mapping(None).matches(view)
    assert Condition().is_empty


@settings(max_examples=60, deadline=None)
@given(bound=_small, value=_small, more=st.integers(0, 5).map(float))
def test_at_least_is_monotone(bound: float, value: float, more: float) -> None:
    condition = Condition.from_mapping({"at_least": {"cart_value": bound}})
    if condition.matches(ConditionView({"cart_value": value}, {})):
        assert condition.matches(ConditionView({"cart_value": value + more}, {}))


@pytest.mark.parametrize(
    "when",
    [
        {"signals_any": "hesitation"},
        {"at_least": {"page_views": "3"}},
        {"at_least": {"page_views": float("nan")}},
        {"equals": {"sector": []}},
        {"equals": {"sector": 3}},
        {"any_of": []},
        {"any_of": {"page_types": ["home"]}},
        {"min_intent": 0.8, "max_intent": 0.2},
        {"min_product_views": -1},
        {"nonsense": 1},
    ],
)
def test_invalid_blocks_are_refused(when: dict[str, Any]) -> None:
    with pytest.raises(CatalogError):
        Condition.from_mapping(when, "x.yaml", 3)


def test_signals_come_from_session_flags_and_active_signals() -> None:
    condition = Condition.from_mapping({"signals_all": ["hesitation", "pogo_sticking"]})
    assert condition.matches(
        ConditionView({"signal_hesitation": 1.0}, {}, active_signals={"pogo_sticking"})
    )
    assert not condition.matches(ConditionView({"signal_hesitation": 1.0}, {}))
