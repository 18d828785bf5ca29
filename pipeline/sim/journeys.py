"""Which script each persona follows, and how each sector's session closes.

>>> import random
>>> from pipeline.sim.options import SimulatorOptions
>>> from pipeline.sim.visitor import draw_visitor
>>> v = draw_visitor(random.Random(0), "v", "comparison_shopper")
>>> tl = begin_journey(v, 1_700_000_000_000, random.Random(0), SimulatorOptions())
>>> events = tl.drain()
>>> events[0]["event_type"], tl.struggle_at is not None, tl.now > events[-1]["event_time"]
('page_view', True, True)
>>> close_session(tl, converts=True)["event_type"]
'purchase'
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from pipeline.sim.finance_journeys import close_finance_session, finance_browser, mortgage_fiddler
from pipeline.sim.options import SimulatorOptions
from pipeline.sim.saas_journeys import close_saas_session, feature_circler, saas_browser
from pipeline.sim.shop_journeys import (
    close_shop_session,
    comparison_shopper,
    hesitant_headphones_shopper,
    shop_browser,
)
from pipeline.sim.timeline import Timeline
from pipeline.sim.travel_journeys import close_travel_session, hotel_refresher, travel_browser
from pipeline.sim.visitor import VisitorProfile

__all__ = ["CLOSERS", "SCRIPTS", "begin_journey", "close_session"]

Script = Callable[[Timeline, int], None]
Closer = Callable[[Timeline, bool], "dict[str, Any] | None"]

SCRIPTS: Mapping[str, Script] = MappingProxyType({
    "hesitant_headphones_shopper": hesitant_headphones_shopper,
    "comparison_shopper": comparison_shopper,
    "shop_browser": shop_browser,
    "feature_circler": feature_circler,
    "saas_browser": saas_browser,
    "hotel_refresher": hotel_refresher,
    "travel_browser": travel_browser,
    "mortgage_fiddler": mortgage_fiddler,
    "finance_browser": finance_browser,
})
"""Journey script of each persona: ``script(timeline, browsing_pages)``."""

CLOSERS: Mapping[str, Closer] = MappingProxyType({
    "ecommerce": close_shop_session,
    "saas": close_saas_session,
    "travel": close_travel_session,
    "finance": close_finance_session,
})
"""How a session ends in each sector: ``closer(timeline, converts) -> purchase event or None``."""


def begin_journey(visitor: VisitorProfile, start_ms: int, rng: random.Random,
                  options: SimulatorOptions) -> Timeline:
    """Write the visitor's whole planned journey (up to the conversion point) on a timeline.

    The session length is drawn from ``options.session_pages`` first, then the
    persona's script runs; the timeline's ``now`` is the conversion point.

    >>> from pipeline.sim.visitor import draw_visitor
    >>> v = draw_visitor(random.Random(4), "v", "hotel_refresher")
    >>> begin_journey(v, 1_700_000_000_000, random.Random(4), SimulatorOptions()).struggle_at > 0
    True
    """
    timeline = Timeline(visitor, start_ms, rng, options)
    pages = rng.randint(*options.session_pages)
    SCRIPTS[visitor.persona.name](timeline, pages)
    return timeline


def close_session(timeline: Timeline, converts: bool) -> dict[str, Any] | None:
    """Write the end of the session; the purchase event when ``converts``.

    >>> from pipeline.sim.visitor import draw_visitor
    >>> v = draw_visitor(random.Random(4), "v", "finance_browser")
    >>> tl = begin_journey(v, 1_700_000_000_000, random.Random(4), SimulatorOptions())
    >>> close_session(tl, converts=False) is None
    True
    """
    return CLOSERS[timeline.visitor.sector](timeline, converts)
