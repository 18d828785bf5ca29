"""Opt-in consent (config file ``consent.mode: opt-in``) holds in a real worker process."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.client import EventProducer
from pipeline.profiles import decode_view
from pipeline.settings import Settings
from pipeline.topics import DECISIONS_LOG, EVENTS, PROFILES, apply_topics, topic_specs
from tests.integration.scenarios import browser
from tests.integration.topic_watch import ABSENT, TopicWatch
from tests.integration.worker_process import WorkerProcess, wait_caught_up


@pytest.fixture(scope="module")
def opt_in(kafka: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[Settings, WorkerProcess]]:
    settings = dataclasses.replace(kafka, topic_prefix=f"optin-{uuid.uuid4().hex[:8]}.")
    apply_topics(settings.bootstrap, topic_specs(settings.partitions, 1, settings.topic_prefix))
    tmp = tmp_path_factory.mktemp("worker")
    config = tmp / "rtp.yaml"
    config.write_text("consent:\n  mode: opt-in\n")
    worker = WorkerProcess(settings, tmp / "data", tmp / "worker.log", config=config,
                           learner=False)
    try:
        worker.wait_ready()
        yield settings, worker
    finally:
        worker.stop()


def test_without_a_consent_record_nothing_is_kept_or_decided_and_with_one_it_is(
        opt_in: tuple[Settings, WorkerProcess], tmp_path: Path) -> None:
    settings, worker = opt_in
    run = uuid.uuid4().hex[:6]
    silent, granted = f"silent-{run}", f"granted-{run}"
    now = int(time.time() * 1000)
    with EventProducer(settings) as producer:
        producer.send_profile_update({
            "update_id": f"{granted}-c", "kind": "consent", "visitor_id": granted,
            "user_id": None, "event_time": now - 61_000, "traits": {},
            "consent": {"personalization": True, "analytics": True}})
        producer.flush()
        for event in [*browser(silent, now - 60_000), *browser(granted, now - 60_000)]:
            producer.send_event(event)
    wait_caught_up(worker, [settings.topic(EVENTS), settings.topic(PROFILES)])

    log = TopicWatch(settings, settings.topic(DECISIONS_LOG))
    decided = log.wait_for(lambda rs: sum(r["decision"]["visitor_id"] == granted
                                          for r in rs) >= 4,
                           what="four decisions for the visitor who consented")
    assert sorted(r["decision"]["trigger_event_id"] for r in decided
                  if r["decision"]["visitor_id"] == granted) == sorted(
        e["event_id"] for e in browser(granted, now - 60_000))
    assert [r for r in decided if r["decision"]["visitor_id"] == silent] == []

    state = TopicWatch(settings, worker.changelog("visitors"), decode=False)
    state.wait_for(lambda _: state.latest(granted) not in (None, ABSENT),
                   what="the consenting visitor's state")
    assert state.latest(silent) in (None, ABSENT)
    views = TopicWatch(settings, worker.changelog("visitor-profiles"), decode=False)
    views.wait_for(lambda _: views.latest(granted) not in (None, ABSENT),
                   what="the consenting visitor's view")
    view = views.latest(granted)
    assert isinstance(view, dict) and decode_view(view["raw"]).personalization_allowed
    assert views.latest(silent) == ABSENT
    for watch in (log, state, views):
        watch.close()
