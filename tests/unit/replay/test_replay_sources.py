"""Replay inputs: bounds, tolerant file readers, the ordered merge, deterministic file writers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.client import click_event
from pipeline.replay import (
    InvalidOptions,
    RecordWriter,
    ReplaySourceError,
    SourceRecord,
    merge_sources,
    parse_bound,
    read_file,
)
from pipeline.replay.bounds import EPOCH_MS_FROM
from pipeline.replay.logfile import read_records
from pipeline.replay.sinks import sync_marker
from pipeline.replay.sources import select_events
from pipeline.serde import Codec

T = 1_800_000_000_000

# -- bounds -----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "kind", "value"), [
    ("0", "offset", 0),
    ("offset:1700000000000", "offset", 1_700_000_000_000),  # explicit beats the heuristic
    ("1700000000000", "time", 1_700_000_000_000),
    ("2025-03-01T12:00:00Z", "time", 1_740_830_400_000),
    ("2025-03-01T13:00:00+01:00", "time", 1_740_830_400_000),
    ("2025-03-01 12:00:00", "time", 1_740_830_400_000),
    ("time:1234", "time", 1234),
])
def test_bounds(text: str, kind: str, value: int) -> None:
    bound = parse_bound(text)
    assert bound.kind == kind
    assert (bound.offset if kind == "offset" else bound.time_ms) == value


@pytest.mark.parametrize("text", ["soon", "offset:-1", "0:1,0:2", "time:later"])
def test_bad_bounds_are_clear(text: str) -> None:
    with pytest.raises(InvalidOptions):
        parse_bound(text)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 4_000_000_000_000))
def test_integers_are_offsets_below_2001_and_epoch_ms_after(number: int) -> None:
    bound = parse_bound(str(number))
    assert bound.kind == ("time" if number >= EPOCH_MS_FROM else "offset")


@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=datetime(2001, 9, 10), max_value=datetime(2100, 1, 1)))
def test_iso_times_round_trip_to_epoch_ms(moment: datetime) -> None:
    moment = moment.replace(microsecond=(moment.microsecond // 1000) * 1000, tzinfo=UTC)
    assert parse_bound(moment.isoformat()).time_ms == int(moment.timestamp() * 1000)


# -- files ------------------------------------------------------------------------------


def _events(n: int, visitor: str = "v") -> list[dict[str, object]]:
    return [click_event(visitor, "page_view", T + i * 1000) for i in range(n)]


def test_json_lines_are_conformed_and_bad_lines_flagged(tmp_path: Path) -> None:
    event = click_event("v1", "page_view", T)
    del event["user_id"], event["context"]  # defaults fill these in
    event["context"] = {}
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join([json.dumps(event), "", "{broken", json.dumps({"x": 1}),
                               json.dumps("just a string")]) + "\n")
    records = list(read_file(path, "ClickEvent"))
    assert [r.offset for r in records] == [0, 1, 2, 3]  # blank lines are not records
    good = records[0].record
    assert good is not None and good["user_id"] is None
    assert good["context"]["device"] == "desktop"
    assert [r.error.reason if r.error else None for r in records] == [
        None, "garbage", "invalid", "invalid"]
    assert records[1].raw == b"{broken"
    assert records[1].order_ms == T  # undecodable records keep their place in file time


def test_avro_container_files(tmp_path: Path) -> None:
    codec = Codec.default()
    path = tmp_path / "e.avro"
    with path.open("wb") as fh:
        fastavro.writer(fh, codec.registry.current("ClickEvent").schema, _events(3))
    assert [r.record["event_time"] for r in read_file(path, "ClickEvent")  # type: ignore[index]
            ] == [T, T + 1000, T + 2000]
    with pytest.raises(ReplaySourceError, match=r"holds rtp\.ClickEvent records, expected Outcome"):
        list(read_file(path, "Outcome"))
    corrupt = tmp_path / "corrupt.avro"
    data = path.read_bytes()
    corrupt.write_bytes(data[:-40] + b"\x00" * 40)
    records = list(read_file(corrupt, "ClickEvent"))
    assert records[-1].error is not None and records[-1].error.reason == "truncated"
    not_avro = tmp_path / "x.avro"
    not_avro.write_bytes(b"hello")
    with pytest.raises(ReplaySourceError, match="not a readable Avro container"):
        list(read_file(not_avro, "ClickEvent"))


def test_missing_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(ReplaySourceError, match="no such file"):
        read_file(tmp_path / "nope.jsonl", "ClickEvent")
    with pytest.raises(ReplaySourceError, match="unsupported input format"):
        read_file(tmp_path / "events.csv", "ClickEvent")


def test_select_events_by_offset_and_time(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in _events(10)))
    offsets = [r.offset for r in select_events(read_file(path, "ClickEvent"),
                                               parse_bound("2"), parse_bound("5"))]
    assert offsets == [2, 3, 4]
    times = [r.offset for r in select_events(read_file(path, "ClickEvent"),
                                             parse_bound(str(T + 7000)))]
    assert times == [7, 8, 9]


# -- merge ------------------------------------------------------------------------------


def _stream(origin: str, times: list[int], kind: str = "ClickEvent") -> list[SourceRecord]:
    return [SourceRecord(kind, origin, 0, i, t, {}) for i, t in enumerate(times)]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.integers(0, 50), max_size=12), min_size=1, max_size=4),
       st.lists(st.integers(0, 60), max_size=10))
def test_merge_keeps_each_stream_in_order_and_stops_after_the_events(
        event_times: list[list[int]], outcome_times: list[int]) -> None:
    events = [_stream(f"p{i}", times) for i, times in enumerate(event_times)]
    outcomes = _stream("o", sorted(outcome_times), "Outcome")
    merged = list(merge_sources(events, [outcomes]))
    for i, stream in enumerate(events):  # per partition: offset order, nothing lost
        assert [r for r in merged if r.origin == f"p{i}"] == stream
    # Outcomes come in order (a prefix of their stream); nothing after the last event.
    assert merged == [] or merged[-1].kind == "ClickEvent"
    merged_outcomes = [r for r in merged if r.kind == "Outcome"]
    assert merged_outcomes == outcomes[:len(merged_outcomes)]
    if all(times == sorted(times) for times in event_times) and merged:
        # Sorted inputs: a true merge, every outcome before the last event included.
        assert merged_outcomes == [o for o in outcomes if o.sort_key < merged[-1].sort_key]


def test_merge_limit_counts_events_only() -> None:
    events = [_stream("p0", [1, 2, 3, 4])]
    outcomes = _stream("o", [1, 2, 3], "Outcome")
    merged = list(merge_sources(events, [outcomes], limit=2))
    assert [r.kind for r in merged] == ["ClickEvent", "Outcome", "ClickEvent"]


def test_at_equal_times_profiles_come_first_and_outcomes_last() -> None:
    recs = [_stream("e", [5])]
    others = [_stream("o", [5], "Outcome"), _stream("pr", [5], "ProfileUpdate"),
              _stream("d", [5], "DecisionLog")]
    assert [r.kind for r in merge_sources(recs, others)] == [
        "ProfileUpdate", "DecisionLog", "ClickEvent"]


# -- writers ----------------------------------------------------------------------------


def test_record_writer_formats(tmp_path: Path) -> None:
    letter = {"source_topic": "t", "source_partition": 0, "source_offset": 1,
              "original_key": b"k", "original_value": b"\x00\xff", "error_class": "garbage",
              "error_message": "m", "failed_at": T, "worker": None}
    for name in ("d.jsonl", "d.avro"):
        writer = RecordWriter(tmp_path / name, "DeadLetter")
        writer.write(letter)
        assert writer.close() == 1
    line = json.loads((tmp_path / "d.jsonl").read_text())
    assert line["original_value"].encode("latin-1") == b"\x00\xff"
    with (tmp_path / "d.avro").open("rb") as fh:
        reader = fastavro.reader(fh)
        assert list(reader) == [letter]
    assert sync_marker("DeadLetter") in (tmp_path / "d.avro").read_bytes()


def test_record_writer_is_atomic(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path / "o.jsonl", "Outcome")
    writer.write({"outcome_id": "o", "decision_id": "d", "visitor_id": "v", "kind": "shown",
                  "value": 0.0, "event_time": T})
    assert not (tmp_path / "o.jsonl").exists()
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_written_decision_logs_read_back_with_the_log_reader(tmp_path: Path) -> None:
    from tests.unit.replay.replay_helpers import decision_log

    for name in ("d.jsonl", "d.avro"):
        writer = RecordWriter(tmp_path / name, "DecisionLog")
        writer.write(decision_log())
        writer.close()
        assert read_records(tmp_path / name, "DecisionLog")[0]["decision"]["decision_id"] == "d1"


def test_progress_redraws_in_place_on_a_terminal_and_is_silent_when_quiet() -> None:
    import io

    from pipeline.replay import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    ticks = iter([0.0, 0.5, 1.5, 1.6, 3.0, 4.0])
    screen = Terminal()
    bar = Progress(stream=screen, clock=lambda: next(ticks))
    bar.update(10)  # within the first second: nothing
    bar.update(30)
    bar.update(31)  # too soon after the last redraw
    bar.update(90)
    bar.finish(100)
    text = screen.getvalue()
    assert text.count("\r") == 3 and "replay 30 events  20 events/s" in text
    assert text.endswith("replay: 100 events in 4.0 s (25 events/s)\n")
    quiet = io.StringIO()
    silent = Progress(total=5, stream=quiet, quiet=True, clock=iter([0.0, 10.0]).__next__)
    silent.update(5)
    silent.finish(5)
    assert quiet.getvalue() == "" and silent.rate == 0.5
