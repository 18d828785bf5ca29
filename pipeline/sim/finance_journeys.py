"""Finance journeys: the mortgage-calculator fiddler and readers of the bank's pages.

>>> import random
>>> from pipeline.sim.options import SimulatorOptions
>>> from pipeline.sim.timeline import Timeline
>>> from pipeline.sim.visitor import draw_visitor
>>> tl = Timeline(draw_visitor(random.Random(0), "v", "mortgage_fiddler"), 1_700_000_000_000,
...               random.Random(0), SimulatorOptions())
>>> mortgage_fiddler(tl, 6)
>>> changes = [e for e in tl.drain() if e["event_type"] == "custom"
...            and e["custom"]["name"] == "calculator_change"]
>>> len(changes) >= 4, tl.struggle_at == changes[2]["event_time"]
(True, True)
"""

from __future__ import annotations

from typing import Any

from pipeline.sim.site import site
from pipeline.sim.timeline import InnerEvent, Timeline, seconds

__all__ = ["calculator_changes", "close_finance_session", "finance_browser", "finance_filler",
           "mortgage_fiddler"]

_BANK = site("finance")
_INPUTS = ("amount", "term", "rate", "deposit")


def calculator_changes(tl: Timeline, count: int) -> tuple[list[InnerEvent], int]:
    """``count`` calculator adjustments (a click on an input, then ``calculator_change``).

    Returns the inner events and the dwell that holds them.

    >>> import random
    >>> from pipeline.sim.options import SimulatorOptions
    >>> from pipeline.sim.visitor import draw_visitor
    >>> tl = Timeline(draw_visitor(random.Random(0), "v", "mortgage_fiddler"), 0,
    ...               random.Random(0), SimulatorOptions())
    >>> inner, dwell = calculator_changes(tl, 3)
    >>> [kind for _, kind, _ in inner], dwell > inner[-1][0]
    (['click', 'custom', 'click', 'custom', 'click', 'custom'], True)
    """
    rng = tl.rng
    inner: list[InnerEvent] = []
    at = rng.randint(3_000, 8_000)
    for _ in range(count):
        name = rng.choice(_INPUTS)
        x, y = 400 + 240 * _INPUTS.index(name), 380
        inner.append((at, "click", {"click": {"x": x, "y": y, "target": f"#calc-{name}",
                                              "interactive": True}}))
        inner.append((at + rng.randint(200, 600), "custom", {"custom": {
            "name": "calculator_change", "properties": {
                "calculator": "mortgage", "input": name,
                "direction": rng.choice(("up", "down"))}}}))
        at += rng.randint(4_000, 12_000)
    return inner, at + rng.randint(2_000, 8_000)


def finance_filler(tl: Timeline, pages: int, *, seen: set[str] | None = None) -> None:
    """Read about accounts, cards, rates; products at most once; no calculator.

    >>> import random
    >>> from pipeline.sim.options import SimulatorOptions
    >>> from pipeline.sim.visitor import draw_visitor
    >>> tl = Timeline(draw_visitor(random.Random(0), "v", "finance_browser"), 1_700_000_000_000,
    ...               random.Random(2), SimulatorOptions())
    >>> _ = tl.visit(_BANK.page("home"), 5_000, via="landing"); finance_filler(tl, 5)
    >>> any(e["page"]["page_type"] == "calculator" for e in tl.drain())
    False
    """
    rng = tl.rng
    seen = set() if seen is None else seen
    for _ in range(pages):
        kind = rng.choices(("listing", "product", "rates", "help", "home"),
                           weights=(3, 4, 1, 1, 1))[0]
        category = rng.choice(_BANK.categories)
        fresh = [p for p in _BANK.products_in(category) if p.product_id not in seen]
        if kind == "product" and fresh:
            product = rng.choice(fresh)
            seen.add(product.product_id)
            tl.visit(_BANK.product(product.product_id), seconds(rng, 10, 40))
        elif kind in ("rates", "help", "home"):
            tl.visit(_BANK.page(kind), seconds(rng, 5, 25))
        else:
            tl.visit(_BANK.listing(category), seconds(rng, 6, 25))


def mortgage_fiddler(tl: Timeline, pages: int) -> None:
    """Adjusts the mortgage calculator 4-8 times, then pauses on eligibility (35-90 s).

    The struggle is visible from the third adjustment (the calculator-fiddling
    rule's threshold). Some go back for one or two more adjustments.
    """
    rng = tl.rng
    mortgage = rng.choice(_BANK.products_in("mortgages"))
    tl.focus = mortgage
    seen = {mortgage.product_id}
    extra = rng.randint(0, max(1, pages // 3))
    tl.visit(_BANK.page("home"), seconds(rng, 4, 12), via="landing")
    finance_filler(tl, extra // 2, seen=seen)
    tl.visit(_BANK.listing("mortgages"), seconds(rng, 6, 20))
    tl.visit(_BANK.product(mortgage.product_id), seconds(rng, 15, 45))
    inner, dwell = calculator_changes(tl, rng.randint(4, 8))
    start = tl.visit(_BANK.page("calculator", "mortgages"), dwell, inner=inner)
    tl.mark_struggle(start + [t for t, kind, _ in inner if kind == "custom"][2])
    errors: list[InnerEvent] = []
    if rng.random() < 0.3:
        at = rng.randint(8_000, 20_000)
        for _ in range(rng.randint(1, 2)):
            errors.append((at, "form_error", {"form": {"form_id": "eligibility",
                                                       "field": "income",
                                                       "error": "out_of_range"}}))
            at += rng.randint(3_000, 8_000)
    tl.visit(_BANK.page("eligibility", "mortgages"), seconds(rng, 35, 90), hesitate=True,
             inner=errors)
    if rng.random() < 0.4:
        inner, dwell = calculator_changes(tl, rng.randint(1, 2))
        tl.visit(_BANK.page("calculator", "mortgages"), dwell, inner=inner)
    finance_filler(tl, extra - extra // 2, seen=seen)


def finance_browser(tl: Timeline, pages: int) -> None:
    """Reads product pages; may try the calculator once or twice (never three times)."""
    rng = tl.rng
    tl.visit(_BANK.page("home"), seconds(rng, 5, 15), via="landing")
    seen: set[str] = set()
    n = pages if tl.visitor.intent != "browsing" else max(1, pages * 2 // 3)
    finance_filler(tl, n // 2, seen=seen)
    if rng.random() < 0.3:
        inner, dwell = calculator_changes(tl, rng.randint(1, 2))
        tl.visit(_BANK.page("calculator", "mortgages"), dwell, inner=inner)
    finance_filler(tl, n - n // 2, seen=seen)
    fresh = [p for p in _BANK.products if p.product_id not in seen]
    tl.focus = rng.choice(fresh or list(_BANK.products))


def close_finance_session(tl: Timeline, converts: bool) -> dict[str, Any] | None:
    """Apply (an ``application`` conversion worth the product's fee) or leave.

    >>> import random
    >>> from pipeline.sim.options import SimulatorOptions
    >>> from pipeline.sim.visitor import draw_visitor
    >>> tl = Timeline(draw_visitor(random.Random(0), "v", "finance_browser"), 1_700_000_000_000,
    ...               random.Random(3), SimulatorOptions())
    >>> finance_browser(tl, 3)
    >>> close_finance_session(tl, True)["purchase"]["kind"]
    'application'
    """
    rng = tl.rng
    product = tl.focus or _BANK.products[0]
    if not converts:
        if rng.random() < {"high_intent": 0.35, "researching": 0.1}.get(tl.visitor.intent, 0.0):
            tl.visit(_BANK.page("signup", product.category), seconds(rng, 10, 30))
        return None
    start = tl.visit(_BANK.page("signup", product.category), seconds(rng, 60, 150))
    at = start + rng.randint(20_000, 40_000)
    for _ in range(rng.choices((0, 1, 2), weights=(6, 3, 1))[0]):
        tl.event("form_error", at, form={"form_id": "application", "field": "income",
                                         "error": "out_of_range"})
        at += rng.randint(4_000, 10_000)
    tl.event("form_submit", at, form={"form_id": "application", "field": None, "error": None})
    at += rng.randint(1_000, 3_000)
    tl.now = max(tl.now, at)
    return tl.event("purchase", at, purchase={
        "order_id": f"{tl.visitor.visitor_id}-o1", "value": product.price, "currency": "EUR",
        "kind": "application"})
