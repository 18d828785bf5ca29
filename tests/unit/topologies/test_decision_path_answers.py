"""The decision path's "decided: nothing" answers: written for an awaited event (``rtp-wait``
header) exactly when it delivers no action of its own, never for an un-awaited one, and not
again for a record delivered again after a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.client.samples import click_event
from pipeline.decide import StoryOverride, assign_arm
from pipeline.engine import Engine, EngineOptions
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, ANSWERS, EVENTS
from pipeline.topics.headers import wait_headers
from pipeline.topics.partitioning import partition_for
from tests.unit.topologies.test_decision_path_privacy import Sent
from tests.unit.topologies.test_decision_path_sweep import LocalOnly
from topologies.decision_path import VIEWS, VISITORS, DecisionPath
from topologies.loop.loop import Record
from topologies.loop.tables import Tables

T0 = 1_800_000_000_000
CODEC = Codec.default()
SETTINGS = Settings(partitions=4)
STORY = "story-u-"


def _path(tmp_path: Path) -> tuple[DecisionPath, Tables, Sent]:
    tables = Tables(tmp_path, "g", [VISITORS, VIEWS], LocalOnly())  # type: ignore[arg-type]
    tables.assign([0, 1, 2, 3])
    sent = Sent()
    engine = Engine(EngineOptions(), story=StoryOverride(STORY, ("free_express_shipping",)))
    path = DecisionPath(SETTINGS, engine, tables, sent,  # type: ignore[arg-type]
                        clock=lambda: T0 / 1000)
    return path, tables, sent


def _view(path: DecisionPath, visitor: str, n: int, offset: int, awaited: bool) -> str:
    event_id = f"{visitor}-pv{n}"
    event = click_event(visitor, "page_view", T0 + n * 1000, event_id=event_id)
    path.apply(Record(SETTINGS.topic(EVENTS), partition_for(visitor.encode(), 4), offset,
                      visitor.encode(), CODEC.encode("ClickEvent", event), T0,
                      wait_headers() if awaited else None))
    return event_id


def _of(sent: Sent, topic: str, schema: str) -> list[dict[str, Any]]:
    return [CODEC.decode(value, (schema,))[1] for t, _, value, _ in sent.sent
            if t == topic and value is not None]


def test_an_awaited_event_is_answered_exactly_when_it_delivers_no_action(
        tmp_path: Path) -> None:
    path, tables, sent = _path(tmp_path)
    control = next(f"c{i}" for i in range(1000) if assign_arm(f"c{i}") == "control")
    visitors = [control, f"{STORY}buyer", "v-a", "v-b", "v-c"]
    awaited: set[str] = set()
    offset = 0
    for visitor in visitors:
        for n in range(3):  # the story buyer's third view decides the banner
            offset += 1
            event_id = _view(path, visitor, n, offset, awaited=n != 1)  # the 2nd: not awaited
            if n != 1:
                awaited.add(event_id)
    delivered = {d["trigger_event_id"] for d in _of(sent, ACTIONS, "Decision")}
    answers = _of(sent, ANSWERS, "Answer")
    answered = {a["trigger_event_id"] for a in answers}
    assert f"{STORY}buyer-pv2" in delivered  # both branches are exercised
    assert f"{control}-pv0" in answered
    # nothing lost, nothing extra: every awaited event without its own action, no other
    assert answered == awaited - delivered
    assert len(answers) == len(answered)  # one answer per event
    assert all(a["decided"] == "nothing" and a["trigger_event_id"].startswith(a["visitor_id"])
               for a in answers)
    # keyed by visitor, like the actions (same partitions)
    keys = {value and CODEC.decode(value, ("Answer",))[1]["visitor_id"]: key
            for t, key, value, _ in sent.sent if t == ANSWERS}
    assert all(key == visitor.encode() for visitor, key in keys.items())
    tables.close()


def test_a_record_delivered_again_after_a_crash_is_not_answered_twice(tmp_path: Path) -> None:
    path, tables, sent = _path(tmp_path)
    _view(path, "v-again", 0, 7, awaited=True)
    assert len(_of(sent, ANSWERS, "Answer")) == 1
    sent.sent.clear()
    _view(path, "v-again", 0, 7, awaited=True)  # same offset: already in the stored state
    _view(path, "v-again", 0, 8, awaited=True)  # same event id again at a later offset
    assert _of(sent, ANSWERS, "Answer") == []
    tables.close()
