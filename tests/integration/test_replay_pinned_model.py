"""rtp replay --model topic[:N] on a real broker: the snapshot comes from the models topic
the learner publishes to, by version; a version compaction removed (or never published)
is a clear error naming the versions held."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import Producer

from pipeline.commands import replay
from pipeline.engine import EngineOptions
from pipeline.learning import Model
from pipeline.replay import FileInputs, file_records, read_decision_logs, run_replay
from pipeline.replay.pinned_model import snapshots_on_topic
from pipeline.settings import Settings
from pipeline.topics import MODELS
from tests.unit.replay.cli_helpers import run_command
from tests.unit.replay.stream_factory import generate_stream


def _publish(settings: Settings, *snapshots: bytes) -> None:
    producer = Producer({"bootstrap.servers": settings.bootstrap})
    for value in snapshots:
        producer.produce(settings.topic(MODELS), key=b"model", value=value)
    assert producer.flush(15) == 0


def test_replay_pins_a_version_read_from_the_models_topic(
        topics: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stream = generate_stream(n_visitors=20, seed=3, prefix="pin")
    files = stream.write(tmp_path / "in", with_bad=False)
    trained = run_replay(file_records(FileInputs(files["events"], files["outcomes"])),
                         EngineOptions(), tmp_path / "train").model
    assert trained is not None and trained.version > 0
    untrained = Model.new(EngineOptions())
    _publish(topics, trained.to_bytes(), untrained.to_bytes())
    assert sorted(snapshots_on_topic(topics)) == [0, trained.version]

    for source, version in ((f"topic:{trained.version}", trained.version),
                            ("topic:0", 0), ("topic", trained.version)):
        out = tmp_path / source.replace(":", "-")
        code = run_command(replay, ["replay", str(files["events"]), "--model", source,
                                    "--out", str(out), "-q"], topics)
        assert code == 0, capsys.readouterr().err
        logs = read_decision_logs(out / "decisions.jsonl")
        assert logs and {r["model_version"] for r in logs} == {version}, source

    code = run_command(replay, ["replay", str(files["events"]), "--model", "topic:999999",
                                "--out", str(tmp_path / "missing"), "-q"], topics)
    assert code == 2
    assert (f"version 999999 is not on {topics.topic(MODELS)} (compacted away or never "
            f"published); versions held: 0, {trained.version}") in capsys.readouterr().err


def test_an_empty_models_topic_is_a_clear_error(
        topics: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = generate_stream(n_visitors=3, seed=4, prefix="pin0").write(tmp_path / "in",
                                                                       with_bad=False)
    code = run_command(replay, ["replay", str(files["events"]), "--model", "topic",
                                "--out", str(tmp_path / "out"), "-q"], topics)
    assert code == 2
    assert f"no model snapshot on {topics.topic(MODELS)}" in capsys.readouterr().err
