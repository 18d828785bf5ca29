"""The fixed names decisions are made from: sectors, page types, slots, signals, features.

They mirror the Avro contracts and the session-feature contract; the catalog is validated
against them so a typo in YAML fails at load time, with its line, not silently at run time.

>>> "shipping_returns" in PAGE_TYPES and "overlay" in SLOTS
True
>>> NO_ACTION_ID
'no_action'
"""

from __future__ import annotations

from pipeline.intent.options import INTENT_CLASSES

__all__ = [
    "CATEGORICAL_FEATURES",
    "EVENT_TYPES",
    "INTENT_CLASSES",
    "NO_ACTION_ID",
    "NUMERIC_FEATURES",
    "PAGE_TYPES",
    "SECTORS",
    "SIGNAL_RULES",
    "SLOTS",
]

NO_ACTION_ID = "no_action"
"""The explicit "do nothing" arm: always eligible, logged, never sent."""

SECTORS: tuple[str, ...] = ("ecommerce", "saas", "travel", "finance")
"""Sites the events come from (ClickEvent.context.sector)."""

PAGE_TYPES: tuple[str, ...] = (
    "home",
    "listing",
    "search",
    "product",
    "pricing",
    "shipping_returns",
    "checkout",
    "eligibility",
    "calculator",
    "feature",
    "signup",
    "other",
)
"""ClickEvent.page.page_type values."""

SLOTS: tuple[str, ...] = ("hero", "overlay", "grid", "cta", "inline", "none")
"""Where on the page an action renders (Decision.slot); ``none`` is for ``no_action``."""

SIGNAL_RULES: tuple[str, ...] = (
    "rage_click",
    "dead_click",
    "pogo_sticking",
    "hesitation",
    "form_struggle",
    "calculator_fiddling",
    "search_refresh_loop",
)
"""StruggleSignal.rule values."""

EVENT_TYPES: tuple[str, ...] = (
    "page_view",
    "click",
    "scroll",
    "mouse_move",
    "search",
    "add_to_cart",
    "purchase",
    "form_error",
    "form_submit",
    "custom",
)
"""ClickEvent.event_type values."""

NUMERIC_FEATURES: tuple[str, ...] = (
    "page_views",
    "product_views",
    "distinct_categories",
    "max_views_same_product",
    "dwell_product_s",
    "dwell_pricing_s",
    "dwell_shipping_returns_s",
    "dwell_checkout_s",
    "dwell_eligibility_s",
    "dwell_feature_s",
    "dwell_calculator_s",
    "dwell_other_s",
    "max_scroll_pct",
    "clicks",
    "searches",
    "cart_adds",
    "cart_value",
    "form_errors",
    "calculator_changes",
    "session_age_s",
    "since_last_event_s",
    "returning",
    "past_purchases",
    "converted",
    "signal_count",
    *(f"signal_{rule}" for rule in SIGNAL_RULES),
)
"""Session numeric features (always present in ``SessionFeatures.numeric``)."""

CATEGORICAL_FEATURES: tuple[str, ...] = (
    "sector",
    "traffic_source",
    "device",
    "country",
    "landing_page_type",
    "page_type",
    "category",
    "product_id",
    "loyalty_tier",
    "preferred_category",
    "industry",
)
"""Session categorical features (always present in ``SessionFeatures.categorical``)."""
