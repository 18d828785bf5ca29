"""rtp replay on a real broker: topic ranges by offsets and by timestamps, topic output, export.

One stream is produced once (module fixture, its own topic prefix) with the SDK:
profile updates, ClickEvents (plus one garbage message), outcomes, and the
decision log of a baseline replay as the "logged" decisions.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, Message

from pipeline.client import EventProducer
from pipeline.commands import replay, report
from pipeline.engine import EngineOptions
from pipeline.replay import (
    FileInputs,
    export_topics,
    file_records,
    read_decision_logs,
    read_outcomes,
    run_replay,
)
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import DECISIONS_LOG, EVENTS, apply_topics, topic_specs
from tests.integration.kafka_reader import read_topic
from tests.unit.replay.catalogs import catalog_without
from tests.unit.replay.cli_helpers import run_command
from tests.unit.replay.stream_factory import Stream, generate_stream


@dataclasses.dataclass
class Loaded:
    settings: Settings
    stream: Stream
    events: list[tuple[int, int, int]]  # (partition, offset, timestamp) of each event message
    logged: list[dict[str, Any]]
    folder: Path


@pytest.fixture(scope="module")
def loaded(kafka: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    settings = dataclasses.replace(kafka, topic_prefix=f"it-replay-{uuid.uuid4().hex[:8]}.")
    apply_topics(settings.bootstrap, topic_specs(settings.partitions, settings.replication,
                                                 settings.topic_prefix))
    folder = tmp_path_factory.mktemp("replay-topics")
    now = int(time.time() * 1000)
    stream = generate_stream(n_visitors=20, seed=5, t0=now - 20 * 60_000, prefix="it")
    files = stream.write(folder / "in", with_bad=False)
    baseline = run_replay(file_records(FileInputs(files["events"], files["outcomes"],
                                                  files["profiles"])),
                          EngineOptions(), folder / "baseline")
    logged = read_decision_logs(baseline.outputs["decisions"])
    events_topic = settings.topic(EVENTS)
    delivered: list[tuple[int, int, int]] = []

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        if err is None and msg.topic() == events_topic:
            delivered.append((msg.partition() or 0, msg.offset() or 0, msg.timestamp()[1]))

    with EventProducer(settings, on_delivery=on_delivery) as producer:
        for update in stream.profiles:
            producer.send_profile_update(update)
        for event in stream.events:
            producer.send_event(event)
        producer.produce_raw(events_topic, b"\x00 not an event", b"it-garbage")
        for outcome in stream.outcomes:
            producer.send_outcome(outcome)
        for record in logged:
            producer.send(settings.topic(DECISIONS_LOG), "DecisionLog", record,
                          record["decision"]["decision_id"])
    assert producer.stats.failed == 0
    assert len(delivered) == len(stream.events) + 1
    yield Loaded(settings, stream, delivered, logged, folder)


def _replay(loaded: Loaded, out: Path, *extra: str) -> dict[str, Any]:
    code = run_command(replay, ["replay", "--topics", "--out", str(out), "-q", "--json",
                                "--idle-timeout", "20", *extra], loaded.settings)
    assert code == 0
    return json.loads((out / "metrics.json").read_text())


def test_replay_the_whole_topic_by_offsets(loaded: Loaded, tmp_path: Path) -> None:
    metrics = _replay(loaded, tmp_path / "a", "--from", "0")
    assert metrics["events"]["read"] == len(loaded.events)
    assert metrics["dead_letters"]["by_kind"]["ClickEvent"]["garbage"] == 1
    assert metrics["decisions"]["total"] > 30
    assert metrics["profile_updates"]["applied"] == len(loaded.stream.profiles)
    assert metrics["logged_decisions_read"] == len(loaded.logged)
    assert metrics["outcomes"]["read"] == len(loaded.stream.outcomes)
    assert metrics["outcomes"]["applied"] > 0
    # Replaying the same range again gives the same files, byte for byte.
    _replay(loaded, tmp_path / "b", "--from", "0")
    for name in ("decisions.jsonl", "signals.jsonl", "dead_letters.jsonl", "metrics.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    letters = [json.loads(line) for line in
               (tmp_path / "a" / "dead_letters.jsonl").read_text().splitlines()]
    letter = next(x for x in letters if x["error_class"] == "garbage")
    assert letter["source_topic"] == loaded.settings.topic(EVENTS)
    assert letter["original_key"] == "it-garbage"


def test_replay_an_offset_range(loaded: Loaded, tmp_path: Path) -> None:
    per_partition: dict[int, int] = {}
    for partition, _, _ in loaded.events:
        per_partition[partition] = per_partition.get(partition, 0) + 1
    expected = sum(min(6, n) - min(2, n) for n in per_partition.values())
    metrics = _replay(loaded, tmp_path, "--from", "2", "--to", "6")
    assert metrics["events"]["read"] == expected > 0
    first = min(per_partition)
    one = _replay(loaded, tmp_path / "one", "--from", f"{first}:3", "--to", f"{first}:5")
    others = sum(n for p, n in per_partition.items() if p != first)
    assert one["events"]["read"] == min(5, per_partition[first]) - 3 + others


def test_replay_a_time_range(loaded: Loaded, tmp_path: Path) -> None:
    stamps = sorted(ts for _, _, ts in loaded.events)
    cutoff = stamps[len(stamps) // 2]
    later = sum(1 for ts in stamps if ts >= cutoff)
    metrics = _replay(loaded, tmp_path / "from", "--from", str(cutoff))
    assert metrics["events"]["read"] == later
    earlier = _replay(loaded, tmp_path / "to", "--to", str(cutoff))
    assert earlier["events"]["read"] == len(stamps) - later
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(cutoff / 1000))
    whole_second = _replay(loaded, tmp_path / "iso", "--from", iso + "Z")
    assert whole_second["events"]["read"] >= later
    assert _replay(loaded, tmp_path / "lim", "--limit", "7")["events"]["read"] == 7


def test_a_candidate_catalog_against_the_logged_decisions(loaded: Loaded, tmp_path: Path) -> None:
    catalog = catalog_without(tmp_path, "cta_change", "first_time_buyer_discount")
    metrics = _replay(loaded, tmp_path / "cand", "--catalog", str(catalog))
    assert "cta_change" not in metrics["decisions"]["by_action"]
    assert metrics["outcomes"]["counterfactual_skipped"] > 0
    assert metrics["outcomes"]["applied_unverified"] == 0  # every decision was logged


def test_replay_into_a_new_topic(loaded: Loaded, tmp_path: Path) -> None:
    target = loaded.settings.topic("backtest.decisions.log")
    metrics = _replay(loaded, tmp_path, "--to-topic", target)
    total = metrics["decisions"]["total"]
    messages = read_topic(loaded.settings, target, total, timeout=30)
    assert len(messages) == total
    codec = Codec.default()
    ids = {codec.decode(m.value(), ("DecisionLog",))[1]["decision"]["decision_id"]
           for m in messages}
    assert ids == {(m.key() or b"").decode() for m in messages}
    assert not (tmp_path / "decisions.jsonl").exists()
    assert (tmp_path / "dead_letters.jsonl").is_file()


def test_export_topics_and_report_from_topics(loaded: Loaded, tmp_path: Path) -> None:
    log_path, outcomes_path = export_topics(loaded.settings, tmp_path / "export")
    exported = read_decision_logs(log_path)
    assert sorted(d["decision"]["decision_id"] for d in exported) == sorted(
        d["decision"]["decision_id"] for d in loaded.logged)
    assert len(read_outcomes(outcomes_path)) == len(loaded.stream.outcomes)
    later = export_topics(loaded.settings, tmp_path / "none", since_ms=int(time.time() * 1000)
                          + 3_600_000)
    assert read_decision_logs(later[0]) == []
    html = tmp_path / "report.html"
    code = run_command(report, ["report", "--from-topics", "--export-dir", str(tmp_path / "r"),
                                "--html", str(html), "--n-boot", "50"], loaded.settings)
    assert code == 0
    assert html.stat().st_size > 5_000


def test_an_unknown_topic_is_a_clear_error(loaded: Loaded, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code = run_command(replay, ["replay", "--topics", "--events-topic", "it-no-such-topic-x",
                                "--out", str(tmp_path), "-q"], loaded.settings)
    assert code == 2
    assert "it-no-such-topic-x" in capsys.readouterr().err


def test_import_obd_to_topics(topics: Settings, obd_dir: Path) -> None:
    from pipeline.commands import import_data
    from pipeline.topics import OUTCOMES

    code = run_command(import_data, ["import", "obd", str(obd_dir), "--to-topic", "--limit",
                                     "40", "--behaviors", "random"], topics)
    assert code == 0
    codec = Codec.default()
    logs = read_topic(topics, topics.topic(DECISIONS_LOG), 40, timeout=30)
    outcomes = read_topic(topics, topics.topic(OUTCOMES), 40, timeout=30)
    assert len(logs) == len(outcomes) == 40
    decoded = [codec.decode(m.value(), ("DecisionLog",))[1] for m in logs]
    assert {d["decision"]["policy"] for d in decoded} == {"uniform_random"}
    assert all(d["decision"]["propensity"] == 0.0125 for d in decoded)
