"""The seed's four stories in headless Chromium, through the real pipeline: the demo site's
pages, the tracker, the collector, Kafka, the real worker (``rtp worker`` as a child
process), delivery, and the page painting what delivery serves.

The worker runs with the test-only story override (``--story-override``, see
``pipeline/decide/story.py``) for this module's visitor prefix: those visitors are never in
the control group, and when the story's action is eligible the worker chooses it (otherwise
the bandit's draw would make the story a coin toss). Eligibility — the page, the sector, the
struggle signals, the thresholds, the guardrails, the payload's live values — is the real
worker's, from what the browser did.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from pipeline.decide import StoryOverride
from pipeline.settings import Settings
from pipeline.topics import SIGNALS, apply_topics, topic_specs
from tests.e2e.test_storefront import context_for, paint_log, read_all, wait_until
from tests.e2e.webtier import WebTier
from tests.integration.worker_process import WorkerProcess

#: The catalog actions of the seed's four stories.
STORY_ACTIONS = ("free_express_shipping", "walkthrough_video_nudge", "rooms_left_cue",
                 "one_click_eligibility_check")


@dataclasses.dataclass(frozen=True)
class StoryRun:
    settings: Settings
    tier: WebTier
    prefix: str

    def visitor(self, name: str) -> str:
        return f"{self.prefix}{name}-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def story_run(kafka: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoryRun]:
    """One real worker with the story override and the web tier, on a fresh topic prefix."""
    settings = dataclasses.replace(kafka, topic_prefix=f"it-{uuid.uuid4().hex[:10]}.")
    apply_topics(settings.bootstrap, topic_specs(settings.partitions, settings.replication,
                                                 settings.topic_prefix))
    prefix = f"story-{uuid.uuid4().hex[:6]}-"
    workdir = tmp_path_factory.mktemp("stories")
    worker = WorkerProcess(settings, workdir / "data", workdir / "worker.log", profiles=False,
                           learner=False, story=StoryOverride(prefix, STORY_ACTIONS))
    try:
        worker.wait_ready()
        # budget 2 s: a loaded 2-core machine must not turn a story into a late decision
        with WebTier(settings, budget_ms=2000) as tier:
            yield StoryRun(settings, tier, prefix)
    finally:
        worker.stop()


def _open(browser: Browser, visitor: str) -> tuple[BrowserContext, Page]:
    context = context_for(browser, visitor)
    return context, context.new_page()


def _resolved(page: Page, slot: str) -> None:
    page.wait_for_function(f"document.querySelector('[data-rtp-slot={slot}][data-rtp-state]')")


def _text_appears(page: Page, selector: str, text: str, story: str) -> str:
    def found() -> str | None:
        shown = page.inner_text(selector) if page.query_selector(selector) else ""
        return shown if text in shown else None

    try:
        return str(wait_until(f"{text!r} in {selector}", found, timeout=60))
    except AssertionError as timeout:
        steps = [(e["step"], e["slot"], e.get("action")) for e in paint_log(page)
                 if e["step"] not in ("frame", "mutation")]
        raise AssertionError(f"{story}: {timeout}; the page logged {steps}") from None


def _signals(run: StoryRun, visitor: str, rule: str) -> list[dict[str, Any]]:
    return [s for key, s in read_all(run.settings, run.settings.topic(SIGNALS), "StruggleSignal")
            if key == visitor.encode() and s["rule"] == rule]


def _done(context: BrowserContext, page: Page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"e2e-story-{name}.png"))
    assert context.page_errors == []  # type: ignore[attr-defined]
    context.close()


def _reason(page: Page, slot: str) -> str:
    """The reason behind the slot's "Why am I seeing this?" (as decided by the worker)."""
    return str(page.eval_on_selector(f"{slot} .rtp-why span", "e => e.textContent"))


def test_headphones_free_express_shipping(story_run: StoryRun, browser: Browser,
                                          artifacts: Path) -> None:
    visitor = story_run.visitor("headphones")
    context, page = _open(browser, visitor)
    for _ in range(3):
        page.goto(story_run.tier.delivery_url + "/shop/p/nc700.html")
        _resolved(page, "hero")
    page.click("text=Shipping & Returns >> nth=0")
    page.wait_for_url("**/shop/shipping.html")
    _text_appears(page, "#hero", "Free express shipping for the next 20 minutes", "headphones")
    assert page.inner_text("#hero .rtp-countdown").endswith(" left")  # the offer's countdown
    assert page.get_attribute("#hero", "data-rtp-content") == "personalized"
    # the worker's reason reached the page: the rule and the signal that triggered it
    assert _reason(page, "#hero") == (
        "Personalized for you: time-limited free express shipping banner for a visitor worried "
        "about delivery speed. Why: you paused on this page for a while.")
    [signal] = wait_until("the hesitation signal", lambda: _signals(story_run, visitor,
                                                                    "hesitation"))
    assert signal["details"]["variant"] == "revisits"
    _done(context, page, artifacts, "headphones")


def test_saas_walkthrough_video(story_run: StoryRun, browser: Browser, artifacts: Path) -> None:
    visitor = story_run.visitor("saas")
    context, page = _open(browser, visitor)
    page.goto(story_run.tier.delivery_url + "/shop/saas/reports.html")
    _resolved(page, "overlay")
    assert "walkthrough" not in page.inner_text("body")  # one look is not circling
    page.goto(story_run.tier.delivery_url + "/shop/saas/reports.html")  # back again
    shown = _text_appears(page, "[data-rtp-slot=overlay]", "30-second walkthrough", "saas")
    assert "See this feature in action" in shown
    assert page.is_visible("[data-rtp-slot=overlay]")
    _done(context, page, artifacts, "saas")


def test_travel_only_2_rooms_left_as_availability_falls(story_run: StoryRun, browser: Browser,
                                                        artifacts: Path) -> None:
    visitor = story_run.visitor("travel")
    context, page = _open(browser, visitor)
    page.goto(story_run.tier.delivery_url + "/shop/travel/search.html")
    _resolved(page, "inline")
    availability = [page.inner_text("#hotel-sacre-coeur .left")]
    for _ in range(3):  # the visitor keeps refreshing the same results
        page.click("#refresh")
        availability.append(page.inner_text("#hotel-sacre-coeur .left"))
    assert availability == ["5", "4", "3", "2"]
    shown = _text_appears(page, "#scarcity", "Only 2 rooms left at this price", "travel")
    assert page.inner_text("#scarcity .rtp-banner").strip() == "Only 2 rooms left at this price"
    assert shown.startswith("Only 2 rooms left at this price")
    assert _reason(page, "#scarcity").endswith("Why: you repeated or refreshed your search.")
    [signal] = wait_until("the search refresh loop signal",
                          lambda: _signals(story_run, visitor, "search_refresh_loop"))
    assert signal["details"]["repeats"] == "3"
    _done(context, page, artifacts, "travel")


def test_finance_one_click_eligibility_check(story_run: StoryRun, browser: Browser,
                                             artifacts: Path) -> None:
    visitor = story_run.visitor("finance")
    context, page = _open(browser, visitor)
    page.goto(story_run.tier.delivery_url + "/shop/finance/calculator.html")
    _resolved(page, "overlay")
    for field, value in (("#amount", "320000"), ("#years", "30"), ("#amount", "280000")):
        page.fill(field, value)
        page.press(field, "Tab")  # a change is committed when the field loses focus
    # the fiddling was detected before the visitor moves on (the events are on their way)
    wait_until("the calculator fiddling signal",
               lambda: _signals(story_run, visitor, "calculator_fiddling"))
    page.click("#eligibility-tab")
    page.wait_for_url("**/shop/finance/eligibility.html")
    shown = _text_appears(page, "#assist", "Check your eligibility in one click", "finance")
    assert page.inner_text("#assist .rtp-banner").strip() == "Check your eligibility in one click"
    assert shown.startswith("Check your eligibility in one click")
    assert _reason(page, "#assist").startswith(
        "Personalized for you: offer a one-click eligibility check")
    _done(context, page, artifacts, "finance")
