"""The session features handed to intent models and decisions (the shared contract).

>>> f = SessionFeatures.empty()
>>> set(f.numeric) == set(NUMERIC_FEATURES), f.categorical["page_type"]
(True, 'unknown')
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.sessions.pages import DWELL_BUCKETS
from pipeline.signals import STRUGGLE_RULES

__all__ = ["CATEGORICAL_FEATURES", "NUMERIC_FEATURES", "SessionFeatures"]

#: Numeric feature keys, always present (0.0 when unknown).
NUMERIC_FEATURES: tuple[str, ...] = (
    "page_views",
    "product_views",
    "distinct_categories",
    "max_views_same_product",
    *(f"dwell_{bucket}_s" for bucket in DWELL_BUCKETS),
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
    *(f"signal_{rule}" for rule in STRUGGLE_RULES),
)

#: Categorical feature keys, always present ("unknown" when unknown).
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
    "plan",
)


@dataclass(frozen=True, slots=True)
class SessionFeatures:
    """Numeric and categorical features of a session at one moment.

    ``numeric`` has exactly :data:`NUMERIC_FEATURES`, ``categorical`` exactly
    :data:`CATEGORICAL_FEATURES` (``category``/``product_id`` are ``"none"``
    when the current page has none).

    >>> SessionFeatures({"clicks": 2.0}, {"device": "mobile"}).numeric["clicks"]
    2.0
    """

    numeric: dict[str, float]
    categorical: dict[str, str]

    @classmethod
    def empty(cls) -> SessionFeatures:
        """Every key at its "unknown" value (for visitors with no session).

        >>> SessionFeatures.empty().numeric["page_views"]
        0.0
        """
        return cls(
            numeric=dict.fromkeys(NUMERIC_FEATURES, 0.0),
            categorical=dict.fromkeys(CATEGORICAL_FEATURES, "unknown"),
        )
