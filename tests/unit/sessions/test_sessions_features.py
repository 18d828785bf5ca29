"""Session features: the contract's keys, dwell attribution, counts, profile join, signals."""

from __future__ import annotations

from pipeline.profiles import ProfileState, ProfileView
from pipeline.sessions import (
    CATEGORICAL_FEATURES,
    NUMERIC_FEATURES,
    SessionFeatures,
    Sessionizer,
    SessionOptions,
)
from pipeline.signals import SignalEngine

BASE_MS = 1_700_000_000_000  # 2023-11-14 23:13:20 in Amsterdam

CONTRACT_NUMERIC = {
    "page_views", "product_views", "distinct_categories", "max_views_same_product",
    "dwell_product_s", "dwell_pricing_s", "dwell_shipping_returns_s", "dwell_checkout_s",
    "dwell_eligibility_s", "dwell_feature_s", "dwell_calculator_s", "dwell_other_s",
    "max_scroll_pct", "clicks", "searches", "cart_adds", "cart_value", "form_errors",
    "calculator_changes", "session_age_s", "since_last_event_s", "returning", "past_purchases",
    "converted", "signal_count", "signal_rage_click", "signal_dead_click",
    "signal_pogo_sticking", "signal_hesitation", "signal_form_struggle",
    "signal_calculator_fiddling", "signal_search_refresh_loop",
}
CONTRACT_CATEGORICAL = {
    "sector", "traffic_source", "device", "country", "landing_page_type", "page_type",
    "category", "product_id", "loyalty_tier", "preferred_category", "industry", "plan",
}


def _state(events, profile=None, sessionizer=None):
    sessionizer = sessionizer or Sessionizer()
    state = None
    for ev in events:
        state = sessionizer.apply(state, ev, profile).state
    return state


def test_feature_keys_are_exactly_the_contract(make_event):
    features = _state([make_event(at=0)]).features(BASE_MS)
    assert set(features.numeric) == CONTRACT_NUMERIC == set(NUMERIC_FEATURES)
    assert set(features.categorical) == CONTRACT_CATEGORICAL == set(CATEGORICAL_FEATURES)
    assert all(isinstance(v, float) for v in features.numeric.values())
    empty = SessionFeatures.empty()
    assert set(empty.numeric) == CONTRACT_NUMERIC


def test_dwell_is_attributed_to_the_previous_page_type(make_event):
    events = [
        make_event(at=0, page_type="product", product_id="A"),
        make_event("scroll", 10_000, page_type="product", scroll=40.0),
        make_event(at=25_000, page_type="shipping_returns"),
        make_event(at=70_000, page_type="pricing"),
        make_event(at=75_000, page_type="home"),
        make_event(at=80_000, page_type="checkout"),
    ]
    n = _state(events).features(BASE_MS + 80_000).numeric
    assert n["dwell_product_s"] == 25.0
    assert n["dwell_shipping_returns_s"] == 45.0
    assert n["dwell_pricing_s"] == 5.0
    assert n["dwell_other_s"] == 5.0  # home
    assert n["dwell_checkout_s"] == 0.0  # still on it: counted when the next event arrives


def test_one_dwell_interval_is_capped_at_the_inactivity_gap(make_event):
    events = [make_event(at=0, page_type="pricing"),
              make_event(at=29 * 60_000, page_type="home")]
    n = _state(events).features(BASE_MS).numeric
    assert n["dwell_pricing_s"] == 29 * 60.0
    small = Sessionizer(SessionOptions(inactivity_gap_ms=600_000, allowed_lateness_ms=1_000,
                                       split_at_local_midnight=False))
    capped = _state([make_event(at=0, page_type="pricing"), make_event(at=599_999)], None, small)
    assert capped.features(BASE_MS).numeric["dwell_pricing_s"] == 599.999


def test_counts_and_current_page(make_event):
    events = [
        make_event(at=0, page_type="listing", category="audio"),
        make_event(at=1_000, page_type="product", category="audio", product_id="A"),
        make_event(at=2_000, page_type="product", category="tv", product_id="B"),
        make_event(at=3_000, page_type="product", category="audio", product_id="A"),
        make_event("scroll", 4_000, page_type="product", category="audio", product_id="A",
                   scroll=80.0),
        make_event("click", 5_000, page_type="product", click=(1, 1, True), category="audio",
                   product_id="A"),
        make_event("search", 6_000, page_type="product", query="tv", category="audio",
                   product_id="A"),
        make_event("add_to_cart", 7_000, page_type="product", cart_value=19.5, category="audio",
                   product_id="A"),
        make_event("add_to_cart", 8_000, page_type="product", cart_value=0.5, category="audio",
                   product_id="A"),
        make_event("form_error", 9_000, page_type="product", form_id="f", category="audio",
                   product_id="A"),
        make_event("custom", 10_000, page_type="product", custom="calculator_change",
                   category="audio", product_id="A"),
    ]
    f = _state(events).features(BASE_MS + 70_000)
    n, c = f.numeric, f.categorical
    assert (n["page_views"], n["product_views"], n["distinct_categories"]) == (4.0, 3.0, 2.0)
    assert n["max_views_same_product"] == 2.0
    assert (n["clicks"], n["searches"], n["cart_adds"], n["cart_value"]) == (1.0, 1.0, 2.0, 20.0)
    assert (n["form_errors"], n["calculator_changes"], n["max_scroll_pct"]) == (1.0, 1.0, 80.0)
    assert (n["session_age_s"], n["since_last_event_s"]) == (70.0, 60.0)
    assert (c["page_type"], c["category"], c["product_id"]) == ("product", "audio", "A")
    assert c["landing_page_type"] == "listing"


def test_scroll_depth_is_per_page(make_event):
    events = [make_event(at=0), make_event("scroll", 1_000, scroll=90.0),
              make_event(at=2_000, page_type="pricing")]
    assert _state(events).features(BASE_MS).numeric["max_scroll_pct"] == 0.0


def test_categorical_context_and_defaults(make_event):
    ev = make_event(at=0, device="mobile", traffic_source="ads", sector="saas", country=None,
                    industry="retail")
    c = _state([ev]).features(BASE_MS).categorical
    assert c == {
        "sector": "saas", "traffic_source": "ads", "device": "mobile", "country": "unknown",
        "landing_page_type": "home", "page_type": "home", "category": "none",
        "product_id": "none", "loyalty_tier": "unknown", "preferred_category": "unknown",
        "industry": "retail", "plan": "unknown",
    }


def test_unknown_page_types_become_other(make_event):
    ev = make_event(at=0, page_type="blog")
    assert _state([ev]).features(BASE_MS).categorical["page_type"] == "other"


def test_profile_is_joined_when_personalization_is_allowed(make_event):
    profile = ProfileView(returning=True, loyalty_tier="gold", past_purchases=4,
                          preferred_category="audio", industry="finance")
    f = _state([make_event(at=0)], profile).features(BASE_MS)
    assert (f.numeric["returning"], f.numeric["past_purchases"]) == (1.0, 4.0)
    assert (f.categorical["loyalty_tier"], f.categorical["preferred_category"],
            f.categorical["industry"]) == ("gold", "audio", "finance")


def test_opted_out_profile_is_not_joined(make_event):
    opted_out = ProfileState(key="v1", loyalty_tier="gold", past_purchases=3,
                             consent_personalization=False).view()
    joined = ProfileView(loyalty_tier="gold", past_purchases=3)
    sessionizer = Sessionizer()
    state = sessionizer.apply(None, make_event(at=0), joined).state
    state = sessionizer.apply(state, make_event(at=1_000), opted_out).state
    f = state.features(BASE_MS)
    assert f.categorical["loyalty_tier"] == "unknown" and f.numeric["past_purchases"] == 0.0


def test_a_second_session_is_returning(make_event):
    state = _state([make_event(at=0), make_event(at=31 * 60_000)])
    assert state.features(BASE_MS + 31 * 60_000).numeric["returning"] == 1.0
    assert _state([make_event(at=0)]).features(BASE_MS).numeric["returning"] == 0.0


def test_conversion_and_signal_flags(make_event):
    sessionizer, engine = Sessionizer(), SignalEngine()
    state = None
    events = [make_event("click", i * 100, click=(5, 5, True)) for i in range(3)]
    events.append(make_event("purchase", 1_000, purchase_value=10.0, event_id="p1"))
    for ev in events:
        state = sessionizer.apply(state, ev).state
        engine.observe(state.signals, ev, state.session_id, "v1")
    n = state.features(BASE_MS + 1_000).numeric
    assert n["converted"] == 1.0
    assert (n["signal_count"], n["signal_rage_click"], n["signal_dead_click"]) == (1.0, 1.0, 0.0)
