"""SessionState.features (one tuple zipped with the names) gives, key for key and in order,
what the item-by-item version gave."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.sessions import SessionState
from pipeline.sessions.pages import DWELL_BUCKETS
from pipeline.signals import STRUGGLE_RULES, SignalState

COUNT = st.integers(0, 10_000)
MONEY = st.floats(0.0, 1e9, allow_nan=False)


def reference_numeric(state: SessionState, now_ms: int) -> dict[str, float]:
    """The numeric features as SessionState.features built them, item by item."""
    numeric: dict[str, float] = {
        "page_views": float(state.page_views),
        "product_views": float(state.product_views),
        "distinct_categories": float(len(state.category_hashes)),
        "max_views_same_product": float(state.max_views_same_product),
    }
    for bucket, dwell in zip(DWELL_BUCKETS, state.dwell_ms, strict=True):
        numeric[f"dwell_{bucket}_s"] = dwell / 1000.0
    numeric["max_scroll_pct"] = state.max_scroll_pct
    numeric["clicks"] = float(state.clicks)
    numeric["searches"] = float(state.searches)
    numeric["cart_adds"] = float(state.cart_adds)
    numeric["cart_value"] = state.cart_value
    numeric["form_errors"] = float(state.form_errors)
    numeric["calculator_changes"] = float(state.calculator_changes)
    numeric["session_age_s"] = max(0, now_ms - state.started_ms) / 1000.0
    numeric["since_last_event_s"] = max(0, now_ms - state.last_ms) / 1000.0
    numeric["returning"] = 1.0 if state.profile_returning or state.sessions_before > 0 else 0.0
    numeric["past_purchases"] = float(state.past_purchases)
    numeric["converted"] = 1.0 if state.converted else 0.0
    numeric["signal_count"] = float(state.signals.signal_count)
    for rule in STRUGGLE_RULES:
        numeric[f"signal_{rule}"] = 1.0 if rule in state.signals.fired else 0.0
    return numeric


@st.composite
def states(draw: st.DrawFn) -> SessionState:
    started = draw(st.integers(0, 10**13))
    fired = draw(st.dictionaries(st.sampled_from(STRUGGLE_RULES),
                                 st.tuples(st.integers(0, 10**6), st.integers(1, 5))))
    fields: dict[str, Any] = {
        name: draw(COUNT) for name in (
            "page_views", "product_views", "max_views_same_product", "clicks", "searches",
            "cart_adds", "form_errors", "calculator_changes", "past_purchases",
            "sessions_before")}
    return SessionState(
        visitor_id="v", first_event_ms=started, started_ms=started,
        last_ms=started + draw(st.integers(0, 10**7)),
        dwell_ms=draw(st.lists(COUNT, min_size=len(DWELL_BUCKETS), max_size=len(DWELL_BUCKETS))),
        category_hashes=draw(st.lists(COUNT, max_size=16)),
        max_scroll_pct=draw(st.floats(0.0, 100.0)), cart_value=draw(MONEY),
        converted=draw(st.booleans()), profile_returning=draw(st.booleans()),
        signals=SignalState(fired=fired), **fields)


@settings(max_examples=300, deadline=None)
@given(state=states(), ahead=st.integers(-10**7, 10**8))
def test_numeric_features_equal_the_item_by_item_reference(state: SessionState,
                                                           ahead: int) -> None:
    now = state.last_ms + ahead
    got = state.features(now).numeric
    want = reference_numeric(state, now)
    assert list(got.items()) == list(want.items())  # same keys, order and values
    assert all(type(got[key]) is type(want[key]) for key in want)


def test_a_dwell_list_of_another_length_is_refused() -> None:
    state = SessionState(visitor_id="v", first_event_ms=0, started_ms=0, last_ms=0,
                         dwell_ms=[0] * (len(DWELL_BUCKETS) - 1))
    with pytest.raises(ValueError):
        state.features(0)
