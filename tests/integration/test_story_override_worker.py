"""The story override is test only: a real ``rtp worker`` configured for production (no
``--story-override``) decides a visitor whose id looks like a story visitor's like anyone
else's, and one started with the override forces only its own prefix."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from pipeline.client import EventProducer
from pipeline.client.samples import click_event
from pipeline.decide import STORY_POLICY, StoryOverride, assign_arm
from pipeline.processes import WorkerProcess, wait_caught_up
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import DECISIONS_LOG, EVENTS
from tests.integration.kafka_reader import read_topic

CODEC = Codec.default()


def _control_visitor(prefix: str) -> str:
    return next(f"{prefix}{i}" for i in range(1000) if assign_arm(f"{prefix}{i}") == "control")


def _headphone_buyer(settings: Settings, visitor: str) -> None:
    """Three views of the headphones (hesitation: revisits), then Shipping & Returns."""
    t = int(time.time() * 1000)
    with EventProducer(settings, CODEC) as producer:
        for i in range(3):
            producer.send_event(click_event(visitor, "page_view", t + i * 1000,
                                            event_id=f"{visitor}-pv{i}"))
        producer.send_event(click_event(
            visitor, "page_view", t + 4000, page_type="shipping_returns",
            url="https://shop.example/shipping", product_id=None, event_id=f"{visitor}-shipping"))


def _logged(settings: Settings, worker: WorkerProcess, visitor: str) -> list[dict[str, Any]]:
    wait_caught_up(worker, [settings.topic(EVENTS)])
    topic = settings.topic(DECISIONS_LOG)
    logs = [CODEC.decode(m.value(), ("DecisionLog",))[1]
            for m in read_topic(settings, topic, 100, timeout=5)]
    return [log for log in logs if log["decision"]["visitor_id"] == visitor]


def test_a_production_worker_ignores_story_looking_visitors(topics: Settings,
                                                             tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:6]
    lookalike = _control_visitor(f"story-{run}-")
    worker = WorkerProcess(topics, tmp_path / "data", tmp_path / "worker.log", profiles=False,
                           learner=False, control_share=None)  # production: no override
    try:
        worker.wait_ready()
        _headphone_buyer(topics, lookalike)
        logs = _logged(topics, worker, lookalike)
    finally:
        worker.stop()
    assert len(logs) == 4  # one decision per page view
    assert {log["decision"]["experiment_arm"] for log in logs} == {"control"}
    assert {log["served"] for log in logs} == {False}
    assert STORY_POLICY not in {log["decision"]["policy"] for log in logs}
    assert "story override" not in worker.log_path.read_text()


def test_the_override_forces_only_its_own_prefix(topics: Settings, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:6]
    mine, other = _control_visitor(f"story-{run}-"), _control_visitor(f"story-x{run}-")
    worker = WorkerProcess(topics, tmp_path / "data", tmp_path / "worker.log", profiles=False,
                           learner=False, control_share=None,
                           story=StoryOverride(f"story-{run}-", ("free_express_shipping",)))
    try:
        worker.wait_ready()
        _headphone_buyer(topics, mine)
        _headphone_buyer(topics, other)
        forced, untouched = _logged(topics, worker, mine), _logged(topics, worker, other)
    finally:
        worker.stop()
    assert {log["decision"]["experiment_arm"] for log in forced} == {"personalized"}
    third_view = next(log for log in forced
                      if log["decision"]["trigger_event_id"] == f"{mine}-pv2")
    assert third_view["decision"]["action_id"] == "free_express_shipping"
    assert third_view["decision"]["policy"] == STORY_POLICY
    assert {log["decision"]["experiment_arm"] for log in untouched} == {"control"}
    assert STORY_POLICY not in {log["decision"]["policy"] for log in untouched}
