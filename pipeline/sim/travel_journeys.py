"""Travel journeys: the hotel-search refresher and destination browsers.

>>> import random
>>> from pipeline.sim.options import SimulatorOptions
>>> from pipeline.sim.timeline import Timeline
>>> from pipeline.sim.visitor import draw_visitor
>>> tl = Timeline(draw_visitor(random.Random(0), "v", "hotel_refresher"), 1_700_000_000_000,
...               random.Random(0), SimulatorOptions())
>>> hotel_refresher(tl, 6)
>>> refreshes = [e for e in tl.drain() if e["event_type"] == "custom"
...              and e["custom"]["name"] == "listing_refresh"]
>>> len(refreshes) >= 3, tl.struggle_at == refreshes[2]["event_time"]
(True, True)
"""

from __future__ import annotations

from typing import Any

from pipeline.sim.site import site
from pipeline.sim.timeline import InnerEvent, Timeline, seconds

__all__ = ["close_travel_session", "hotel_refresher", "travel_browser", "travel_filler"]

_TRAVEL = site("travel")


def _query(area: str) -> str:
    city, hood = area.split("-", 1)
    return f"hotels in {hood.replace('-', ' ')} {city}"


def _search(query: str, results: int) -> list[InnerEvent]:
    return [(300, "search", {"search": {"query": query, "results": results}})]


def travel_filler(tl: Timeline, pages: int, *, avoid: frozenset[str] = frozenset(),
                  seen: set[str] | None = None) -> None:
    """Look at other areas: searches, listings, hotels (each hotel at most once, no refreshes).

    >>> import random
    >>> from pipeline.sim.options import SimulatorOptions
    >>> from pipeline.sim.visitor import draw_visitor
    >>> tl = Timeline(draw_visitor(random.Random(0), "v", "travel_browser"), 1_700_000_000_000,
    ...               random.Random(2), SimulatorOptions())
    >>> _ = tl.visit(_TRAVEL.page("home"), 5_000, via="landing"); travel_filler(tl, 6)
    >>> any(e["event_type"] == "custom" for e in tl.drain())
    False
    """
    rng = tl.rng
    seen = set() if seen is None else seen
    areas = [a for a in _TRAVEL.categories if a not in avoid] or list(_TRAVEL.categories)
    searched: set[str] = set()
    for _ in range(pages):
        area = rng.choice(areas)
        kind = rng.choices(("search", "listing", "hotel", "deals"), weights=(2, 3, 4, 1))[0]
        fresh = [h for h in _TRAVEL.products_in(area) if h.product_id not in seen]
        if kind == "hotel" and fresh:
            hotel = rng.choice(fresh)
            seen.add(hotel.product_id)
            tl.visit(_TRAVEL.product(hotel.product_id), seconds(rng, 10, 40))
        elif kind == "search" and area not in searched:
            searched.add(area)
            tl.visit(_TRAVEL.search(_query(area), area), seconds(rng, 6, 20),
                     inner=_search(_query(area), rng.randint(5, 80)))
        elif kind == "deals":
            tl.visit(_TRAVEL.page("deals"), seconds(rng, 5, 20))
        else:
            tl.visit(_TRAVEL.listing(area), seconds(rng, 8, 30))


def hotel_refresher(tl: Timeline, pages: int) -> None:
    """Searches hotels in one neighbourhood, then refreshes the results 3-6 times.

    Refreshes come 15-40 s apart (the search/refresh-loop rule counts three
    within five minutes); the struggle is visible from the third refresh.
    Then one hotel of the area, sometimes one more refresh.
    """
    rng = tl.rng
    area = rng.choice(_TRAVEL.categories)
    hotel = rng.choice(_TRAVEL.products_in(area))
    tl.focus = hotel
    seen = {hotel.product_id}
    extra = rng.randint(0, max(1, pages // 3))
    tl.visit(_TRAVEL.page("home"), seconds(rng, 4, 12), via="landing")
    travel_filler(tl, extra // 2, avoid=frozenset({area}), seen=seen)
    query = _query(area)
    tl.visit(_TRAVEL.search(query, area), seconds(rng, 6, 15),
             inner=_search(query, rng.randint(10, 60)))
    tl.visit(_TRAVEL.listing(area), seconds(rng, 10, 30))
    for i in range(rng.randint(3, 6)):
        at = tl.refresh(seconds(rng, 15, 40), area)
        if i == 2:
            tl.mark_struggle(at)
    tl.visit(_TRAVEL.product(hotel.product_id), seconds(rng, 20, 60))
    if rng.random() < 0.4:
        tl.visit(_TRAVEL.listing(area), seconds(rng, 8, 20), via="back")
        tl.refresh(seconds(rng, 10, 25), area)
    travel_filler(tl, extra - extra // 2, avoid=frozenset({area}), seen=seen)


def travel_browser(tl: Timeline, pages: int) -> None:
    """Looks around destinations and hotels without a refresh loop."""
    rng = tl.rng
    tl.visit(_TRAVEL.page("home"), seconds(rng, 5, 15), via="landing")
    seen: set[str] = set()
    travel_filler(tl, pages if tl.visitor.intent != "browsing" else max(1, pages * 2 // 3),
                  seen=seen)
    fresh = [h for h in _TRAVEL.products if h.product_id not in seen]
    tl.focus = rng.choice(fresh or list(_TRAVEL.products))


def close_travel_session(tl: Timeline, converts: bool) -> dict[str, Any] | None:
    """Book the hotel in focus for 1-5 nights (a ``booking`` conversion) or leave.

    >>> import random
    >>> from pipeline.sim.options import SimulatorOptions
    >>> from pipeline.sim.visitor import draw_visitor
    >>> tl = Timeline(draw_visitor(random.Random(0), "v", "travel_browser"), 1_700_000_000_000,
    ...               random.Random(3), SimulatorOptions())
    >>> travel_browser(tl, 3)
    >>> close_travel_session(tl, True)["purchase"]["kind"]
    'booking'
    """
    rng = tl.rng
    hotel = tl.focus or _TRAVEL.products[0]
    if not converts:
        if rng.random() < {"high_intent": 0.4, "researching": 0.15}.get(tl.visitor.intent, 0.0):
            tl.visit(_TRAVEL.page("checkout"), seconds(rng, 8, 25))
        return None
    if tl.page is None or tl.page.product_id != hotel.product_id:
        tl.visit(_TRAVEL.product(hotel.product_id), seconds(rng, 10, 30))
    start = tl.visit(_TRAVEL.page("checkout"), seconds(rng, 30, 80))
    at = start + rng.randint(8_000, 20_000)
    if rng.random() < 0.25:
        tl.event("form_error", at, form={"form_id": "booking", "field": "phone",
                                         "error": "invalid_format"})
        at += rng.randint(3_000, 8_000)
    tl.event("form_submit", at, form={"form_id": "booking", "field": None, "error": None})
    at += rng.randint(800, 2_000)
    tl.now = max(tl.now, at)
    nights = rng.randint(1, 5)
    return tl.event("purchase", at, purchase={
        "order_id": f"{tl.visitor.visitor_id}-o1", "value": round(hotel.price * nights, 2),
        "currency": "EUR", "kind": "booking"})
