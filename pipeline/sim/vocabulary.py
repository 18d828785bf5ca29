"""The fixed names of the simulated world: intents, struggles, actions, conversions.

Action ids are those of the decider's catalog (``deploy/catalog/actions.yaml``);
an id not listed here is answered with the baseline response.

>>> LATENT_INTENTS
('browsing', 'researching', 'high_intent')
>>> len(ACTION_IDS), NO_ACTION in ACTION_IDS
(11, True)
>>> CONVERSION_KINDS["travel"]
'booking'
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = [
    "ACTION_IDS",
    "ACTION_SECTORS",
    "CONVERSION_KINDS",
    "LATENT_INTENTS",
    "NO_ACTION",
    "SECTORS",
    "STRUGGLES",
    "STRUGGLE_SIGNALS",
    "WORLDS",
]

SECTORS: tuple[str, ...] = ("ecommerce", "saas", "travel", "finance")
"""Sites of the seed (``ClickEvent.context.sector``)."""

LATENT_INTENTS: tuple[str, ...] = ("browsing", "researching", "high_intent")
"""A visitor's hidden intent, drawn once per visit; it shapes behaviour and the baseline."""

STRUGGLES: tuple[str, ...] = (
    "delivery_doubt",
    "comparison",
    "feature_circling",
    "search_refresh",
    "calculator_fiddling",
)
"""The seed's friction stories, one per struggling persona."""

STRUGGLE_SIGNALS: MappingProxyType[str, str] = MappingProxyType({
    "delivery_doubt": "hesitation",
    "comparison": "pogo_sticking",
    "feature_circling": "hesitation",
    "search_refresh": "search_refresh_loop",
    "calculator_fiddling": "calculator_fiddling",
})
"""The rtp struggle rule that should notice each struggle (feature circling shows as
repeated feature views and long feature dwell; the rule is the closest one)."""

NO_ACTION = "no_action"
"""The explicit do-nothing arm: nothing is rendered, the visitor keeps the baseline."""

ACTION_IDS: tuple[str, ...] = (
    "free_express_shipping",
    "comparison_guide",
    "reorder_grid_by_interest",
    "hero_by_traffic_source",
    "cta_change",
    "walkthrough_video_nudge",
    "rooms_left_cue",
    "reorder_by_availability",
    "one_click_eligibility_check",
    "first_time_buyer_discount",
    NO_ACTION,
)
"""Every action the decider may choose (the oracle's candidates by default)."""

ACTION_SECTORS: MappingProxyType[str, frozenset[str]] = MappingProxyType({
    "free_express_shipping": frozenset({"ecommerce"}),
    "comparison_guide": frozenset({"ecommerce", "saas", "travel"}),
    "reorder_grid_by_interest": frozenset({"ecommerce"}),
    "hero_by_traffic_source": frozenset(SECTORS),
    "cta_change": frozenset(SECTORS),
    "walkthrough_video_nudge": frozenset({"saas"}),
    "rooms_left_cue": frozenset({"travel"}),
    "reorder_by_availability": frozenset({"travel"}),
    "one_click_eligibility_check": frozenset({"finance"}),
    "first_time_buyer_discount": frozenset({"ecommerce", "travel"}),
    NO_ACTION: frozenset(SECTORS),
})
"""Sectors where the catalog lets each action run (the oracle's default candidates)."""

WORLDS: tuple[str, ...] = ("classic", "contextual")
"""Response models (``SimulatorOptions.world``): ``classic``, by sector, struggle and
intent; ``contextual``, where the best action also depends on the visitor's device and
traffic source (:mod:`pipeline.sim.contextual`)."""

CONVERSION_KINDS: MappingProxyType[str, str] = MappingProxyType({
    "ecommerce": "purchase",
    "saas": "signup",
    "travel": "booking",
    "finance": "application",
})
"""``purchase.kind`` of each sector's conversion."""
