"""rtp.identify in headless Chromium: with the ``userHash`` the site's server signed, the page's
identify and its later events carry the person's pseudonym; without one, only the device's
claim; the opt-out forgets both. The page loads the minified ``/rtp.js``; the collector
produces to the real broker.
"""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser

from pipeline.collector.identity import user_hash
from pipeline.profiles import device_claim, resolve_pseudonyms
from pipeline.settings import Settings
from pipeline.topics import EVENTS, PROFILES
from tests.e2e.test_storefront import context_for, read_all, wait_until
from tests.e2e.webtier import IDENTITY_KEY, WebTier


def test_a_signed_identify_carries_the_persons_pseudonym_and_an_unsigned_one_a_claim(
        topics: Settings, browser: Browser) -> None:
    run = uuid.uuid4().hex[:8]
    signed_visitor, unsigned_visitor = f"e2e-signed-{run}", f"e2e-unsigned-{run}"
    email = f"ann.{run}@example.com"
    with WebTier(topics) as tier:
        for visitor, signed in ((signed_visitor, True), (unsigned_visitor, False)):
            context = context_for(browser, visitor)
            page = context.new_page()
            page.goto(tier.shop)
            page.wait_for_function("window.rtp && window.rtp.version")
            page.evaluate("([id, hash]) => { rtp.identify(id, {loyalty_tier: 'gold'}, hash); "
                          "rtp.track('custom', {name: 'after_login'}); rtp.flush(); }",
                          [email, user_hash(IDENTITY_KEY, email) if signed else None])
            assert page.evaluate("localStorage.getItem('rtp.uid')") == email
            if signed:
                page.evaluate("rtp.consent(false)")
                stored = page.evaluate("['rtp.uid', 'rtp.uh'].map(k => localStorage.getItem(k))")
                assert stored == [None, None]
            assert context.page_errors == []  # type: ignore[attr-defined]
            context.close()

        def users(visitor: str) -> set[tuple[str, str | None]]:
            updates = [("update", r["user_id"]) for _, r in
                       read_all(topics, topics.topic(PROFILES), "ProfileUpdate")
                       if r["visitor_id"] == visitor and r["kind"] == "identify"]
            events = [("event", r["user_id"]) for _, r in
                      read_all(topics, topics.topic(EVENTS), "ClickEvent")
                      if r["visitor_id"] == visitor and r["event_type"] == "custom"]
            return set(updates + events)

        person = resolve_pseudonyms(topics).of(email)
        claim = device_claim(unsigned_visitor, email, resolve_pseudonyms(topics))
        found = wait_until("both identifies and events on the topics",
                           lambda: len(users(signed_visitor)) == 2
                           and len(users(unsigned_visitor)) == 2 and
                           (users(signed_visitor), users(unsigned_visitor)))
    assert found == ({("update", person), ("event", person)},
                     {("update", claim), ("event", claim)})
    assert email not in repr(found)
