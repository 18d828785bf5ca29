"""A visitor whose traits, page category and product are the text "null" (or hold it) is
stored by a real worker: it keeps running, commits, and the state read back from its
changelog holds those exact texts.

The regression of 82f7296: state format 4 refused a label whose JSON held ``null`` as if a
number were non-finite, so the commit after such a visitor's page view failed and stopped
the worker. Here the texts take the real path: an identify (with traits) on
``profiles.updates`` is made into a view by the profile side, the worker joins the view
into the visitor's session, and the visitor's page views (category and product named so
too) make a label snapshot that every commit writes.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from pipeline.client import EventProducer
from pipeline.engine import VisitorState
from pipeline.settings import Settings
from pipeline.topics import EVENTS, PROFILES
from tests.integration.scenarios import Script
from tests.integration.topic_watch import TopicWatch
from tests.integration.worker_process import WorkerProcess, wait_caught_up

#: The profile's texts, as the site sent them: each is, or holds, "null".
TRAITS = {"plan": "null", "loyalty_tier": "nullable", "preferred_category": "null",
          "industry": "null and void"}
#: The page's texts.
PAGE = {"category": "null", "product_id": "nullable"}


def committed_while_running(worker: WorkerProcess, topics: list[str],
                            timeout: float = 120.0) -> None:
    """Until the worker has committed everything in ``topics``; fail at once (with its
    log's tail) when it stops first."""
    deadline = time.monotonic() + timeout
    while True:
        code = worker.proc.poll()
        assert code is None, f"the worker stopped ({code}):\n{worker.tail()}"
        try:
            wait_caught_up(worker, topics, timeout=2.0)  # one short round of polls
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise


def test_texts_holding_null_are_committed_and_read_back_exactly(
        topics: Settings, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:6]
    visitor, other = f"nulls-{run}", f"plain-{run}"
    now = int(time.time() * 1000)
    worker = WorkerProcess(topics, tmp_path / "data", tmp_path / "worker.log", learner=False)
    views = state = None
    try:
        worker.wait_ready()
        views = TopicWatch(topics, worker.changelog("visitor-profiles"), decode=False)
        state = TopicWatch(topics, worker.changelog("visitors"), decode=False)
        with EventProducer(topics) as producer:
            producer.send_profile_update({
                "update_id": f"{visitor}-i", "kind": "identify", "visitor_id": visitor,
                "user_id": f"{visitor}@example.com", "event_time": now - 120_000,
                "traits": TRAITS, "consent": None})
        views.wait_stored([visitor], "the visitor's view", timeout=120)

        scripts = {visitor: Script(visitor, now - 60_000), other: Script(other, now - 60_000)}
        for i in range(3):
            scripts[visitor].add("page_view", 20_000, url=f"https://shop.example/p/n{i}",
                                 **PAGE)
            scripts[other].add("page_view", 20_000, url=f"https://shop.example/p/a{i}",
                               category="audio", product_id=f"p{i}")
        with EventProducer(topics) as producer:
            for script in scripts.values():
                for event in script.events:
                    producer.send_event(event)
        committed_while_running(worker, [topics.topic(EVENTS), topics.topic(PROFILES)])

        state.wait_stored([visitor, other], "both visitors' states", timeout=120)
        stored = {}
        for v in (visitor, other):
            record = state.latest(v)
            assert isinstance(record, dict)
            stored[v] = VisitorState.from_bytes(record["raw"])
        label = stored[visitor].label
        assert label is not None
        assert {k: label.categorical[k] for k in (*TRAITS, *PAGE)} == {**TRAITS, **PAGE}
        plain = stored[other].label
        assert plain is not None
        assert {k: plain.categorical[k] for k in (*TRAITS, *PAGE)} == {
            "plan": "unknown", "loyalty_tier": "unknown", "preferred_category": "unknown",
            "industry": "unknown", "category": "audio", "product_id": "p2"}
        assert worker.proc.poll() is None, worker.tail()
    finally:
        for watch in (views, state):
            if watch is not None:
                watch.close()
        worker.stop()
