"""E-commerce journeys: the hesitating headphones shopper, the comparison shopper, browsers.

>>> import random
>>> from pipeline.sim.options import SimulatorOptions
>>> from pipeline.sim.timeline import Timeline
>>> from pipeline.sim.visitor import draw_visitor
>>> v = draw_visitor(random.Random(0), "v", "hesitant_headphones_shopper")
>>> tl = Timeline(v, 1_700_000_000_000, random.Random(0), SimulatorOptions())
>>> hesitant_headphones_shopper(tl, 6)
>>> views = [e for e in tl.drain() if e["event_type"] == "page_view"
...          and e["page"]["product_id"] == "nc700"]
>>> len(views) >= 3, tl.struggle_at == views[2]["event_time"]
(True, True)
"""

from __future__ import annotations

from typing import Any

from pipeline.sim.site import Product, site
from pipeline.sim.timeline import InnerEvent, Timeline, seconds

__all__ = ["close_shop_session", "comparison_shopper", "hesitant_headphones_shopper",
           "shop_browser", "shop_filler"]

_SHOP = site("ecommerce")
_QUERIES = {"audio": "noise cancelling headphones", "laptops": "lightweight laptop",
            "cameras": "mirrorless camera", "shoes": "running shoes"}


def _cart(tl: Timeline, product: Product) -> list[InnerEvent]:
    """Click add-to-cart, then the add_to_cart event."""
    tl.carted = True
    at = tl.rng.randint(4_000, 8_000)
    return [(at, "click", {"click": {"x": 1100, "y": 610, "target": "#add-to-cart",
                                     "interactive": True}}),
            (at + 250, "add_to_cart", {"cart": {"product_id": product.product_id, "quantity": 1,
                                                "value": product.price, "currency": "EUR"}})]


def _search(query: str, results: int) -> list[InnerEvent]:
    return [(300, "search", {"search": {"query": query, "results": results}})]


def _land(tl: Timeline, category: str) -> None:
    """The first page, by traffic source."""
    rng = tl.rng
    source = tl.visitor.traffic_source
    if source == "search":
        tl.visit(_SHOP.search(_QUERIES[category], category), seconds(rng, 6, 18), via="landing",
                 inner=_search(_QUERIES[category], rng.randint(8, 40)))
    elif source in ("ads", "email"):
        tl.visit(_SHOP.page("deals"), seconds(rng, 5, 15), via="landing")
    else:
        tl.visit(_SHOP.page("home"), seconds(rng, 4, 14), via="landing")


def shop_filler(tl: Timeline, pages: int, *, avoid: frozenset[str] = frozenset(),
                seen: set[str] | None = None) -> None:
    """Browse ``pages`` pages without a struggle pattern.

    Products are never viewed twice (no revisits, no pogo-sticking) and come from
    categories not in ``avoid``; Shipping & Returns, if read, is read briefly.

    >>> import random
    >>> from pipeline.sim.options import SimulatorOptions
    >>> from pipeline.sim.visitor import draw_visitor
    >>> tl = Timeline(draw_visitor(random.Random(0), "v", "shop_browser"), 1_700_000_000_000,
    ...               random.Random(3), SimulatorOptions())
    >>> _land(tl, "audio"); shop_filler(tl, 5)
    >>> ids = [e["page"]["product_id"] for e in tl.drain()
    ...        if e["event_type"] == "page_view" and e["page"]["page_type"] == "product"]
    >>> len(ids) == len(set(ids))
    True
    """
    rng = tl.rng
    seen = set() if seen is None else seen
    categories = [c for c in _SHOP.categories if c not in avoid] or list(_SHOP.categories)
    searched: set[str] = set()
    for _ in range(pages):
        kind = rng.choices(("listing", "product", "search", "home", "shipping"),
                           weights=(3, 5, 1, 1, 0.4))[0]
        category = rng.choice(categories)
        fresh = [p for p in _SHOP.products_in(category) if p.product_id not in seen]
        if kind == "product" and fresh:
            product = rng.choice(fresh)
            seen.add(product.product_id)
            tl.visit(_SHOP.product(product.product_id), seconds(rng, 8, 35))
        elif kind == "search" and category not in searched:
            searched.add(category)
            query = _QUERIES[category]
            tl.visit(_SHOP.search(query, category), seconds(rng, 5, 15),
                     inner=_search(query, rng.randint(0, 60)))
        elif kind == "home":
            tl.visit(_SHOP.page("home"), seconds(rng, 4, 12))
        elif kind == "shipping":
            tl.visit(_SHOP.page("shipping_returns"), seconds(rng, 5, 18))
        else:
            tl.visit(_SHOP.listing(category), seconds(rng, 5, 20))


def hesitant_headphones_shopper(tl: Timeline, pages: int) -> None:
    """Views the NC700 headphones 4 times and lingers on Shipping & Returns (35-90 s).

    The struggle is visible from the third view of the same product (the
    hesitation rule's revisit variant). Only one other headphone is looked at,
    once, so this is hesitation and not pogo-sticking; browsing around the
    pattern avoids the audio category.
    """
    rng = tl.rng
    nc700 = _SHOP.find("nc700")
    other = rng.choice([p for p in _SHOP.products_in("audio") if p.product_id != "nc700"])
    tl.focus = nc700
    seen = {"nc700", other.product_id}
    extra = rng.randint(0, max(1, pages // 3))
    _land(tl, "audio")
    shop_filler(tl, extra // 2, avoid=frozenset({"audio"}), seen=seen)
    tl.visit(_SHOP.listing("audio"), seconds(rng, 6, 20))
    tl.visit(_SHOP.product("nc700"), seconds(rng, 20, 60), scroll_to=rng.uniform(60, 100))
    tl.visit(_SHOP.product(other.product_id), seconds(rng, 10, 30))
    tl.visit(_SHOP.product("nc700"), seconds(rng, 15, 45))
    tl.visit(_SHOP.listing("audio"), seconds(rng, 5, 15))
    third = tl.visit(_SHOP.product("nc700"), seconds(rng, 15, 40))
    tl.mark_struggle(third)
    tl.visit(_SHOP.page("shipping_returns"), seconds(rng, 35, 90),
             scroll_to=rng.uniform(50, 100), hesitate=True)
    inner = _cart(tl, nc700) if tl.visitor.intent == "high_intent" else []
    tl.visit(_SHOP.product("nc700"), seconds(rng, 12, 30), inner=inner)
    shop_filler(tl, extra - extra // 2, avoid=frozenset({"audio"}), seen=seen)


def comparison_shopper(tl: Timeline, pages: int) -> None:
    """Bounces A, B, A, B (sometimes A again) between two products of one category.

    All within about three minutes, with only listing pages in between, so the
    pogo-sticking rule sees three switches and a revisit; the struggle is
    visible from the fourth view.
    """
    rng = tl.rng
    category = rng.choice(("audio", "laptops", "cameras", "shoes"))
    a, b = rng.sample(list(_SHOP.products_in(category)), 2)
    tl.focus = rng.choice((a, b))
    seen = {a.product_id, b.product_id}
    extra = rng.randint(0, max(1, pages // 3))
    _land(tl, category)
    shop_filler(tl, extra // 2, avoid=frozenset({category}), seen=seen)
    tl.visit(_SHOP.listing(category), seconds(rng, 6, 20))
    views = [a, b, a, b] + ([a] if rng.random() < 0.5 else [])
    for i, product in enumerate(views):
        if i in (2, 4) and rng.random() < 0.4:
            tl.visit(_SHOP.listing(category), seconds(rng, 4, 10))
        last = i == len(views) - 1
        inner = (_cart(tl, tl.focus) if last and tl.visitor.intent == "high_intent"
                 and product == tl.focus else [])
        at = tl.visit(_SHOP.product(product.product_id), seconds(rng, 10, 30), inner=inner)
        if i == 3:
            tl.mark_struggle(at)
    shop_filler(tl, extra - extra // 2, avoid=frozenset({category}), seen=seen)


def shop_browser(tl: Timeline, pages: int) -> None:
    """Browses categories and products; never the same product twice; may add to cart."""
    rng = tl.rng
    category = rng.choice(_SHOP.categories)
    _land(tl, category)
    seen: set[str] = set()
    n = pages if tl.visitor.intent != "browsing" else max(1, pages * 2 // 3)
    shop_filler(tl, n, seen=seen)
    fresh = [p for p in _SHOP.products if p.product_id not in seen]
    tl.focus = rng.choice(fresh or list(_SHOP.products))
    if tl.visitor.intent == "high_intent":
        tl.visit(_SHOP.product(tl.focus.product_id), seconds(rng, 15, 40),
                 inner=_cart(tl, tl.focus))


def close_shop_session(tl: Timeline, converts: bool) -> dict[str, Any] | None:
    """Check out (converting) or maybe abandon at checkout; the purchase event, if any.

    >>> import random
    >>> from pipeline.sim.options import SimulatorOptions
    >>> from pipeline.sim.visitor import draw_visitor
    >>> tl = Timeline(draw_visitor(random.Random(0), "v", "shop_browser"), 1_700_000_000_000,
    ...               random.Random(3), SimulatorOptions())
    >>> shop_browser(tl, 3)
    >>> close_shop_session(tl, True)["purchase"]["kind"]
    'purchase'
    """
    rng = tl.rng
    focus = tl.focus or _SHOP.find("nc700")
    if not converts:
        abandon = {"high_intent": 0.5, "researching": 0.2}.get(tl.visitor.intent, 0.05)
        if rng.random() < abandon:
            tl.visit(_SHOP.page("checkout"), seconds(rng, 8, 30))
        return None
    if not tl.carted:
        tl.visit(_SHOP.product(focus.product_id), seconds(rng, 8, 20), inner=_cart(tl, focus))
    start = tl.visit(_SHOP.page("checkout"), seconds(rng, 25, 70))
    at = start + rng.randint(5_000, 12_000)
    for _ in range(rng.choices((0, 1, 2), weights=(7, 2, 1))[0]):
        tl.event("form_error", at, form={"form_id": "checkout", "field": "zip",
                                         "error": "invalid_format"})
        at += rng.randint(2_000, 6_000)
    tl.event("form_submit", at, form={"form_id": "checkout", "field": None, "error": None})
    at += rng.randint(800, 2_500)
    tl.now = max(tl.now, at)
    return tl.event("purchase", at, purchase={
        "order_id": f"{tl.visitor.visitor_id}-o1", "value": focus.price, "currency": "EUR",
        "kind": "purchase"})
