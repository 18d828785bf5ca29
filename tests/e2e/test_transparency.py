"""Transparency in headless Chromium: "Why am I seeing this?" on each personalized slot shows the
decision's reason, and its one-click opt-out records a consent opt-out through the collector
and takes the personalized content off the page. Decisions are produced to the real broker
and served by the real delivery service; the page loads the minified ``/rtp.js``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from playwright.sync_api import Browser

from pipeline.settings import Settings
from pipeline.topics import PROFILES
from tests.e2e.test_storefront import (
    HEADLINE,
    context_for,
    now_ms,
    paint_log,
    produce_decisions,
    read_all,
    served,
    wait_until,
)
from tests.e2e.webtier import WebTier
from tests.unit.delivery.factories import decision

HERO_REASON = ("Personalized for you: time-limited free express shipping banner. "
               "Why: you paused on this page for a while.")
OVERLAY_REASON = "Personalized for you: welcome discount. Why: you seem to be comparing options."


def test_why_am_i_seeing_this_shows_the_reason_and_the_opt_out_removes_personalization(
        topics: Settings, browser: Browser, artifacts: Path) -> None:
    visitor = f"e2e-{uuid.uuid4().hex[:8]}"
    now = now_ms()
    hero = {**decision(visitor, created_at=now), "reason": HERO_REASON}
    overlay = {**decision(visitor, "overlay", created_at=now, action_id="first_time_buyer_discount",
                          payload={"headline": "10% off your first order", "code": "WELCOME10"}),
               "reason": OVERLAY_REASON}
    with WebTier(topics, budget_ms=2000) as tier:
        produce_decisions(topics, hero, overlay)
        wait_until("delivery to hold the decisions", lambda: served(tier, visitor, "hero,overlay"))
        context = context_for(browser, visitor)
        page = context.new_page()
        page.goto(tier.shop)
        page.wait_for_function("""() => ['hero', 'overlay'].every(s => window.__rtpPaintLog.some(
            e => e.step === 'apply' && e.slot === s))""")
        assert HEADLINE in page.inner_text("#hero")
        # each personalized slot offers the question; the answer is folded until asked
        for slot, reason in (("hero", HERO_REASON), ("overlay", OVERLAY_REASON)):
            ask = page.locator(f"[data-rtp-slot={slot}] .rtp-why summary")
            assert ask.inner_text() == "Why am I seeing this?"
            answer = page.locator(f"[data-rtp-slot={slot}] .rtp-why span")
            assert not answer.is_visible()
            ask.click()
            assert answer.is_visible()
            # the reason as decided, and the opt-out beside it
            assert answer.evaluate("e => e.firstChild.textContent") == reason
            assert page.locator(f"[data-rtp-slot={slot}] .rtp-why button").is_visible()
        page.screenshot(path=str(artifacts / "e2e-why-am-i-seeing-this.png"))
        page.wait_for_function("window.__rtpPaintLog.filter(e => e.step === 'why').length === 2")
        asked = [(e["slot"], e["decision"]) for e in paint_log(page) if e["step"] == "why"]
        assert asked == [("hero", hero["decision_id"]), ("overlay", overlay["decision_id"])]

        page.click("#hero .rtp-why button")  # one click
        page.wait_for_function("window.__rtpPaintLog.some(e => e.step === 'consent')")
        log = paint_log(page)
        page.screenshot(path=str(artifacts / "e2e-opted-out.png"))
        # the personalized content is gone at once: the default is back, the overlay hidden
        assert HEADLINE not in page.inner_text("#hero")
        assert "Summer sound sale" in page.inner_text("#hero")
        assert page.locator(".rtp-why").count() == 0
        assert page.get_attribute("#hero", "data-rtp-decision") is None
        assert not page.locator("[data-rtp-slot=overlay]").is_visible()
        stored = page.evaluate("""() => ['rtp.consent', 'rtp.vid', 'rtp.vtok'].map(
            k => localStorage.getItem(k))""")
        assert stored == ["0", None, None]
        # asking why is not a click on the offer: only shown was reported for each decision
        kinds = {(e["decision"], e["kind"]) for e in log if e["step"] == "outcome"}
        assert kinds <= {(hero["decision_id"], "shown"), (overlay["decision_id"], "shown")}

        # the next page of this visitor is not personalized and tracks nothing
        page.goto(tier.shop)
        page.wait_for_function("document.querySelector('#hero[data-rtp-state=default]')")
        again = paint_log(page)
        assert HEADLINE not in page.inner_text("#hero")
        assert next(e for e in again if e["step"] == "no-personalization")["reason"] == "no consent"
        assert context.page_errors == []  # type: ignore[attr-defined]
        context.close()

        # the opt-out went through the collector's consent path: one consent update for this
        # visitor, saying no to personalization and analytics
        def consents() -> list[dict[str, object]]:
            return [r for _, r in read_all(topics, topics.topic(PROFILES), "ProfileUpdate")
                    if r["kind"] == "consent"]

        found = wait_until("the opt-out on profiles.updates", consents)
    assert [(r["visitor_id"], r["consent"]) for r in found] == [
        (visitor, {"personalization": False, "analytics": False})]
