"""The decision path's detector timers: the tick fires them from a per-partition index on
the partition's event clock, the index goes with a revoked partition and is rebuilt from
the stored states after a restart (the real RocksDB stores, no Kafka: outputs recorded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.client.samples import click_event
from pipeline.engine import Engine, EngineOptions, timer_trigger_id
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.signals import HesitationOptions
from tests.unit.topologies.test_decision_path_sweep import LocalOnly
from tests.unit.topologies.test_decision_path_sweep import Recorded as Sent
from topologies.decision_path import VISITORS, DecisionPath, PathOptions
from topologies.loop.loop import Record
from topologies.loop.store import PartitionStore
from topologies.loop.tables import Tables

T0 = 1_800_000_000_000
DWELL = HesitationOptions().min_dwell_ms
EVENTS = Settings().topic("clickstream.events")


class Recorded(Sent):
    """Sent records kept; delivery reports are nothing to serve."""

    def poll(self) -> None:
        return None

    def hand_over(self) -> None:
        return None  # kept at once


class HandedOver(Recorded):
    """Sent records kept once handed over, as :class:`Outputs` does: a send waits for the
    next poll or hand-over (so a timer's outputs show only if the tick hands them over)."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: list[tuple[str, bytes, bytes]] = []

    def send(self, topic: str, key: bytes, value: bytes) -> None:
        self.waiting.append((topic, key, value))

    def poll(self) -> None:
        self.hand_over()

    def hand_over(self) -> None:
        self.sent += self.waiting
        self.waiting = []


class Wall:
    """The wall clock the path reads, moved by the test (seconds)."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> float:
        return self.ms / 1000


def _path(tmp_path: Path, wall: Wall, partitions: list[int]) -> tuple[DecisionPath, Recorded]:
    tables = Tables(tmp_path, "g", [VISITORS, "visitor-profiles"],
                    LocalOnly())  # type: ignore[arg-type]
    outputs = HandedOver()
    path = DecisionPath(Settings(), Engine(EngineOptions(), learn_inline=False), tables,
                        outputs, None, PathOptions(), clock=wall)  # type: ignore[arg-type]
    path.assigned(partitions)
    return path, outputs


def _page_view(path: DecisionPath, partition: int, offset: int, visitor: str, t: int) -> None:
    event = click_event(visitor, "page_view", t, event_id=f"{visitor}-p", page_type="pricing",
                        url="https://shop.example/pricing")
    path.apply(Record(EVENTS, partition, offset, visitor.encode(),
                      Codec.default().encode("ClickEvent", event)))


def _decoded(outputs: Recorded) -> list[tuple[str, dict[str, Any]]]:
    codec = Codec.default()
    return [(topic, codec.decode(value)[1]) for topic, _, value in outputs.sent]


def _timer_outputs(outputs: Recorded, visitor: str) -> list[tuple[str, str]]:
    """(topic, what) of the outputs a timer of ``visitor`` produced."""
    out = []
    trigger = timer_trigger_id(visitor, T0 + DWELL)
    for topic, record in _decoded(outputs):
        if topic.endswith("signals.struggle") and record["visitor_id"] == visitor:
            out.append((topic, f"{record['rule']}:{record['details'].get('variant')}"))
        decision = record.get("decision", record)
        if topic.endswith(("decisions.log", "personalization.actions")) and \
                decision.get("trigger_event_id") == trigger:
            out.append((topic, str(decision["created_at"] - T0)))
    return out


def test_the_tick_fires_a_timer_once_its_partitions_event_clock_passes_it(
        tmp_path: Path) -> None:
    wall = Wall(T0)
    path, outputs = _path(tmp_path, wall, [0, 1])
    _page_view(path, 0, 0, "a", T0)
    _page_view(path, 1, 0, "b", T0)
    assert {p: len(d) for p, d in path.timers.items()} == {0: 1, 1: 1}
    wall.ms = T0 + DWELL - 1
    path.tick(0.0)
    assert _timer_outputs(outputs, "a") == [] and _timer_outputs(outputs, "b") == []
    wall.ms = T0 + DWELL
    path.tick(0.0)
    for visitor in "ab":
        assert _timer_outputs(outputs, visitor) == [
            ("signals.struggle", "hesitation:dwell"), ("personalization.decisions.log", str(DWELL))]
    assert {c.key for c in path.tables.staging.take()} == {b"a", b"b"}  # stored with the fire
    path.tables.staging.done()
    sent = len(outputs.sent)
    wall.ms = T0 + 10 * DWELL
    path.tick(0.0)
    assert len(outputs.sent) == sent  # fired once
    path.tables.close()


def test_a_partition_catching_up_a_backlog_fires_on_its_events_time_not_the_wall_clock(
        tmp_path: Path) -> None:
    wall = Wall(T0 + 3_600_000)  # the events are an hour old: a backlog after a restart
    path, outputs = _path(tmp_path, wall, [0])
    _page_view(path, 0, 0, "a", T0)
    path.tick(0.0)
    assert _timer_outputs(outputs, "a") == []  # its next events may still be in the backlog
    wall.ms += DWELL
    path.tick(0.0)
    assert _timer_outputs(outputs, "a")[0] == ("signals.struggle", "hesitation:dwell")
    path.tables.close()


def test_a_live_partition_fires_on_the_wall_clock_unless_its_input_is_behind(
        tmp_path: Path) -> None:
    wall = Wall(T0)
    path, outputs = _path(tmp_path, wall, [0])
    behind = [True]
    path.input_behind = lambda partition: behind[0]
    _page_view(path, 0, 0, "a", T0)
    wall.ms += DWELL
    path.tick(0.0)
    assert _timer_outputs(outputs, "a") == []  # more of the partition waits to be applied
    behind[0] = False
    path.tick(0.0)
    assert _timer_outputs(outputs, "a")[0] == ("signals.struggle", "hesitation:dwell")
    path.tables.close()


def _stream_read_with_gaps(tmp_path: Path, gap_ms: int) -> list[tuple[str, dict[str, Any]]]:
    """Old events produced while they are read: ``gap_ms`` of wall time between records
    (not "behind" between fetches), a tick before the next; then the partition goes idle."""
    wall = Wall(T0 + 3_600_000)
    path, outputs = _path(tmp_path / str(gap_ms), wall, [0])
    times = [("a", T0)] + [(f"o{k}", T0 + 1_000 * k) for k in range(1, 30)] + [
        ("o30", T0 + DWELL - 100), ("a", T0 + DWELL - 50)]  # a moves on before the dwell
    for offset, (visitor, t) in enumerate(times):
        event = click_event(visitor, "page_view", t, event_id=f"{visitor}-{offset}",
                            page_type="pricing", url="https://shop.example/pricing")
        path.apply(Record(EVENTS, 0, offset, visitor.encode(),
                          Codec.default().encode("ClickEvent", event)))
        wall.ms += gap_ms  # the next fetch comes this much later; the loop ticks meanwhile
        path.tick(0.0)
    wall.ms += PathOptions().timers_idle_after_ms + DWELL  # idle: the wall clock counts
    path.tick(0.0)
    path.tables.close()
    return _decoded(outputs)


def test_records_still_coming_decide_before_the_wall_clock_fires_a_timer(
        tmp_path: Path) -> None:
    """The same records read with pauses of 0.9 of the idle time, or with none, give the
    same outputs: the partition is not idle, so the wall time between fetches does not fire
    a's first dwell 50 ms before a's next page view (read next) moves it on."""
    gap = 9 * PathOptions().timers_idle_after_ms // 10
    paused, at_once = _stream_read_with_gaps(tmp_path, gap), _stream_read_with_gaps(tmp_path, 0)
    assert paused == at_once
    dwells = [record["event_time"] - T0 for topic, record in paused
              if topic.endswith("signals.struggle") and record["visitor_id"] == "a"]
    assert dwells == [DWELL - 50]  # the second page's, once idle; never the first's


def test_a_revoked_partitions_timers_go_and_the_others_stay(tmp_path: Path) -> None:
    wall = Wall(T0)
    path, outputs = _path(tmp_path, wall, [0, 1])
    _page_view(path, 0, 0, "a", T0)
    _page_view(path, 1, 0, "b", T0)
    path.revoked([1])
    assert set(path.timers) == {0}
    wall.ms = T0 + DWELL
    path.tick(0.0)
    assert _timer_outputs(outputs, "a") != [] and _timer_outputs(outputs, "b") == []
    path.tables.close()


def _store_pricing_view(tmp_path: Path) -> None:
    """Visitor a's state after a pricing page view at T0 (its dwell timer due at T0 +
    DWELL), stored in partition 0 as the changelog restores it."""
    engine = Engine(EngineOptions(), learn_inline=False)
    state = engine.on_event(None, click_event("a", "page_view", T0, event_id="a-p",
                                              page_type="pricing",
                                              url="https://shop.example/pricing")).state
    assert state is not None
    stored = PartitionStore.open(tmp_path / "tables" / VISITORS / "0")
    stored.write({b"a": state.to_bytes()}, 0)
    stored.close()


def test_after_a_restart_the_sweep_rebuilds_the_index_from_the_stored_states_at_once(
        tmp_path: Path) -> None:
    _store_pricing_view(tmp_path)
    wall = Wall(T0 + 1_000)
    path, outputs = _path(tmp_path, wall, [0])  # sweeps are a minute apart (PathOptions())
    assert path.timers == {}
    path.tick(0.0)  # the first turn sweeps the newly assigned partition
    assert len(path.timers[0]) == 1
    wall.ms = T0 + DWELL
    path.tick(0.0)
    assert _timer_outputs(outputs, "a") == [
        ("signals.struggle", "hesitation:dwell"), ("personalization.decisions.log", str(DWELL))]
    path.tables.close()


def test_restored_timers_wait_for_the_records_of_a_partition_just_assigned(
        tmp_path: Path) -> None:
    """A restart in a backlog of hour-old events: the restored state's timer is long due by
    the wall clock, but the visitor's next page view (50 ms before the due time) is still to
    be read; it is, before the partition goes idle, and the first dwell never fires."""
    _store_pricing_view(tmp_path)
    wall = Wall(T0 + 3_600_000)
    path, outputs = _path(tmp_path, wall, [0])
    path.tick(0.0)  # the sweep rebuilds the index
    wall.ms += PathOptions().timers_idle_after_ms - 1
    path.tick(0.0)
    assert len(path.timers[0]) == 1 and _timer_outputs(outputs, "a") == []
    event = click_event("a", "page_view", T0 + DWELL - 50, event_id="a-q",
                        page_type="pricing", url="https://shop.example/pricing")
    path.apply(Record(EVENTS, 0, 1, b"a", Codec.default().encode("ClickEvent", event)))
    wall.ms += PathOptions().timers_idle_after_ms + DWELL
    path.tick(0.0)
    dwells = [record["event_time"] - T0 for topic, record in _decoded(outputs)
              if topic.endswith("signals.struggle")]
    assert dwells == [DWELL - 50]  # the second page's, once idle; never the first's
    path.tables.close()
