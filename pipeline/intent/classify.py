"""Name a visitor's intent from the model's probability and the session's numbers.

The rules, first match wins (cut-offs from :class:`IntentCutoffs`):

1. ``high_intent``: probability >= ``high_intent`` (0.5).
2. ``at_risk``: a struggle signal fired this session (any ``signal_*`` flag) and either the
   probability is in [``researching``, ``high_intent``) or there is something in the cart
   (``cart_value`` > 0): an interested visitor who is stuck.
3. ``researching``: probability >= ``researching`` (0.15), or ``product_views`` >=
   ``research_product_views`` (3), or ``dwell_pricing_s + dwell_shipping_returns_s`` >=
   ``research_dwell_s`` (30 s).
4. ``browsing``: everything else.

>>> [intent_class(p, {"signal_rage_click": 1.0}) for p in (0.05, 0.2, 0.6)]
['browsing', 'at_risk', 'high_intent']
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.intent.options import IntentCutoffs

__all__ = ["STRUGGLE_FLAGS", "intent_class", "is_struggling"]

STRUGGLE_FLAGS: tuple[str, ...] = (
    "signal_rage_click",
    "signal_dead_click",
    "signal_pogo_sticking",
    "signal_hesitation",
    "signal_form_struggle",
    "signal_calculator_fiddling",
    "signal_search_refresh_loop",
)
"""The session-feature flags (0/1) of the struggle rules.

>>> len(STRUGGLE_FLAGS)
7
"""

_DEFAULT_CUTOFFS = IntentCutoffs()


def is_struggling(numeric: Mapping[str, float]) -> bool:
    """Whether any struggle rule fired in this session.

    >>> is_struggling({"signal_hesitation": 1.0})
    True
    >>> is_struggling({"signal_hesitation": 0.0, "page_views": 4.0})
    False
    """
    return any(numeric.get(flag, 0.0) > 0.0 for flag in STRUGGLE_FLAGS)


def intent_class(
    probability: float, numeric: Mapping[str, float], cutoffs: IntentCutoffs = _DEFAULT_CUTOFFS
) -> str:
    """The intent class of a visitor (see the module docstring for the rules).

    >>> intent_class(0.7, {})
    'high_intent'
    >>> intent_class(0.3, {"signal_pogo_sticking": 1.0})
    'at_risk'
    >>> intent_class(0.05, {"signal_hesitation": 1.0, "cart_value": 59.0})
    'at_risk'
    >>> intent_class(0.05, {"product_views": 3.0})
    'researching'
    >>> intent_class(0.05, {"dwell_shipping_returns_s": 40.0})
    'researching'
    >>> intent_class(0.05, {"page_views": 2.0})
    'browsing'
    """
    if probability >= cutoffs.high_intent:
        return "high_intent"
    # The cheap test first: most visitors have neither, and then the flags need no scan.
    if (
        probability >= cutoffs.researching or numeric.get("cart_value", 0.0) > 0.0
    ) and is_struggling(numeric):
        return "at_risk"
    dwell = numeric.get("dwell_pricing_s", 0.0) + numeric.get("dwell_shipping_returns_s", 0.0)
    if (
        probability >= cutoffs.researching
        or numeric.get("product_views", 0.0) >= cutoffs.research_product_views
        or dwell >= cutoffs.research_dwell_s
    ):
        return "researching"
    return "browsing"
