"""rtp.js and device authentication in headless Chromium: every batch carries the visitor's token.

- A browser with a stored visitor id but no token (an older tracker's, or an id a site set)
  never sends that id: it gets a new id and token from the collector, and its page view is
  produced under the new id; nothing is produced under the old one and the collector
  refuses nothing (the tracker never tried).
- A token past half its lifetime is renewed by the collector's answer to the page's batch,
  for the same visitor, and kept in localStorage.
- A browser holding another visitor's valid token for the stored id (a tampered storage) is
  refused (403) and nothing is produced for the id it names.
"""

from __future__ import annotations

import time
import uuid

from playwright.sync_api import Browser, BrowserContext

from pipeline.settings import Settings
from pipeline.topics import EVENTS
from pipeline.web.visitor_token import VisitorTokens
from tests.e2e.test_storefront import read_all, wait_until
from tests.e2e.webtier import TOKEN_KEY, WebTier


def _context(browser: Browser, stored: dict[str, str]) -> BrowserContext:
    context = browser.new_context()
    errors: list[str] = []
    context.page_errors = errors  # type: ignore[attr-defined]
    context.on("weberror", lambda e: errors.append(str(e.error)))
    sets = "".join(f"localStorage.setItem({k!r}, {v!r});" for k, v in
                   {"rtp.consent": "1", **stored}.items())
    # only on the first load of the context (a later page keeps what the tracker stored)
    context.add_init_script("if (location.protocol.startsWith('http') && "
                            f"!sessionStorage.getItem('e2e.set')) {{ {sets} "
                            "sessionStorage.setItem('e2e.set', '1'); }")
    return context


def _keys(settings: Settings) -> list[bytes | None]:
    return [key for key, _ in read_all(settings, settings.topic(EVENTS), "ClickEvent")]


def _refused(tier: WebTier, status: str) -> float:
    return tier.collector.state.metrics.registry.get_sample_value(
        "rtp_collector_refused_total", {"status": status}) or 0.0


def test_a_stored_id_without_a_token_gets_a_new_id_and_is_never_sent(
        topics: Settings, browser: Browser) -> None:
    old = f"v-old-{uuid.uuid4().hex[:8]}"
    with WebTier(topics) as tier:
        context = _context(browser, {"rtp.vid": old})
        page = context.new_page()
        page.goto(tier.shop)
        page.wait_for_function(f"localStorage.getItem('rtp.vtok') !== null && "
                               f"localStorage.getItem('rtp.vid') !== {old!r}")
        new = page.evaluate("localStorage.getItem('rtp.vid')")
        token = page.evaluate("localStorage.getItem('rtp.vtok')")
        assert new.startswith("v-") and new != old
        assert VisitorTokens((TOKEN_KEY,)).verify(token) == new
        keys = wait_until("the page view under the new id",
                          lambda: (lambda k: k if new.encode() in k else None)(_keys(topics)))
        assert old.encode() not in keys
        assert _refused(tier, "401") == 0 and _refused(tier, "403") == 0
        assert context.page_errors == []  # type: ignore[attr-defined]
        context.close()


def test_a_token_past_half_its_lifetime_is_renewed_by_the_batchs_answer(
        topics: Settings, browser: Browser) -> None:
    visitor = f"v-aging-{uuid.uuid4().hex[:8]}"
    aging = VisitorTokens((TOKEN_KEY,), clock=lambda: time.time() - 13 * 3600).issue(visitor)
    with WebTier(topics) as tier:
        context = _context(browser, {"rtp.vid": visitor, "rtp.vtok": aging})
        page = context.new_page()
        page.goto(tier.shop)
        page.wait_for_function(f"localStorage.getItem('rtp.vtok') !== {aging!r}")
        renewed = page.evaluate("localStorage.getItem('rtp.vtok')")
        assert page.evaluate("localStorage.getItem('rtp.vid')") == visitor
        tokens = VisitorTokens((TOKEN_KEY,))
        assert tokens.verify(renewed) == visitor
        assert tokens.expires_at(renewed) > tokens.expires_at(aging) + 12 * 3600
        wait_until("the page view under the same id", lambda: visitor.encode() in _keys(topics))
        assert _refused(tier, "401") == 0
        context.close()


def test_another_visitors_token_in_storage_is_refused_and_produces_nothing(
        topics: Settings, browser: Browser) -> None:
    victim = f"v-victim-{uuid.uuid4().hex[:8]}"
    with WebTier(topics) as tier:
        context = _context(browser, {"rtp.vid": victim,
                                     "rtp.vtok": WebTier.token(f"{victim}-mallory")})
        page = context.new_page()
        page.goto(tier.shop)
        wait_until("the collector's refusal", lambda: _refused(tier, "403") >= 1)
        assert _refused(tier, "401") == 0
        assert victim.encode() not in _keys(topics)
        context.close()
