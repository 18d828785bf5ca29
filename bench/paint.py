"""Browser-measured time from navigation start to the hero slot's paint, over many page loads.

The demo stack runs as the browser tests run it, on the real broker under a fresh topic
prefix: one ``rtp worker`` (:class:`pipeline.processes.WorkerProcess`; no learner, as
``rtp worker`` runs by default, so the model stays the fresh one and the decision mix
does not drift over the run) and the web tier (:class:`pipeline.processes.WebProcess`:
``rtp delivery --with-collector``, the storefront, the default slot budget of 150 ms).
Headless Chromium (``/usr/bin/chromium`` through Playwright, as tests/e2e drive it) loads
the storefront's home page ``PAGES`` times per group (times ``RTP_BENCH_SCALE``, at least
30), one after the other, each time as a fresh visitor (a new browser context) arriving
from an ad campaign (utm parameters), so ``hero_by_traffic_source`` is the action to
expect. Two groups of visitors, their pages interleaved so both see the same machine:

``stored id``
    The visitor's id and token are set in the page's storage before it loads (as a
    visitor identified on an earlier visit); every one is of the personalized arm
    (:func:`pipeline.decide.assign_arm`): the control group is excluded by construction,
    and a page whose decision was logged for the control arm stops the bench.
``first visit``
    Empty storage (no id, no token, no consent record; the storefront without its consent
    banner, ``--no-consent-banner``): the tracker sends the first page view without an id,
    the collector's answer brings one and its token, and only then does the tracker ask
    delivery (one collector round trip later). The collector chooses the id, so about 10%
    of these visitors are in the control group (their own category).

``python -m bench.paint --visitors first`` (or ``stored``) measures one group only.

From each page's own record (``window.__rtpPaintLog``: ``t`` is ``performance.now()``, ms
since navigation start) the bench takes the first animation frame in which the hero was
visible (the tracker logs a slot's state in the frame before it is painted) and what it
showed (``personalized`` or ``default``). Each default page is explained from the topics:
the worker decided "no action" for that page view (``personalization.decisions.log``;
"no action" is not produced to ``personalization.actions``: the worker answers "decided:
nothing" on ``personalization.answers`` for the page view the tracker waits on, and
delivery answers the held request at once, ``X-RTP-Wait: nothing``), it decided an action
too late for the budget, or no decision was logged. **Cross-check**: every page that
painted a decision must find that decision (same id, same trigger event, same visitor)
on ``personalization.actions``; if one does not, the bench fails instead of printing the
count.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import tempfile
import time
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.common import BenchError, bench_scale, kafka_prefix, load_note, percentile, scaled
from bench.record import write
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, DECISIONS_LOG, EVENTS

__all__ = ["CATEGORIES", "GROUPS", "PAGES", "PageLoad", "classify", "cross_check",
           "page_load", "run", "summarize"]

PAGES = 300
WARMUP_PAGES = 5
BUDGET_MS = 150  # delivery's default slot budget (DeliveryOptions.budget_ms)
AD_LANDING = "?utm_source=google&utm_medium=cpc&utm_campaign=summer-sale"
EXPECTED_ACTION = "hero_by_traffic_source"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TOKEN_KEY_BYTES = 16

PERSONALIZED = "personalized"
AFTER_BUDGET = "personalized after the budget"
NO_ACTION = "default: no action decided"
LATE = "default: decided too late"
UNDECIDED = "default: no decision logged"
CONTROL = "default: control group"
#: The rows' categories, in table order (every page is in exactly one).
CATEGORIES = (PERSONALIZED, AFTER_BUDGET, NO_ACTION, LATE, UNDECIDED, CONTROL)
#: The visitor groups (``visitors`` column).
STORED = "stored id"
FIRST_VISIT = "first visit"
GROUPS = (STORED, FIRST_VISIT)


@dataclasses.dataclass(frozen=True)
class PageLoad:
    """One page load as its paint record tells it.

    ``paint_ms``: navigation start → the first frame with the hero visible; ``ask_ms``:
    navigation start → the tracker asking delivery; ``content``: what that frame showed;
    ``applied``: the decision id the tracker put into the hero before that frame (None:
    the default), ``applied_by`` the tracker's step (``apply``: the answer within the budget;
    ``late-apply`` or ``sse-apply``: after it); ``answer``: how the tracker's wait ended
    (``answer`` within the budget, ``late-answer`` or ``none``); ``wait``: delivery's
    ``X-RTP-Wait`` on that answer (``arrived``, ``seen``, ``nothing``, ``timeout``...; empty:
    no answer).
    """

    visitor: str
    trigger: str
    paint_ms: float
    ask_ms: float
    content: str
    applied: str | None
    applied_by: str | None
    answer: str
    wait: str = ""

    @property
    def ask_to_paint_ms(self) -> float:
        """The tracker asking delivery → the hero's first painted frame."""
        return self.paint_ms - self.ask_ms


def page_load(visitor: str, log: Sequence[Mapping[str, Any]]) -> PageLoad:
    """Read one page's ``window.__rtpPaintLog``.

    >>> log = [{"t": 20.0, "step": "ask", "slot": None, "trigger": "e1"},
    ...        {"t": 21.0, "step": "frame", "slot": "hero", "visible": False,
    ...         "content": "default"},
    ...        {"t": 90.0, "step": "answer", "slot": None, "wait": "arrived"},
    ...        {"t": 90.5, "step": "apply", "slot": "hero", "decision": "d1"},
    ...        {"t": 97.0, "step": "frame", "slot": "hero", "visible": True,
    ...         "content": "personalized"}]
    >>> page_load("v1", log)
    PageLoad(visitor='v1', trigger='e1', paint_ms=97.0, ask_ms=20.0, content='personalized', \
applied='d1', applied_by='apply', answer='answer', wait='arrived')
    """
    ask = next((e for e in log if e["step"] == "ask"), None)
    if ask is None:
        steps = [e["step"] for e in log]
        raise BenchError(f"visitor {visitor}: the tracker never asked delivery ({steps})")
    shown = next((e for e in log if e["slot"] == "hero" and e["step"] == "frame"
                  and e.get("visible")), None)
    if shown is None:
        raise BenchError(f"visitor {visitor}: the hero was never painted visible")
    applied = next((e for e in log if e["slot"] == "hero" and e["step"].endswith("apply")
                    and e["t"] <= shown["t"]), None)
    answered = next((e for e in log if e["step"] in ("answer", "late-answer")), None)
    answer = "none" if answered is None else str(answered["step"])
    wait = "" if answered is None else str(answered.get("wait") or "")
    return PageLoad(visitor=visitor, trigger=str(ask["trigger"]), paint_ms=float(shown["t"]),
                    ask_ms=float(ask["t"]), content=str(shown["content"]),
                    applied=None if applied is None else str(applied["decision"]),
                    applied_by=None if applied is None else str(applied["step"]), answer=answer,
                    wait=wait)


def classify(page: PageLoad, decided: Mapping[str, str],
             control: Collection[str] = ()) -> str:
    """The page's category; ``decided`` maps trigger event ids to the logged action id,
    ``control`` holds the triggers decided for the control arm.

    >>> page = PageLoad("v", "e1", 100.0, 20.0, "default", None, None, "answer")
    >>> classify(page, {"e1": "no_action"}), classify(page, {"e1": "hero_by_traffic_source"})
    ('default: no action decided', 'default: decided too late')
    >>> classify(page, {})
    'default: no decision logged'
    >>> painted = dataclasses.replace(page, content="personalized", applied="d1",
    ...                               applied_by="apply")
    >>> classify(painted, {}), classify(dataclasses.replace(painted, applied_by="sse-apply"), {})
    ('personalized', 'personalized after the budget')
    >>> classify(page, {"e1": "hero_by_traffic_source"}, control={"e1"})
    'default: control group'
    """
    if page.content == "personalized":
        return PERSONALIZED if page.applied_by == "apply" else AFTER_BUDGET
    if page.trigger in control:
        return CONTROL
    action = decided.get(page.trigger)
    if action is None:
        return UNDECIDED
    return NO_ACTION if action == "no_action" else LATE


def cross_check(pages: Iterable[PageLoad], actions: Iterable[Mapping[str, Any]]) -> list[str]:
    """Pages that painted a decision not on ``personalization.actions`` as painted (the same
    decision id, triggered by that page's view, for that visitor): what is wrong with each.

    >>> page = PageLoad("v1", "e1", 100.0, 20.0, "personalized", "d1", "apply", "answer")
    >>> ok = {"decision_id": "d1", "trigger_event_id": "e1", "visitor_id": "v1"}
    >>> cross_check([page], [ok])
    []
    >>> cross_check([page], [{**ok, "trigger_event_id": "e0"}])
    ['v1: painted d1 for trigger e1; on the actions topic: d1 for trigger e0 (visitor v1)']
    >>> cross_check([page], [])
    ['v1: painted d1 for trigger e1; not on the actions topic']
    """
    by_id = {str(a["decision_id"]): a for a in actions}
    problems: list[str] = []
    for page in pages:
        if page.content != "personalized":
            continue
        found = by_id.get(str(page.applied))
        if found is None:
            problems.append(f"{page.visitor}: painted {page.applied} for trigger "
                            f"{page.trigger}; not on the actions topic")
        elif (found["trigger_event_id"], found["visitor_id"]) != (page.trigger, page.visitor):
            problems.append(f"{page.visitor}: painted {page.applied} for trigger "
                            f"{page.trigger}; on the actions topic: {found['decision_id']} for "
                            f"trigger {found['trigger_event_id']} (visitor "
                            f"{found['visitor_id']})")
    return problems


def summarize(pages: Sequence[tuple[str, float, float]],
              visitors: str = STORED) -> list[dict[str, Any]]:
    """Rows from (category, navigation start → paint ms, ask → paint ms) per page of one
    group of ``visitors``: all pages, then each category of :data:`CATEGORIES`; ``share``
    is of all pages, percentiles by nearest rank.

    >>> rows = summarize([("personalized", 80.0, 40.0), ("personalized", 100.0, 60.0),
    ...                   ("default: no action decided", 160.0, 125.0),
    ...                   ("default: decided too late", 170.0, 130.0)])
    >>> [(r["pages"], r["n"], r["share"], r["paint_p50_ms"], r["ask_to_paint_p50_ms"])
    ...  for r in rows]  # doctest: +NORMALIZE_WHITESPACE
    [('all', 4, 1.0, 100.0, 60.0), ('personalized', 2, 0.5, 80.0, 40.0),
     ('personalized after the budget', 0, 0.0, nan, nan),
     ('default: no action decided', 1, 0.25, 160.0, 125.0),
     ('default: decided too late', 1, 0.25, 170.0, 130.0),
     ('default: no decision logged', 0, 0.0, nan, nan),
     ('default: control group', 0, 0.0, nan, nan)]
    >>> rows[0]["visitors"]
    'stored id'
    """
    total = len(pages)
    rows = []
    for name in ("all", *CATEGORIES):
        mine = [(paint, ask) for category, paint, ask in pages if name in ("all", category)]
        times, asks = [m[0] for m in mine], [m[1] for m in mine]
        rows.append({
            "visitors": visitors, "pages": name, "n": len(times),
            "share": len(times) / total if total else 0.0,
            "paint_p50_ms": percentile(times, 50), "paint_p99_ms": percentile(times, 99),
            "paint_max_ms": max(times) if times else float("nan"),
            "ask_to_paint_p50_ms": percentile(asks, 50),
            "ask_to_paint_p99_ms": percentile(asks, 99),
        })
    return rows


# -- the measurement -----------------------------------------------------------------------

def _visitors(count: int) -> list[str]:
    """``count`` fresh visitor ids of the personalized arm (the worker's control share)."""
    from pipeline.decide import assign_arm

    run = uuid.uuid4().hex[:8]
    ids = (f"paint-{run}-{i}" for i in range(count * 3 + 100))
    out = [v for v in ids if assign_arm(v) == "personalized"][:count]
    if len(out) < count:
        raise BenchError("too few visitor ids of the personalized arm")
    return out


def _read_all(settings: Settings, topic: str, schema: str) -> list[dict[str, Any]]:
    """Every record now on ``topic`` (up to its high watermarks), decoded."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    from pipeline.serde import Codec

    codec = Codec.default()
    consumer = Consumer({"bootstrap.servers": settings.bootstrap, "enable.auto.commit": False,
                         "group.id": f"{settings.topic_prefix}paint-reader"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in partitions}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        out: list[dict[str, Any]] = []
        remaining = {p: end for p, end in ends.items() if end > 0}
        deadline = time.monotonic() + 60
        while remaining and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            if msg.value() is not None:
                out.append(dict(codec.decode(msg.value(), (schema,))[1]))
            if (msg.offset() or 0) + 1 >= remaining.get(msg.partition() or 0, 0):
                remaining.pop(msg.partition(), None)
        if remaining:
            raise BenchError(f"could not read {topic} to its end within 60 s")
        return out
    finally:
        consumer.close()


def _load_page(browser: Any, url: str, visitor: str | None, token: Any) -> PageLoad:
    """One visit to ``url`` in a fresh browser context: ``visitor`` and its token stored
    before the page loads, or (None) a first visit with empty storage."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    if visitor is not None:
        context.add_init_script(
            f"localStorage.setItem('rtp.vid', {visitor!r});"
            f"localStorage.setItem('rtp.vtok', {token(visitor)!r});"
            "localStorage.setItem('rtp.consent', '1');")
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("""() => (window.__rtpPaintLog || []).some(e =>
            e.slot === 'hero' && e.step === 'frame' && e.visible)""", timeout=30_000)
        log = page.evaluate("window.__rtpPaintLog")
        given = visitor or page.evaluate("localStorage.getItem('rtp.vid')")
        if not given:
            raise BenchError("a first-time visitor was given no visitor id by the collector")
        return page_load(str(given), log)
    finally:
        context.close()


def _load_pages(browser: Any, url: str, stored: Sequence[str], first: int,
                token: Any) -> dict[str, list[PageLoad]]:
    """The stored-id visitors' pages and ``first`` first visits, interleaved; by group."""
    pages: dict[str, list[PageLoad]] = {STORED: [], FIRST_VISIT: []}
    for i in range(max(len(stored), first)):
        if i < len(stored):
            pages[STORED].append(_load_page(browser, url, stored[i], token))
        if i < first:
            pages[FIRST_VISIT].append(_load_page(browser, url, None, token))
    return pages


def _measure(settings: Settings, workdir: Path, counts: Mapping[str, int]
             ) -> tuple[dict[str, list[PageLoad]], dict[str, str], set[str],
                        list[dict[str, Any]]]:
    """Start the stack, load the pages (``counts`` per group); (pages by group, action by
    trigger, the triggers decided for the control arm, actions)."""
    from playwright.sync_api import sync_playwright

    from pipeline.processes import WebProcess, WorkerProcess, wait_caught_up
    from pipeline.web.visitor_token import VisitorTokens

    key = uuid.uuid4().hex[:TOKEN_KEY_BYTES * 2]
    settings = dataclasses.replace(settings, visitor_token_keys=key)
    tokens = VisitorTokens((key,))
    executable = CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")
    if executable is None:
        raise BenchError("the paint bench needs Debian's chromium (/usr/bin/chromium)")
    stored = counts.get(STORED, 0)
    first = counts.get(FIRST_VISIT, 0)
    warm, visitors = _visitors(WARMUP_PAGES if stored else 0), _visitors(stored)
    worker = WorkerProcess(settings, workdir / "worker-data", workdir / "worker.log",
                           learner=False)
    web: WebProcess | None = None
    try:
        # no consent banner: a first-time visitor's first page is tracked (stored-id
        # visitors have their consent stored, so it makes no difference to them)
        web = WebProcess(settings, workdir / "web.log", consent_banner=False)
        worker.wait_ready(timeout=180)
        web.wait_ready(timeout=60)
        url = f"{web.url}/shop/{AD_LANDING}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
            try:
                # the worker's first decisions pay for its first use of the model, Chromium
                # for its first page: not measured
                _load_pages(browser, url, warm, WARMUP_PAGES if first else 0, tokens.issue)
                pages = _load_pages(browser, url, visitors, first, tokens.issue)
            finally:
                browser.close()
        wait_caught_up(worker, [settings.topic(EVENTS)], timeout=60)
        time.sleep(1.0)  # the last outputs' way to the broker after the offsets' commit
        logs = _read_all(settings, settings.topic(DECISIONS_LOG), "DecisionLog")
        actions = _read_all(settings, settings.topic(ACTIONS), "Decision")
    except (TimeoutError, RuntimeError) as exc:
        raise BenchError(f"the stack did not run: {exc}\n{worker.tail()}") from exc
    finally:
        if web is not None:
            with contextlib.suppress(Exception):
                web.stop()
        with contextlib.suppress(Exception):
            worker.stop()
    measured = {page.trigger: (group, page) for group, mine in pages.items() for page in mine}
    decided: dict[str, str] = {}
    control: set[str] = set()
    for record in logs:
        decision = record["decision"]
        trigger = str(decision["trigger_event_id"])
        if trigger in measured:
            group, page = measured[trigger]
            if decision["experiment_arm"] != "personalized":
                if group == STORED:
                    raise BenchError(f"visitor {page.visitor} was decided for the "
                                     f"{decision['experiment_arm']} arm: not the one measured")
                control.add(trigger)
            decided[trigger] = str(decision["action_id"])
    return pages, decided, control, actions


def _group_note(group: str, pages: Sequence[PageLoad], by: Mapping[str, Mapping[str, Any]],
                decided: Mapping[str, str], control: Collection[str],
                actions: Sequence[Mapping[str, Any]]) -> str:
    """What one group's rows say, in words."""
    painted_actions = sorted({a["action_id"] for a in actions
                              if a["decision_id"] in {p.applied for p in pages}})
    hero_decided = by[PERSONALIZED]["n"] + by[AFTER_BUDGET]["n"] + by[LATE]["n"]
    asks = [page.ask_ms for page in pages]
    triggers = {page.trigger for page in pages}
    on_actions = sum(1 for a in actions if a["trigger_event_id"] in triggers)
    logged_actions = sum(1 for t, action in decided.items()
                         if t in triggers and t not in control and action != "no_action")
    who = ("fresh visitors of the personalized arm with their id and token stored"
           if group == STORED else "first-time visitors (empty storage)")
    return (
        f"**{group}**: {len(pages)} first pages of {who} landing on the home "
        f"page from an ad campaign: **{by[PERSONALIZED]['share']:.1%} personalized within the "
        f"{BUDGET_MS} ms budget** (hero painted with the decision on that page's own view, "
        f"each confirmed on personalization.actions: same decision id, trigger and visitor), "
        f"{1 - by[PERSONALIZED]['share']:.1%} fell back to the default "
        f"({by[NO_ACTION]['n']} the worker decided no action for, {by[LATE]['n']} decided too "
        f"late, {by[UNDECIDED]['n']} with no decision logged, {by[CONTROL]['n']} in the "
        f"control group; {by[AFTER_BUDGET]['n']} showed a decision first only after the "
        f"budget; {sum(p.wait == 'nothing' for p in pages)} were answered at once with "
        f"\"decided: nothing\", X-RTP-Wait nothing). Of the pages the worker did decide an "
        f"action for (personalized arm), "
        f"{by[PERSONALIZED]['n']} of {hero_decided} were painted with it within the budget. "
        f"Painted actions: {', '.join(painted_actions) or 'none'}; decisions with an action "
        f"for these page views: {logged_actions} in the decision log, {on_actions} on "
        f"personalization.actions. Navigation start to the "
        f"hero's first painted frame: p50 {by['all']['paint_p50_ms']:.0f} ms, p99 "
        f"{by['all']['paint_p99_ms']:.0f} ms over all pages; navigation start to the tracker "
        f"asking delivery p50 {percentile(asks, 50):.0f} ms, p99 {percentile(asks, 99):.0f} ms"
        + (" (the page and its script)." if group == STORED else
           " (the page, its script and the collector's answer to the first batch); "
           f"{sum(p.ask_ms > p.paint_ms for p in pages)} asked only after the hero was "
           "painted (the budget ran out before the collector answered: ask_to_paint is "
           "negative for those)."))


def run(groups: Sequence[str] = GROUPS) -> list[dict[str, Any]]:
    """Measure ``groups`` (:data:`GROUPS`) and record; returns the rows."""
    unknown = [g for g in groups if g not in GROUPS]
    if unknown or not groups:
        raise BenchError(f"visitor groups are {GROUPS}, not {list(groups)}")
    scale = bench_scale()
    count = int(scaled(PAGES, scale, 30))
    load_before = load_note()
    with tempfile.TemporaryDirectory(prefix="rtp-bench-paint-") as tmp, \
            kafka_prefix("paint") as settings:
        pages, decided, control, actions = _measure(settings, Path(tmp),
                                                    {g: count for g in groups})
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for group in groups:
        mine = pages[group]
        problems = cross_check(mine, actions)
        if problems:
            raise BenchError("pages painted a decision that is not on the actions topic:\n"
                             + "\n".join(problems))
        categories = [classify(page, decided, control) for page in mine]
        group_rows = summarize([(c, page.paint_ms, page.ask_to_paint_ms)
                                for c, page in zip(categories, mine, strict=True)], group)
        rows += group_rows
        notes.append(_group_note(group, mine, {r["pages"]: r for r in group_rows}, decided,
                                 control, actions))
    if len(groups) == 2:
        first = percentile([p.ask_ms for p in pages[FIRST_VISIT]], 50)
        known = percentile([p.ask_ms for p in pages[STORED]], 50)
        notes.append(f"A first visit asks delivery {first - known:.0f} ms later at the median "
                     f"(p50 {first:.0f} vs {known:.0f} ms from navigation start): the "
                     f"collector's answer to the first batch, which brings the visitor's id "
                     f"and token, in the same run.")
    notes += [
        "ask_to_paint: the tracker asking delivery → the hero's first painted frame.",
        "",
        "Stack: one `rtp worker` (no learner: the fresh model, so the bandit's mix of the "
        "ad hero and no action does not drift over the run), `rtp delivery --with-collector "
        "--no-consent-banner` (default budget, the tracker holds its request up to budget - "
        "30 ms, less what has passed when a first visit asks), headless Chromium through "
        "Playwright, on the shared broker under a fresh topic prefix; pages loaded one after "
        "another (the groups interleaved) after warm-up pages. Times are the page's "
        "own `performance.now()` from `window.__rtpPaintLog` (the rAF before the frame that "
        "first shows the hero). \"No action\" and control-group pages are answered at once: "
        "the worker's \"decided: nothing\" on personalization.answers for the awaited page "
        "view ends the hold (before it did, they waited out the whole hold).",
        "",
        f"Shared 2-core machine (other engineers' work, the broker, the worker, the web tier "
        f"and Chromium on the same cores): {load_before} before, {load_note()} after. Scale "
        f"{scale} (RTP_BENCH_SCALE): {count} pages per group.",
    ]
    write("paint", rows, "\n".join(notes))
    return rows


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="paint time in the browser (bench/paint.py)")
    parser.add_argument("--visitors", choices=("stored", "first", "both"), default="both",
                        help="stored id, first visit (empty storage), or both interleaved")
    chosen = parser.parse_args().visitors
    for result in run({"stored": (STORED,), "first": (FIRST_VISIT,), "both": GROUPS}[chosen]):
        print(result)
