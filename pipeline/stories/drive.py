"""Walk one scripted visitor through the real web tier and worker, step by step.

For each step of a :class:`~pipeline.stories.script.Story` it posts what the tracker would
(the collector's ``/v1/t``), asks delivery what the page would ask (for a page view: the
decision that page view triggers, held up to the wait, as ``rtp.js`` does; otherwise what
delivery holds now), waits until the worker has committed the step, then reads this
visitor's new struggle signals and logged decisions from their topics. Everything printed
comes from the running services; nothing is computed here but the words.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from pipeline.decide import Catalog
from pipeline.kafka_log import kafka_config
from pipeline.processes import WorkerProcess, wait_caught_up
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.stories.narrate import answer_line, decision_lines, signal_line
from pipeline.stories.script import Story, native_batch
from pipeline.topics import DECISIONS_LOG, EVENTS, SIGNALS
from pipeline.web.visitor_token import VisitorTokens

__all__ = ["StoryResult", "StoryWeb", "drive_story"]

#: How long delivery may hold a page view's request (its maximum, as the demo runs it).
WAIT_MS = 1000


@dataclass(frozen=True)
class StoryWeb:
    """Where the web tier answers and how to talk to it."""

    url: str
    collector_url: str
    write_key: str
    token_keys: tuple[str, ...]


@dataclass
class StoryResult:
    """What a story run saw: the rules that fired, the actions decided, and whether delivery
    served the story's action in its slot."""

    signals: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    shown: bool = False


class _Tail:
    """A topic's records (of one key, if given), read from the beginning up to its current
    end."""

    def __init__(self, settings: Settings, topic: str, schema: str,
                 key: str | None = None) -> None:
        self.codec, self.schema = Codec.default(), schema
        self.key = None if key is None else key.encode()
        self.consumer = Consumer(kafka_config({
            "bootstrap.servers": settings.bootstrap, "group.id": f"rtp-story-{uuid.uuid4().hex}",
            "enable.auto.commit": False}))
        partitions = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
        self.parts = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions]
        self.consumer.assign(self.parts)

    def new(self) -> list[dict[str, Any]]:
        """Records of the visitor written since the last call (up to the end now)."""
        ends = {tp.partition: self.consumer.get_watermark_offsets(tp, timeout=10)[1]
                for tp in self.parts}
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            positions = {tp.partition: tp.offset for tp in self.consumer.position(self.parts)}
            if all(positions[p] >= end or (positions[p] < 0 and end == 0)
                   for p, end in ends.items()):
                break
            message = self.consumer.poll(0.2)
            if message is None or message.error() or message.value() is None:
                continue
            if self.key is None or message.key() == self.key:
                out.append(self.codec.decode(message.value(), (self.schema,))[1])
        return out

    def close(self) -> None:
        self.consumer.close()


def _post(url: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return int(answer.status)


def _ask(web: StoryWeb, visitor: str, slots: list[str],
         trigger: str | None) -> tuple[dict[str, Any], str | None]:
    query = {"visitor": visitor, "slots": ",".join(slots),
             "token": VisitorTokens(web.token_keys).issue(visitor)}
    if trigger is not None:
        query.update(trigger=trigger, wait_ms=str(WAIT_MS))
    url = f"{web.url}/v1/decisions?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read()), answer.headers.get("X-RTP-Wait")


def _held(web: StoryWeb, visitor: str, slots: list[str],
          expected: set[str]) -> tuple[dict[str, Any], str | None]:
    """What delivery holds for the visitor once it has read the decisions in ``expected``
    (it consumes the actions topic a moment after the worker wrote them), 5 s at most."""
    deadline = time.monotonic() + 5
    while True:
        answer, wait = _ask(web, visitor, slots, None)
        held = {d["decision_id"] for d in (answer.get("decisions") or {}).values() if d}
        if expected <= held or time.monotonic() > deadline:
            return answer, wait
        time.sleep(0.05)  # delivery reads the actions topic on its own


def drive_story(settings: Settings, story: Story, visitor: str, web: StoryWeb,
                worker: WorkerProcess, catalog: Catalog,
                echo: Callable[[str], None] = print) -> StoryResult:
    """Walk ``visitor`` through ``story``; print each step; return what was seen."""
    result = StoryResult()
    slots = sorted({story.slot, "hero", "overlay"})
    session = f"s-{uuid.uuid4().hex[:12]}"
    signals = _Tail(settings, settings.topic(SIGNALS), "StruggleSignal", key=visitor)
    decisions = _Tail(settings, settings.topic(DECISIONS_LOG), "DecisionLog")  # by decision id
    token = VisitorTokens(web.token_keys).issue(visitor)  # the collector requires it too
    try:
        for number, step in enumerate(story.steps, 1):
            event_id = f"story-{uuid.uuid4()}"
            echo(f"step {number}: the visitor {step.says}  [{step.path}]")
            _post(f"{web.collector_url}/v1/t", native_batch(
                step, origin=web.url, visitor=visitor, session=session, event_id=event_id,
                time_ms=int(time.time() * 1000), write_key=web.write_key, sector=story.sector,
                token=token))
            page_view = step.kind == "page_view"
            if page_view:  # the page asks for its own view's decision as it loads
                answer, wait = _ask(web, visitor, slots, event_id)
            wait_caught_up(worker, [settings.topic(EVENTS)])
            served: set[str] = set()
            for signal in signals.new():
                result.signals.append(str(signal["rule"]))
                echo("  " + signal_line(signal))
            for log in decisions.new():
                decision = log["decision"]
                if decision["visitor_id"] != visitor:
                    continue
                result.actions.append(str(decision["action_id"]))
                if log["served"] and decision["action_id"] != "no_action":
                    served.add(str(decision["decision_id"]))
                for line in decision_lines(log, catalog):
                    echo("  " + line)
            if not page_view:  # a page open already gets a new decision over its stream;
                answer, wait = _held(web, visitor, slots, served)  # what delivery holds then
            echo("  " + answer_line(answer, wait, slots))
            held = (answer.get("decisions") or {}).get(story.slot)
            if held and held.get("action_id") == story.action:
                result.shown = True
    finally:
        signals.close()
        decisions.close()
    return result
