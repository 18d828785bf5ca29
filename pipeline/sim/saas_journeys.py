"""SaaS journeys: the trial user circling a premium feature, and plain evaluators.

>>> import random
>>> from pipeline.sim.options import SimulatorOptions
>>> from pipeline.sim.timeline import Timeline
>>> from pipeline.sim.visitor import draw_visitor
>>> tl = Timeline(draw_visitor(random.Random(0), "v", "feature_circler"), 1_700_000_000_000,
...               random.Random(0), SimulatorOptions())
>>> feature_circler(tl, 6)
>>> views = [e for e in tl.drain() if e["event_type"] == "page_view"
...          and e["page"]["product_id"] == tl.focus.product_id]
>>> len(views) >= 3, tl.struggle_at == views[1]["event_time"]
(True, True)
"""

from __future__ import annotations

from typing import Any

from pipeline.sim.site import Product, site
from pipeline.sim.timeline import InnerEvent, Timeline, seconds

__all__ = ["close_saas_session", "feature_circler", "saas_browser", "saas_filler"]

_APP = site("saas")
_ACTIVATE = (1180, 420)
"""Where the "Activate" button of a feature page is: circlers hover, never click."""


def _feature_view(feature: Product) -> list[InnerEvent]:
    return [(400, "custom", {"custom": {"name": "feature_view", "properties": {
        "feature": feature.product_id, "plan": feature.category}}})]


def saas_filler(tl: Timeline, pages: int, *, seen: set[str] | None = None) -> None:
    """Read docs, blog, pricing and features (each feature at most once).

    >>> import random
    >>> from pipeline.sim.options import SimulatorOptions
    >>> from pipeline.sim.visitor import draw_visitor
    >>> tl = Timeline(draw_visitor(random.Random(0), "v", "saas_browser"), 1_700_000_000_000,
    ...               random.Random(1), SimulatorOptions())
    >>> _ = tl.visit(_APP.page("home"), 5_000, via="landing"); saas_filler(tl, 6)
    >>> ids = [e["page"]["product_id"] for e in tl.drain() if e["event_type"] == "page_view"
    ...        and e["page"]["page_type"] == "feature"]
    >>> len(ids) == len(set(ids))
    True
    """
    rng = tl.rng
    seen = set() if seen is None else seen
    for _ in range(pages):
        kind = rng.choices(("feature", "docs", "blog", "pricing", "dashboard"),
                           weights=(4, 2, 1, 1, 2))[0]
        fresh = [p for p in _APP.products if p.product_id not in seen]
        if kind == "feature" and fresh:
            feature = rng.choice(fresh)
            seen.add(feature.product_id)
            tl.visit(_APP.product(feature.product_id), seconds(rng, 8, 25),
                     inner=_feature_view(feature))
        elif kind == "pricing":
            tl.visit(_APP.page("pricing"), seconds(rng, 8, 25))
        else:
            tl.visit(_APP.page("docs" if kind == "feature" else kind), seconds(rng, 6, 30))


def feature_circler(tl: Timeline, pages: int) -> None:
    """Opens one premium feature page 3-4 times (22-45 s each), hovering but never activating.

    Between views: docs, the dashboard, pricing. Feature dwell adds up to more
    than a minute; the struggle is visible from the second view.
    """
    rng = tl.rng
    feature = rng.choice(_APP.products_in("premium"))
    tl.focus = feature
    seen = {feature.product_id}
    extra = rng.randint(0, max(1, pages // 3))
    tl.visit(_APP.page("dashboard" if tl.visitor.returning or rng.random() < 0.6 else "home"),
             seconds(rng, 5, 20), via="landing")
    saas_filler(tl, extra // 2, seen=seen)
    views = 3 + (rng.random() < 0.5)
    between = ("docs", "pricing", "dashboard")
    for i in range(views):
        at = tl.visit(_APP.product(feature.product_id), seconds(rng, 22, 45),
                      inner=_feature_view(feature), hover=_ACTIVATE)
        if i == 1:
            tl.mark_struggle(at)
        if i < views - 1:
            tl.visit(_APP.page(between[i % len(between)]), seconds(rng, 8, 30))
    saas_filler(tl, extra - extra // 2, seen=seen)


def saas_browser(tl: Timeline, pages: int) -> None:
    """Evaluates the product: home, features (once each), docs, pricing."""
    rng = tl.rng
    tl.visit(_APP.page("home"), seconds(rng, 5, 15), via="landing")
    seen: set[str] = set()
    saas_filler(tl, pages if tl.visitor.intent != "browsing" else max(1, pages * 2 // 3),
                seen=seen)
    tl.focus = rng.choice(_APP.products_in("core"))
    if tl.visitor.intent == "high_intent":
        tl.visit(_APP.page("pricing"), seconds(rng, 15, 40))


def close_saas_session(tl: Timeline, converts: bool) -> dict[str, Any] | None:
    """Upgrade (a ``signup`` conversion worth the annual plan) or leave.

    >>> import random
    >>> from pipeline.sim.options import SimulatorOptions
    >>> from pipeline.sim.visitor import draw_visitor
    >>> tl = Timeline(draw_visitor(random.Random(0), "v", "saas_browser"), 1_700_000_000_000,
    ...               random.Random(3), SimulatorOptions())
    >>> saas_browser(tl, 3)
    >>> close_saas_session(tl, True)["purchase"]["kind"]
    'signup'
    """
    rng = tl.rng
    focus = tl.focus or _APP.find("dashboards")
    if not converts:
        if rng.random() < {"high_intent": 0.4, "researching": 0.15}.get(tl.visitor.intent, 0.0):
            tl.visit(_APP.page("signup"), seconds(rng, 6, 20))
        return None
    start = tl.visit(_APP.page("signup"), seconds(rng, 20, 60))
    at = start + rng.randint(6_000, 15_000)
    if rng.random() < 0.2:
        tl.event("form_error", at, form={"form_id": "upgrade", "field": "card_number",
                                         "error": "declined"})
        at += rng.randint(3_000, 8_000)
    tl.event("form_submit", at, form={"form_id": "upgrade", "field": None, "error": None})
    at += rng.randint(800, 2_000)
    tl.now = max(tl.now, at)
    return tl.event("purchase", at, purchase={
        "order_id": f"{tl.visitor.visitor_id}-o1", "value": focus.price, "currency": "EUR",
        "kind": "signup"})
