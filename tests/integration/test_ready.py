"""``rtp ready`` after traffic on a real broker: input lag only, never the changelogs.

The worker's stores write compacted changelogs that the worker group never commits
offsets on; the probe must not count them (an idle, caught-up worker is ready), and
must count what a member has not applied yet.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer

from pipeline.cli import main
from pipeline.client import EventProducer
from pipeline.settings import Settings
from pipeline.topics import EVENTS, OUTCOMES, apply_topics, topic_specs
from pipeline.topics.groups import GroupPositions
from tests.integration.scenarios import browser
from tests.integration.topic_watch import TopicWatch
from tests.integration.worker_process import WorkerProcess, wait_caught_up


@pytest.fixture(scope="module")
def after_traffic(kafka: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[Settings, WorkerProcess, int]]:
    """A worker that has applied events, profile updates and outcomes, then sits idle."""
    settings = dataclasses.replace(kafka, topic_prefix=f"ready-{uuid.uuid4().hex[:8]}.")
    apply_topics(settings.bootstrap, topic_specs(settings.partitions, 1, settings.topic_prefix))
    tmp = tmp_path_factory.mktemp("ready")
    worker = WorkerProcess(settings, tmp / "data", tmp / "worker.log")
    try:
        worker.wait_ready()
        start = int(time.time() * 1000) - 10 * 60 * 1000
        visitors = [f"ready-{i}" for i in range(20)]
        events = [e for v in visitors for e in browser(v, start, pages=3)]
        with EventProducer(settings) as producer:
            for event in events:
                producer.send_event(event)
            for v in visitors[:5]:
                producer.send_profile_update({
                    "update_id": f"{v}-i", "kind": "identify", "visitor_id": v,
                    "user_id": f"user-{v}", "event_time": start + 1000,
                    "traits": {"loyalty_tier": "gold"}, "consent": None})
        log = TopicWatch(settings, settings.topic("personalization.decisions.log"))
        decided = log.wait_for(lambda rs: len(rs) >= len(events), what="every event decided")
        log.close()
        with EventProducer(settings) as producer:
            for record in decided[:10]:
                d = record["decision"]
                producer.send_outcome({"outcome_id": f"{d['decision_id']}-o",
                                       "decision_id": d["decision_id"],
                                       "visitor_id": d["visitor_id"], "kind": "dismissed",
                                       "value": 0.0, "event_time": int(time.time() * 1000)})
        # The profile side's views of the five identified visitors (their count on the
        # internal topic must not grow between two `rtp ready` calls of a test).
        views = TopicWatch(settings, settings.topic("rtp.internal.visitor-profiles"),
                           decode=False)
        views.wait_for(lambda _: {k for k, _ in views.seen} >= {
            v.encode() for v in visitors[:5]}, what="the identified visitors' views")
        views.close()
        wait_caught_up(worker, [settings.topic(EVENTS), settings.topic(OUTCOMES)])
        yield settings, worker, len(events)
    finally:
        worker.stop()


def _changelog_backlog(settings: Settings, worker: WorkerProcess) -> int:
    """Records in the worker's changelogs after the group's (absent) committed offsets."""
    from pipeline.topics import describe_topics

    counts = describe_topics(settings.bootstrap)
    parts = [(worker.changelog(t), p) for t in ("visitors", "visitor-profiles")
             for p in range(counts[worker.changelog(t)])]
    return sum(GroupPositions(settings.bootstrap, worker.group).behind(parts).values())


def test_an_idle_caught_up_worker_is_ready_whatever_its_changelogs_hold(
        after_traffic: tuple[Settings, WorkerProcess, int],
        capsys: pytest.CaptureFixture[str]) -> None:
    settings, worker, _ = after_traffic
    # The changelogs hold far more than the probe accepts: counting them would fail it.
    assert _changelog_backlog(settings, worker) > 20
    common = ["--bootstrap", settings.bootstrap, "--topic-prefix", settings.topic_prefix]
    capsys.readouterr()
    assert main([*common, "ready", "--max-lag", "0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ready: 0 messages behind (")
    assert "changelog" not in out
    assert main([*common, "ready", "--max-lag", "0", "--client-id", "rtp-worker"]) == 0
    assert main([*common, "ready", "--client-id", "no-such-pod"]) == 1


def test_a_member_that_has_not_applied_the_traffic_is_not_ready(
        after_traffic: tuple[Settings, WorkerProcess, int],
        capsys: pytest.CaptureFixture[str]) -> None:
    settings, _, events = after_traffic
    group = f"{settings.topic_prefix}laggard"
    consumer = Consumer({"bootstrap.servers": settings.bootstrap, "group.id": group,
                         "client.id": "laggard", "enable.auto.commit": False,
                         "partition.assignment.strategy": "range"})
    from pipeline.commands.ready import input_topics

    consumer.subscribe(input_topics(settings))
    try:
        deadline = time.monotonic() + 30
        while not consumer.assignment() and time.monotonic() < deadline:
            consumer.poll(0.2)  # joins the group; nothing is committed
        assert consumer.assignment()
        common = ["--bootstrap", settings.bootstrap, "--topic-prefix", settings.topic_prefix,
                  "ready", "--app-id", "laggard"]
        capsys.readouterr()
        assert main([*common, "--max-lag", "0"]) == 1
        err = capsys.readouterr().err
        behind = int(err.split("not ready: ")[1].split(" messages")[0])
        # every event and the ten outcomes (and the profile views, whose count varies)
        assert behind >= events + 10
        assert f"{settings.topic(EVENTS)} {events}" in err
        assert main([*common, "--max-lag", str(behind)]) == 0
    finally:
        consumer.close()


def test_every_line_the_worker_and_its_profile_side_log_is_structlog_json(
        after_traffic: tuple[Settings, WorkerProcess, int]) -> None:
    import json

    _, worker, _ = after_traffic
    lines = worker.log_path.read_text().splitlines()
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"a line not rendered by structlog: {line!r}")
    loggers = {str(r.get("logger", "")).split(".")[0] for r in records}
    # Faust (the profile side) and aiokafka log through the stdlib: rendered like ours.
    assert loggers & {"faust", "aiokafka", "mode"}, loggers
    assert any(r["event"] == "worker starting" for r in records)
