"""The decision path's writes of an event's outputs: a late event (older than its session's
allowed lateness) is dead-lettered as ``late_event`` and decides nothing, the other events'
outputs go out in order, and the event-to-action latency is observed once per decided
event, never for a late one."""

from __future__ import annotations

from pathlib import Path

from pipeline.client.samples import click_event
from pipeline.decide import assign_arm
from pipeline.serde import Codec
from pipeline.topics import DECISIONS_LOG, EVENTS
from pipeline.topics.partitioning import partition_for
from tests.unit.topologies.test_decision_path_answers import SETTINGS, T0, _path
from topologies.loop.loop import Record

CODEC = Codec.default()


def _event(visitor: str, n: int, event_time: int, offset: int) -> Record:
    event = click_event(visitor, "page_view", event_time, event_id=f"{visitor}-{n}")
    return Record(SETTINGS.topic(EVENTS), partition_for(visitor.encode(), 4), offset,
                  visitor.encode(), CODEC.encode("ClickEvent", event), T0 - 10)


def test_a_late_event_is_dead_lettered_and_decides_nothing(tmp_path: Path) -> None:
    path, _, sent = _path(tmp_path)
    visitor = next(f"v{i}" for i in range(1000) if assign_arm(f"v{i}") == "personalized")
    path.apply(_event(visitor, 1, T0, 0))
    first = list(sent.sent)
    path.apply(_event(visitor, 2, T0 - 10 * 60_000, 1))  # 10 minutes before: too late
    late = sent.sent[len(first):]
    path.apply(_event(visitor, 3, T0 + 1000, 2))
    after = sent.sent[len(first) + len(late):]

    logs = [t for t, *_ in sent.sent if t == SETTINGS.topic(DECISIONS_LOG)]
    assert [t for t, *_ in first].count(SETTINGS.topic(DECISIONS_LOG)) == 1
    assert [t for t, *_ in late] == [SETTINGS.topic(EVENTS) + ".dlq"]
    letter = CODEC.decode(late[0][2], ("DeadLetter",))[1]
    assert (letter["error_class"], letter["source_offset"]) == ("late_event", 1)
    assert SETTINGS.topic(EVENTS) + ".dlq" not in [t for t, *_ in first + after]
    registry = path.metrics.registry
    assert registry.get_sample_value("rtp_worker_event_to_action_seconds_count") == len(logs)
    assert registry.get_sample_value("rtp_worker_decisions_total",
                                     {"arm": "personalized"}) == len(logs)
    assert registry.get_sample_value("rtp_worker_events_total") == 3
