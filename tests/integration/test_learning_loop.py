"""The whole learning loop on a real broker, with a worker of its own.

Outcomes → the worker joins them in the visitors' states → learning records →
``rtp learner`` (beside the worker, ``rtp worker --learner``) → a model snapshot → the
worker decides with it. Its own worker: the reward wait is in event time, per
partition, and the rounds of this test are dated in the past (11 minutes apart), which
the current-time events of other tests would expire at once.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from pipeline.client import EventProducer, click_event
from pipeline.decide import assign_arm
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import DECISIONS_LOG, LEARNING, OUTCOMES, apply_topics, topic_specs
from tests.integration.scenarios import home_visit
from tests.integration.topic_watch import TopicWatch
from tests.integration.worker_process import WorkerProcess, wait_caught_up


@pytest.fixture(scope="module")
def loop(kafka: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[Settings, WorkerProcess]]:
    settings = dataclasses.replace(kafka, topic_prefix=f"learn-{uuid.uuid4().hex[:8]}.")
    apply_topics(settings.bootstrap, topic_specs(settings.partitions, 1, settings.topic_prefix))
    tmp = tmp_path_factory.mktemp("learning")
    worker = WorkerProcess(settings, tmp / "data", tmp / "worker.log")
    try:
        worker.wait_ready()
        yield settings, worker
    finally:
        worker.stop()


def _send(settings: Settings, events: list[dict[str, Any]]) -> None:
    with EventProducer(settings) as producer:
        for event in events:
            producer.send_event(event)


def _personalized(prefix: str, n: int) -> list[str]:
    ids = (f"{prefix}-{i}" for i in range(10_000))
    return [v for v in ids if assign_arm(v) == "personalized"][:n]


def _read(settings: Settings, topic: str) -> list[Any]:
    """Every message of a one-partition topic, from the start to its end now."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap, "group.id": "flow-read",
                         "enable.auto.commit": False})
    try:
        high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
        consumer.assign([TopicPartition(topic, 0, 0)])
        out: list[Any] = []
        deadline = time.monotonic() + 30
        while len(out) < high and time.monotonic() < deadline:
            message = consumer.poll(1)
            if message is not None and message.error() is None:
                out.append(message)
        return out
    finally:
        consumer.close()


def _version_with(settings: Settings, decision_ids: set[str]) -> int:
    """The model version that holds a reward of every decision in ``decision_ids``: the
    learner keeps the first record of an id, so a version counts distinct ids in topic
    order; waits until each decision's reward is on the learning topic."""
    codec = Codec.default()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ids: set[str] = set()
        missing = set(decision_ids)
        for message in _read(settings, settings.topic(LEARNING)):
            record = codec.decode(message.value())[1]
            ids.add(str(record["record_id"]))
            if record["reward"] is not None and record["reward"]["new_observation"]:
                missing.discard(str(record["reward"]["decision_id"]))
            if not missing:
                return len(ids)
        time.sleep(0.2)  # waiting for the worker (its reward timer, the outcomes)
    raise AssertionError(f"{len(missing)} decisions without a reward within 60 s")


def _in_use(worker: WorkerProcess, version: int) -> bool:
    """Whether the worker logged deciding with model ``version`` or a newer one."""
    return any(record.get("event") == "model snapshot in use" and record["version"] >= version
               for record in worker.log_records())


def test_rewards_favouring_one_action_make_the_bandit_choose_it_more(
        loop: tuple[Settings, WorkerProcess]) -> None:
    """The whole learning loop: outcomes → the worker's learning records → rtp learner →
    a model snapshot → the worker decides with it."""
    settings, worker = loop
    run = uuid.uuid4().hex[:6]
    log = TopicWatch(settings, settings.topic(DECISIONS_LOG))
    shares = []
    # Each round is 11 minutes of event time after the last: decisions that got no outcome
    # (every "no action") reach the 10-minute reward wait and learn the default reward 0.
    base = int(time.time() * 1000) - 70 * 60 * 1000
    for round_no in range(5):
        visitors = _personalized(f"learn-{run}-{round_no}", 40)
        start = base + round_no * 11 * 60 * 1000
        _send(settings, [e for v in visitors for e in home_visit(v, start)])
        wanted = set(visitors)
        records = log.wait_for(
            lambda rs, w=wanted: {r["decision"]["visitor_id"] for r in rs} >= w,
            what=f"round {round_no} decisions")
        mine = [r for r in records if r["decision"]["visitor_id"] in wanted]
        assert {e["action_id"] for r in mine for e in r["eligible"]} == {
            "no_action", "hero_by_traffic_source"}
        hero = [r for r in mine if r["decision"]["action_id"] == "hero_by_traffic_source"]
        shares.append(len(hero) / len(mine))
        with EventProducer(settings) as producer:
            for r in hero:  # the hero banner is clicked every time it is shown
                d = r["decision"]
                producer.send_outcome({"outcome_id": f"{d['decision_id']}-c",
                                       "decision_id": d["decision_id"],
                                       "visitor_id": d["visitor_id"], "kind": "clicked",
                                       "value": 0.0, "event_time": d["created_at"] + 1000})
        wait_caught_up(worker, [settings.topic(OUTCOMES)])
        # Ten and a half minutes later (event time) each visitor scrolls: past the reward
        # wait of the round's decisions, in every partition the round used.
        _send(settings, [click_event(v, "scroll", start + 630_000, event_id=f"{v}-tick",
                                     scroll={"depth_pct": 50.0}) for v in visitors])
        # Every decision of the round is observed once: a click, or the default reward at
        # the end of its wait.
        # The next round starts once the worker decides with a model holding all of them.
        version = _version_with(settings, {str(r["decision"]["decision_id"]) for r in mine})
        deadline = time.monotonic() + 30
        while not _in_use(worker, version):
            assert time.monotonic() < deadline, f"model {version} not in use: {worker.tail()}"
            time.sleep(0.2)  # waiting for the worker's model feed
    log.close()
    print("share of the rewarded action per round:", shares)
    assert shares[-1] > 0.75, shares
    assert shares[-1] - shares[0] > 0.2, shares
