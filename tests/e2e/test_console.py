"""The live console in headless Chromium, against the topics of a real pipeline run.

Traffic (scripted visitors of both arms, rage clicks, purchases, and bad records on two
input topics) goes through the real worker (``rtp worker``) on the real broker; once the
worker has stopped, the topics are read back here and the figures computed independently
(distinct decision ids per arm and per action, distinct signal ids per rule, dead letters
per topic and reason, the event→action p99 from the record timestamps). The console page
is opened in Chromium, a screenshot is saved to ``tests/artifacts/console.png``, and the
numbers the page shows must equal those. The console's ``/metrics`` (scraped with the key
as a bearer token) must give the same numbers, and the experiment figures (visitors,
conversion rates, lift, both intervals, the headline metric) of ``/v1/console``.
"""

from __future__ import annotations

import json
import math
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from playwright.sync_api import Browser, Page

from pipeline.client import EventProducer, click_event
from pipeline.console.feed import ConsoleFeed
from pipeline.decide import assign_arm
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import DECISIONS_LOG, EVENTS, OUTCOMES, SIGNALS
from tests.e2e.console_tier import KEY as CONSOLE_KEY
from tests.e2e.console_tier import ConsoleTier
from tests.integration.scenarios import browser as browsing
from tests.integration.scenarios import headphones_shopper, rage_clicker
from tests.integration.worker_process import WorkerProcess, wait_caught_up
from tests.scrape import samples


def _visitors(run: str, arm: str, n: int) -> list[str]:
    ids = (f"con-{run}-{i}" for i in range(100_000))
    return [v for v in ids if assign_arm(v) == arm][:n]


def _traffic(settings: Settings) -> None:
    run = uuid.uuid4().hex[:6]
    start = int(time.time() * 1000) - 15 * 60 * 1000
    control, treated = _visitors(run, "control", 6), _visitors(run, "personalized", 12)
    events: list[dict[str, Any]] = []
    for i, visitor in enumerate(control + treated):
        script = (headphones_shopper, rage_clicker, browsing)[i % 3]
        own = script(visitor, start + i * 1000)
        events += own
        if i % 4 == 0:  # a purchase after the visit: a conversion of either arm
            events.append(click_event(visitor, "purchase", own[-1]["event_time"] + 5_000,
                                      event_id=f"{visitor}-buy", page_type="checkout",
                                      purchase={"order_id": f"o-{visitor}", "value": 40.0}))
    bad = {settings.topic(EVENTS): [b"\x00\x01 not avro"] * 3 + [b"\xc3\x01" + bytes(8)],
           settings.topic(OUTCOMES): [b"junk outcome"] * 2}
    with EventProducer(settings) as producer:
        for event in events:
            producer.send_event(event)
        for topic, values in bad.items():
            for value in values:
                producer.produce_raw(topic, value, b"bad-visitor")


def _read_all(settings: Settings, topic: str) -> list[Any]:
    """Every record of ``topic`` up to its end offsets now."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap, "group.id": "console-test",
                         "enable.auto.commit": False})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in meta.partitions}
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        left = {p: end for p, end in ends.items() if end > 0}
        out = []
        deadline = time.monotonic() + 60
        while left and time.monotonic() < deadline:
            for msg in consumer.consume(500, 0.5):
                if msg.error() is not None:
                    continue
                out.append(msg)
                if msg.offset() + 1 >= left.get(msg.partition(), math.inf):
                    left.pop(msg.partition())
        assert not left, f"{topic}: could not read to the end"
        return out
    finally:
        consumer.close()


def _expected(settings: Settings) -> dict[str, Any]:
    """The console's figures, computed here from the topics."""
    codec = Codec.default()

    def decoded(topic: str, kind: str) -> list[tuple[dict[str, Any], int]]:
        found = []
        for msg in _read_all(settings, topic):
            try:
                found.append((codec.decode(msg.value(), (kind,))[1], msg.timestamp()[1]))
            except Exception:  # the bad records we wrote ourselves
                continue
        return found

    decisions: dict[str, tuple[dict[str, Any], int]] = {}
    for log, at in decoded(settings.topic(DECISIONS_LOG), "DecisionLog"):
        decisions.setdefault(log["decision"]["decision_id"], (log, at))
    arms = Counter(log["decision"]["experiment_arm"] for log, _ in decisions.values())
    actions = Counter((log["decision"]["action_id"], log["decision"]["experiment_arm"])
                      for log, _ in decisions.values())
    signals = {s["signal_id"]: s["rule"] for s, _ in decoded(settings.topic(SIGNALS),
                                                             "StruggleSignal")}
    letters: Counter[tuple[str, str]] = Counter()
    for topic in ConsoleFeed.kinds(settings):
        if topic.endswith(".dlq"):
            for letter, _ in decoded(topic, "DeadLetter"):
                letters[(letter["source_topic"], letter["error_class"])] += 1
    sent = {e["event_id"]: at for e, at in decoded(settings.topic(EVENTS), "ClickEvent")}
    latencies = sorted(at - sent[log["decision"]["trigger_event_id"]]
                       for log, at in decisions.values()
                       if log["decision"]["trigger_event_id"] in sent)
    p99 = latencies[max(1, math.ceil(0.99 * len(latencies))) - 1]
    records = {}
    for topic in ConsoleFeed.kinds(settings):
        n = len(_read_all(settings, topic))
        if n:
            records[topic] = n
    return {"arms": dict(arms), "signals": dict(Counter(signals.values())),
            "dead_letters": dict(letters), "actions": dict(actions), "p99": p99,
            "records": records, "total": len(decisions)}


def _by_action(counts: dict[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (action, arm), n in counts.items():
        out.setdefault(action, {})[arm] = n
    return out


def _shown(page: Page) -> dict[str, Any]:
    """The numbers the page shows, read from its DOM."""
    return page.evaluate("""() => {
      const count = (tr, sel) => Number(tr.querySelector(sel).textContent);
      const rows = (id) => Array.from(document.querySelectorAll('#' + id + ' tbody tr'));
      const arms = {}, signals = {}, letters = {}, actions = {};
      rows('arms').forEach(tr => { arms[tr.dataset.arm] = count(tr, 'td.count'); });
      rows('signals').forEach(tr => { signals[tr.dataset.rule] = count(tr, 'td.count'); });
      rows('dead-letters').forEach(tr => {
        letters[tr.dataset.topic + '|' + tr.dataset.reason] = count(tr, 'td.count'); });
      rows('actions').forEach(tr => { actions[tr.dataset.action] = {
        personalized: count(tr, 'td.personalized'), control: count(tr, 'td.control')}; });
      return {arms, signals, letters, actions,
              total: Number(document.getElementById('decisions-total').textContent),
              p99: Number(document.getElementById('latency-p99').textContent),
              catalog: document.getElementById('catalog-version').dataset.version,
              lift_paths: document.querySelectorAll('#lift-chart polyline').length};
    }""")


def _get(console: ConsoleTier, path: str) -> bytes:
    request = urllib.request.Request(console.url.replace("/console/", path),
                                     headers={"Authorization": f"Bearer {CONSOLE_KEY}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return bytes(response.read())


def _metrics_figures(scraped: dict[Any, float]) -> dict[str, Any]:
    """The scrape's figures, in the shapes of :func:`_expected` and of the JSON."""
    by: dict[str, dict[frozenset[tuple[str, str]], float]] = {}
    for (name, labels), v in scraped.items():
        by.setdefault(name, {})[labels] = v

    def one(name: str, label: str) -> dict[str, float]:
        return {dict(k)[label]: v for k, v in by.get(name, {}).items()}

    letters = {(dict(k)["topic"], dict(k)["reason"]): int(v)
               for k, v in by.get("rtp_console_dead_letters", {}).items()}
    actions: dict[str, dict[str, int]] = {}
    for k, v in by.get("rtp_console_action_decisions", {}).items():
        actions.setdefault(dict(k)["action"], {"personalized": 0, "control": 0})[
            dict(k)["arm"]] = int(v)
    return {"arms": {a: int(v) for a, v in one("rtp_console_decisions", "arm").items()},
            "signals": {r: int(v) for r, v in one("rtp_console_signals", "rule").items()},
            "dead_letters": letters, "actions": actions,
            "p99_s": one("rtp_console_event_to_action_seconds", "quantile")["0.99"],
            "visitors": one("rtp_console_experiment_visitors", "arm"),
            "conversion": one("rtp_console_experiment_conversion_rate", "arm"),
            "lift": by["rtp_console_experiment_lift"][frozenset()],
            "ci": [one("rtp_console_experiment_lift_ci", "bound")[b] for b in ("low", "high")],
            "always_valid": one("rtp_console_experiment_lift_always_valid", "bound"),
            "headline": one("rtp_console_headline", "arm"),
            "catalog": by["rtp_console_catalog_version"][frozenset()]}


def test_the_console_shows_what_the_topics_hold(topics: Settings, browser: Browser,
                                                artifacts: Path, tmp_path: Path) -> None:
    worker = WorkerProcess(topics, tmp_path / "data", tmp_path / "worker.log", learner=False)
    try:
        worker.wait_ready()
        _traffic(topics)
        wait_caught_up(worker, [topics.topic(EVENTS), topics.topic(OUTCOMES)], timeout=120)
    finally:
        assert worker.stop() == 0, worker.tail()  # a final commit: the outputs are complete
    expected = _expected(topics)
    assert set(expected["arms"]) == {"control", "personalized"}
    assert expected["signals"] and len(expected["dead_letters"]) >= 2

    with ConsoleTier(topics) as console:
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        try:
            console.login(page)
            # Wait until the page renders a snapshot made after every record was read.
            page.wait_for_function(
                "want => { const u = document.getElementById('updated');"
                " return u && u.dataset.records === want; }",
                arg=json.dumps(dict(sorted(expected["records"].items()))).replace(", ", ",")
                .replace(": ", ":"), timeout=90_000)
            page.screenshot(path=str(artifacts / "console.png"), full_page=True)
            shown = _shown(page)
        finally:
            page.close()
        scraped = _metrics_figures(samples(_get(console, "/metrics").decode()))
        body = json.loads(_get(console, "/v1/console"))
    # The console's /metrics: the same numbers as the topics and as its JSON.
    assert scraped["arms"] == expected["arms"]
    assert scraped["signals"] == expected["signals"]
    assert scraped["dead_letters"] == expected["dead_letters"]
    assert {a: n for a, n in scraped["actions"].items() if any(n.values())} == {
        a: {"personalized": n.get("personalized", 0), "control": n.get("control", 0)}
        for a, n in _by_action(expected["actions"]).items()}
    assert scraped["p99_s"] * 1000 == pytest.approx(expected["p99"], rel=1e-12)
    ex = body["experiment"]
    assert scraped["visitors"] == {a: f["visitors"] for a, f in ex["arms"].items()}
    assert scraped["conversion"] == {a: f["conversion"] for a, f in ex["arms"].items()}
    assert scraped["visitors"]["control"] > 0 and scraped["visitors"]["personalized"] > 0
    assert (scraped["lift"], scraped["ci"]) == (ex["lift"], ex["ci"])
    # A bound the console shows as null (too few visitors yet) has no sample.
    assert scraped["always_valid"] == {b: v for b, v in (ex["always_valid"] or {}).items()
                                       if b in ("low", "high") and v is not None}
    assert scraped["headline"] == {a: ex["headline"][a] for a in ("control", "personalized")}
    assert scraped["catalog"] == 1.0
    assert errors == []
    assert shown["arms"] == expected["arms"]
    assert shown["total"] == expected["total"]
    assert shown["signals"] == expected["signals"]
    assert shown["letters"] == {f"{t}|{r}": n for (t, r), n in expected["dead_letters"].items()}
    decided = {a: {"personalized": shown["actions"][a]["personalized"],
                   "control": shown["actions"][a]["control"]}
               for a in shown["actions"]
               if shown["actions"][a]["personalized"] or shown["actions"][a]["control"]}
    want: dict[str, dict[str, int]] = {}
    for (action, arm), n in expected["actions"].items():
        want.setdefault(action, {"personalized": 0, "control": 0})[arm] = n
    assert decided == want
    assert shown["p99"] == expected["p99"]
    assert shown["catalog"] == "1"
    assert shown["lift_paths"] == 1


def test_the_console_asks_for_the_key_before_showing_anything(
        topics: Settings, browser: Browser, artifacts: Path) -> None:
    with ConsoleTier(topics) as console:
        context = browser.new_context()
        page = context.new_page()
        try:
            page.goto(console.url)  # not logged in: the login page, not the console
            assert page.url == console.login_url
            assert page.request.get(console.url.replace("/console/", "/v1/console")
                                    ).status == 401
            page.fill("#key", "not-the-console-key")
            page.click("#login")
            assert page.url == console.login_url
            assert page.text_content("#message") == "Wrong key."
            page.screenshot(path=str(artifacts / "console-login.png"))
            assert page.evaluate("() => fetch('/v1/console').then(r => r.status)") == 401

            page.fill("#key", CONSOLE_KEY)
            page.click("#login")
            page.wait_for_url(console.url)
            # The page rendered a snapshot: its script's /v1/console call was let in.
            page.wait_for_selector("body[data-rendered]", timeout=60_000)
            assert page.evaluate("() => fetch('/v1/console').then(r => r.status)") == 200
            cookies = {c["name"]: c for c in context.cookies()}
            assert cookies["rtp_console"]["httpOnly"] and CONSOLE_KEY not in str(cookies)

            page.evaluate("() => fetch('/console/logout', {method: 'POST'})")
            assert page.evaluate("() => fetch('/v1/console').then(r => r.status)") == 401
            page.goto(console.url)
            assert page.url == console.login_url
        finally:
            context.close()
