"""The tracker's rendering and reporting in headless Chromium: expiry, the availability order of
a grid, ``ignored`` outcomes. Decisions are produced to the real broker and served by the
real delivery service (no worker: the tests decide); the pages load the ``/rtp.js`` that
delivery serves (the minified build). Painting is judged from ``window.__rtpPaintLog``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from playwright.sync_api import Browser, Page

from pipeline.settings import Settings
from pipeline.topics import OUTCOMES
from tests.e2e.test_storefront import (
    HEADLINE,
    context_for,
    now_ms,
    outcomes_for,
    paint_log,
    produce_decisions,
    read_all,
    served,
    slot_entries,
    wait_until,
)
from tests.e2e.webtier import WebTier
from tests.unit.delivery.factories import decision

#: A travel search page (served by the test through the browser, on delivery's origin, so
#: it loads delivery's config.js and rtp.js): rooms left per property.
STAYS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stays</title>
<meta name="rtp-page-type" content="search">
<style>[data-rtp-slot]:not([data-rtp-state]){visibility:hidden}</style>
<script src="/shop/config.js"></script><script src="/rtp.js"></script>
</head><body><main><div class="grid" data-rtp-slot="grid" id="grid">
<article id="sea" %s>Sea view</article>
<article id="old-town" %s>Old town</article>
<article id="harbour">Harbour (no availability shown)</article>
<article id="hills" %s>Hills</article>
</div></main></body></html>"""


def stays_page(availability: tuple[str, str, str]) -> str:
    return STAYS % tuple(f'data-availability="{a}"' if a else "" for a in availability)


def new_visitor() -> str:
    return f"e2e-{uuid.uuid4().hex[:8]}"


def grid_order(page: Page) -> list[str]:
    return list(page.eval_on_selector_all("#grid > article", "els => els.map(e => e.id)"))


def test_an_offer_leaves_the_page_when_it_expires(topics: Settings, browser: Browser,
                                                   artifacts: Path) -> None:
    visitor = new_visitor()
    hero = decision(visitor, created_at=now_ms(), ttl_ms=8000)
    with WebTier(topics, budget_ms=2000) as tier:
        produce_decisions(topics, hero)
        wait_until("delivery to hold the decision", lambda: served(tier, visitor, "hero"))
        context = context_for(browser, visitor)
        page = context.new_page()
        page.goto(tier.shop)
        page.wait_for_function("window.__rtpPaintLog.some(e => e.step === 'apply')")
        assert HEADLINE in page.inner_text("#hero")  # shown while it is valid
        page.wait_for_function("window.__rtpPaintLog.some(e => e.step === 'expired')",
                               timeout=30_000)
        log = paint_log(page)
        page.screenshot(path=str(artifacts / "e2e-offer-expired.png"))
        assert HEADLINE not in page.inner_text("#hero")
        assert "Summer sound sale" in page.inner_text("#hero")  # the default is back
        assert page.get_attribute("#hero", "data-rtp-decision") is None
        assert context.page_errors == []  # type: ignore[attr-defined]
        context.close()
    expired = next(e for e in log if e["step"] == "expired")
    assert expired["slot"] == "hero" and expired["decision"] == hero["decision_id"]
    # painted personalized, then the default once it expired
    frames = [e for e in slot_entries(log, "hero") if e["step"] == "frame"]
    assert [e["content"] for e in frames if e["visible"]] == ["personalized", "default"]
    # shown, then never clicked before it went: ignored
    kinds = {o["kind"] for o in outcomes_for(topics, hero["decision_id"], count=2)}
    assert kinds == {"shown", "ignored"}


def test_the_grid_puts_the_properties_with_fewest_left_first(
        topics: Settings, browser: Browser, artifacts: Path) -> None:
    visitor, other = new_visitor(), new_visitor()
    payload = {"order_by": "declining_availability"}
    grids = [decision(v, "grid", created_at=now_ms(), action_id="reorder_by_availability",
                      payload=payload) for v in (visitor, other)]
    with WebTier(topics, budget_ms=2000) as tier:
        produce_decisions(topics, *grids)
        for v in (visitor, other):
            wait_until("delivery to hold the decision", lambda v=v: served(tier, v, "grid"))
        url = tier.delivery_url + "/shop/stays.html"

        def visit(v: str, html: str) -> tuple[Page, list[str]]:
            context = context_for(browser, v)
            page = context.new_page()
            page.route(url, lambda route: route.fulfill(status=200, body=html,
                                                        content_type="text/html"))
            page.goto(url)
            page.wait_for_function("document.querySelector('#grid[data-rtp-state]')")
            assert context.page_errors == []  # type: ignore[attr-defined]
            return page, grid_order(page)

        page, order = visit(visitor, stays_page(("5", "2", "9")))
        page.screenshot(path=str(artifacts / "e2e-grid-by-availability.png"))
        log = paint_log(page)
        # a page whose grid says nothing of availability keeps its order (the default)
        plain, plain_order = visit(other, stays_page(("", "", "")))
        plain_log = paint_log(plain)

    assert order == ["old-town", "sea", "hills", "harbour"]
    assert [e["step"] for e in log if e["slot"] == "grid" and "apply" in e["step"]] == ["apply"]
    assert {e["content"] for e in slot_entries(log, "grid") if e["visible"]} == {"personalized"}
    assert plain_order == ["sea", "old-town", "harbour", "hills"]
    assert any(e["step"] == "unrenderable" and e["slot"] == "grid" for e in plain_log)
    assert {e["content"] for e in slot_entries(plain_log, "grid") if e["visible"]} == {"default"}


def test_an_offer_shown_and_left_alone_is_reported_ignored_and_a_clicked_one_is_not(
        topics: Settings, browser: Browser) -> None:
    idle, clicker = new_visitor(), new_visitor()
    heroes = {v: decision(v, created_at=now_ms()) for v in (idle, clicker)}
    with WebTier(topics, budget_ms=2000) as tier:
        produce_decisions(topics, *heroes.values())
        for v in heroes:
            wait_until("delivery to hold the decision", lambda v=v: served(tier, v, "hero"))
        for v in (clicker, idle):  # the clicker first: its reports are in before the idle's
            context = context_for(browser, v)
            page = context.new_page()
            page.goto(tier.shop)
            page.wait_for_function("""() => window.__rtpPaintLog.some(e =>
                e.step === 'outcome' && e.kind === 'shown')""")
            if v == clicker:
                page.click("#hero .rtp-headline")
                page.wait_for_function("""() => window.__rtpPaintLog.some(e =>
                    e.step === 'outcome' && e.kind === 'clicked')""")
            page.click("text=Shipping & Returns >> nth=0")  # leaves the page
            page.wait_for_url("**/shop/shipping.html")
            # The page's reports are keepalive requests that may still be on their way (the
            # ignored one is sent as the page unloads): closing the browser profile cancels
            # what is still in flight, so wait until delivery has produced both (shown and
            # clicked, or shown and ignored) before closing it.
            outcomes_for(topics, heroes[v]["decision_id"], count=2)
            assert context.page_errors == []  # type: ignore[attr-defined]
            context.close()
        # the clicker left too, before the idle visitor's page opened: of the two, only the
        # idle visitor's offer was reported ignored
        assert tier.delivery.metrics.registry.get_sample_value(
            "rtp_delivery_outcomes_total", {"kind": "ignored"}) == 1
        produced = read_all(topics, topics.topic(OUTCOMES), "Outcome")
        idle_kinds, clicked = (sorted(r["kind"] for _, r in produced
                                      if r["decision_id"] == heroes[v]["decision_id"])
                               for v in (idle, clicker))
    assert idle_kinds == ["ignored", "shown"]
    assert clicked == ["clicked", "shown"]
