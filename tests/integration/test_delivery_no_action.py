"""The no-action early answer on the real broker, with a real ``rtp worker`` and delivery.

A page view marked awaited (``rtp-wait``) that the worker decides and delivers nothing for
gets an Answer ("decided: nothing") on ``personalization.answers``, and delivery answers the
request held for it at once (``X-RTP-Wait: nothing``), even with a 30 s wait. A page view
that decides an action still gets its action (and no answer record). Another visitor's
answer for the same trigger id never ends a visitor's hold; nothing un-awaited is answered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from pipeline.client import EventProducer
from pipeline.client.samples import click_event
from pipeline.decide import StoryOverride, assign_arm
from pipeline.processes import WorkerProcess, wait_caught_up
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, ANSWERS, DECISIONS_LOG, EVENTS, apply_topics, topic_specs
from tests.integration.delivery_client import delivery, eventually, ready, token
from tests.integration.kafka_reader import read_topic

CODEC = Codec.default()
WAIT_MS = 30_000  # far beyond any decision: only an answer or a decision ends the hold


def _control_visitor(prefix: str) -> str:
    return next(f"{prefix}{i}" for i in range(1000) if assign_arm(f"{prefix}{i}") == "control")


@pytest.fixture
def worker(topics: Settings, tmp_path: Path) -> Iterator[tuple[WorkerProcess, str]]:
    """A worker whose story visitors (prefix returned) are forced to the personalized arm
    with the free express shipping banner only (three views of a product, as its rule asks)."""
    prefix = f"story-{uuid.uuid4().hex[:6]}-"
    process = WorkerProcess(topics, tmp_path / "data", tmp_path / "worker.log", profiles=False,
                            learner=False, control_share=None,
                            story=StoryOverride(prefix, ("free_express_shipping",)))
    try:
        process.wait_ready()
        yield process, prefix
    finally:
        process.stop()


async def _send(settings: Settings, *events: tuple[dict[str, Any], bool]) -> None:
    def send() -> None:
        with EventProducer(settings, CODEC) as producer:
            for event, awaited in events:
                producer.send_event(event, awaited=awaited)

    await asyncio.to_thread(send)


def _page_view(visitor: str, event_id: str, t: int) -> dict[str, Any]:
    return click_event(visitor, "page_view", t, event_id=event_id)


def _hold(http: aiohttp.ClientSession, url: str, service: Any, visitor: str,
          trigger: str) -> asyncio.Future[aiohttp.ClientResponse]:
    query = (f"{url}/v1/decisions?visitor={visitor}&trigger={trigger}&wait_ms={WAIT_MS}"
             f"&token={token(service, visitor)}")
    return asyncio.ensure_future(http.get(query))


async def _held(service: Any, count: int) -> bool:
    return bool(service.waits.held == count)


def _answers(settings: Settings, count: int) -> list[dict[str, Any]]:
    return [CODEC.decode(m.value(), ("Answer",))[1]
            for m in read_topic(settings, settings.topic(ANSWERS), count, timeout=10)]


async def test_a_page_view_that_decides_nothing_is_answered_at_once_and_only_for_its_visitor(
        topics: Settings, worker: tuple[WorkerProcess, str]) -> None:
    process, story = worker
    run = uuid.uuid4().hex[:6]
    quiet = _control_visitor(f"quiet-{run}-")           # control arm: decided, nothing served
    other = _control_visitor(f"other-{run}-")           # asks with the same trigger id
    buyer = f"{story}buyer"                              # decides the banner on its third view
    t = int(time.time() * 1000)
    async with delivery(topics, max_wait_ms=60_000) as (service, url), \
            aiohttp.ClientSession() as http:
        await eventually(lambda: ready(http, url), "readiness")
        mine = _hold(http, url, service, quiet, "pv-same")
        theirs = _hold(http, url, service, other, "pv-same")
        await eventually(lambda: _held(service, 2), "both requests to be held")

        # the quiet visitor's awaited page view: decided (control), nothing delivered
        await _send(topics, (_page_view(quiet, "pv-same", t), True))
        response = await asyncio.wait_for(mine, WAIT_MS / 1000 / 2)
        assert response.status == 200 and response.headers["X-RTP-Wait"] == "nothing"
        assert (await response.json())["decisions"] == {}
        # the same answer did not release the other visitor's hold on the same trigger id
        assert service.waits.held == 1 and not theirs.done()

        # that visitor's own awaited page view (same event id) releases it
        await _send(topics, (_page_view(other, "pv-same", t), True))
        response = await asyncio.wait_for(theirs, WAIT_MS / 1000 / 2)
        assert response.headers["X-RTP-Wait"] == "nothing"

        # a page view that decides an action: its action ends the hold, no answer is written
        await _send(topics, (_page_view(buyer, f"{buyer}-pv0", t + 1000), False),
                    (_page_view(buyer, f"{buyer}-pv1", t + 2000), False))
        held = _hold(http, url, service, buyer, f"{buyer}-pv2")
        await eventually(lambda: _held(service, 1), "the buyer's request to be held")
        await _send(topics, (_page_view(buyer, f"{buyer}-pv2", t + 3000), True))
        response = await asyncio.wait_for(held, WAIT_MS / 1000 / 2)
        body = await response.json()
        assert response.headers["X-RTP-Wait"] == "arrived"
        served = [d for d in body["decisions"].values() if d is not None]
        assert [d["action_id"] for d in served] == ["free_express_shipping"]

    wait_caught_up(process, [topics.topic(EVENTS)])
    # the markers: exactly the two awaited page views that delivered nothing (not the buyer's
    # un-awaited views, not its awaited view that delivered the banner)
    answers = _answers(topics, 3)
    assert sorted((a["visitor_id"], a["trigger_event_id"], a["decided"]) for a in answers) == [
        (other, "pv-same", "nothing"), (quiet, "pv-same", "nothing")]
    # and each was decided: its control-arm decision is in the decision log
    logs = [CODEC.decode(m.value(), ("DecisionLog",))[1]["decision"]
            for m in read_topic(topics, topics.topic(DECISIONS_LOG), 10, timeout=5)]
    decided = {(d["visitor_id"], d["trigger_event_id"], d["experiment_arm"]) for d in logs}
    assert {(quiet, "pv-same", "control"), (other, "pv-same", "control")} <= decided


async def test_without_the_answers_topic_delivery_serves_and_holds_wait_out_their_budget(
        kafka: Settings) -> None:
    settings = dataclasses.replace(kafka, topic_prefix=f"it-{uuid.uuid4().hex[:10]}.")
    apply_topics(settings.bootstrap, [s for s in topic_specs(settings.partitions, 1,
                                                             settings.topic_prefix)
                                      if s.name == settings.topic(ACTIONS)])
    async with delivery(settings, start_timeout_s=1.0) as (service, url), \
            aiohttp.ClientSession() as http:
        await eventually(lambda: ready(http, url), "readiness")
        await eventually(lambda: _gave_up(service), "the answer feed to give up")
        response = await http.get(f"{url}/v1/decisions?visitor=v1&trigger=e1&wait_ms=50"
                                  f"&token={token(service, 'v1')}")
        assert response.status == 200 and response.headers["X-RTP-Wait"] == "timeout"


async def _gave_up(service: Any) -> bool:
    return service.early_answers is False
