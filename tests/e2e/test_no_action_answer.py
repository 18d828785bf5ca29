"""A page whose view the worker decides nothing for shows its slots at once, in headless
Chromium with the real worker, delivery and collector on the real broker.

The tracker marks the page view it waits for (``wait: 1``: the collector produces it with
the ``rtp-wait`` header); the worker decides it (here: a visitor of the control group, which
is logged and never served) and, since it delivers no action, writes "decided: nothing" to
``personalization.answers``; delivery answers the held request at once. The budget is set
to a minute: without the answer the slots would stay hidden that long (the page would time
out waiting for them). How the wait ended is read from the page's paint record (the
tracker's ``answer`` step carries delivery's ``X-RTP-Wait``), never from timing.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from playwright.sync_api import Browser

from pipeline.decide import assign_arm
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, ANSWERS, DECISIONS_LOG
from tests.e2e.test_same_page import decision_of
from tests.e2e.test_storefront import context_for, paint_log, read_all, slot_entries, wait_until
from tests.e2e.webtier import WebTier
from tests.e2e.worker import REAL, personalization_worker

#: A minute: far beyond any decision on a busy machine; only an answer ends the hold early.
BUDGET_MS = 60_000


def test_a_page_that_decides_nothing_shows_its_slots_without_waiting_the_budget(
        topics: Settings, browser: Browser, artifacts: Path, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    visitor = next(v for v in (f"e2e-quiet-{run}-{i}" for i in range(1000))
                   if assign_arm(v) == "control")
    with personalization_worker(topics, tmp_path, learner=False) as worker, \
            WebTier(topics, budget_ms=BUDGET_MS, max_wait_ms=BUDGET_MS) as tier:
        assert worker == REAL, "the answer comes from the real worker"
        context = context_for(browser, visitor)
        page = context.new_page()
        page.goto(tier.shop)
        # every slot of the page shown (its default), well before the minute
        page.wait_for_function("""() => {
            const slots = [...document.querySelectorAll('[data-rtp-slot]')];
            return slots.length > 0 && slots.every(s => s.hasAttribute('data-rtp-state'));
        }""", timeout=30_000)
        log = paint_log(page)
        page.screenshot(path=str(artifacts / "e2e-no-action-answer.png"))
        assert context.page_errors == []  # type: ignore[attr-defined]
        context.close()
        trigger = next(e for e in log if e["step"] == "ask")["trigger"]
        chosen = decision_of(topics, trigger)
        answers = wait_until("the answer", lambda: [
            r for _, r in read_all(topics, topics.topic(ANSWERS), "Answer")
            if r["trigger_event_id"] == trigger])
        actions = [r for _, r in read_all(topics, topics.topic(ACTIONS), "Decision")]
        logged = [r for _, r in read_all(topics, topics.topic(DECISIONS_LOG), "DecisionLog")]

    # the worker decided this page view (control: logged, nothing served) and said so
    assert chosen["experiment_arm"] == "control" and chosen["visitor_id"] == visitor
    assert [(a["visitor_id"], a["decided"]) for a in answers] == [(visitor, "nothing")]
    assert not [a for a in actions if a["trigger_event_id"] == trigger]
    assert [d["decision"]["trigger_event_id"] for d in logged
            if d["decision"]["visitor_id"] == visitor] == [trigger]
    # the request ended by that answer: in budget, the defaults revealed, nothing applied
    steps = [e["step"] for e in log if e["slot"] is None]
    answer = next(e for e in log if e["step"] == "answer")
    assert answer["wait"] == "nothing"
    assert "budget-expired" not in steps and "late-answer" not in steps
    reveals = [e for e in log if e["step"].startswith("reveal-")]
    assert reveals and {e["step"] for e in reveals} == {"reveal-default"}
    assert not [e for e in log if e["step"].endswith("apply")]
    assert log.index(answer) < log.index(reveals[0])
    hero = [e for e in slot_entries(log, "hero") if e["visible"]]
    assert hero and {e["content"] for e in hero} == {"default"}
