"""Offline replay through the engine: determinism, what-if configs, dead letters, outcomes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.validation import validate

from pipeline.engine import EngineOptions
from pipeline.replay import (
    FileInputs,
    ReplayMetrics,
    ReplayRun,
    engine_options,
    file_records,
    read_decision_logs,
    run_replay,
)
from pipeline.replay.engine import Replayer
from pipeline.replay.sources import SourceRecord
from pipeline.serde import Codec
from tests.unit.replay.catalogs import catalog_without
from tests.unit.replay.replay_helpers import REPO, SCHEMA_DIR
from tests.unit.replay.stream_factory import HEADPHONES_SHOPPER, Stream, generate_stream

OUTPUTS = ("decisions", "signals", "dead_letters")


@pytest.fixture(scope="module")
def stream() -> Stream:
    return generate_stream()


@pytest.fixture(scope="module")
def inputs(stream: Stream, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return stream.write(tmp_path_factory.mktemp("input"))


def _replay(inputs: dict[str, Path], out: Path, options: EngineOptions | None = None,
            fmt: str = "jsonl", logged: Path | None = None) -> ReplayRun:
    files = FileInputs(inputs["events"], inputs["outcomes"], inputs["profiles"], logged)
    return run_replay(file_records(files), options or EngineOptions(), out, fmt)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def baseline(inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> ReplayRun:
    return _replay(inputs, tmp_path_factory.mktemp("baseline"))


def _decisions(run: ReplayRun) -> list[dict[str, Any]]:
    return read_decision_logs(run.outputs["decisions"])


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# -- determinism ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "avro"])
def test_the_same_input_twice_gives_byte_identical_files(inputs: dict[str, Path], tmp_path: Path,
                                                         fmt: str) -> None:
    first = _replay(inputs, tmp_path / "one", fmt=fmt)
    _replay(inputs, tmp_path / "two", fmt=fmt)
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert sorted(one) == sorted([f"{n}.{fmt}" for n in OUTPUTS] + ["metrics.json"])
    assert one == two
    assert first.metrics.decisions > 100  # a real stream, not an empty file twice


_CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from pipeline.engine import EngineOptions
    from pipeline.replay import FileInputs, file_records, run_replay
    folder = Path(sys.argv[1])
    files = FileInputs(folder / "events.jsonl", folder / "outcomes.jsonl",
                       folder / "profiles.jsonl")
    run_replay(file_records(files), EngineOptions(), Path(sys.argv[2]), "avro")
""")


def test_byte_identical_across_processes_with_different_hash_seeds(
        inputs: dict[str, Path], tmp_path: Path) -> None:
    # Set iteration order of str depends on PYTHONHASHSEED: outputs must not.
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
        subprocess.run([sys.executable, "-c", _CHILD, str(inputs["events"].parent),
                        str(tmp_path / seed)], check=True, env=env, timeout=120, cwd=REPO)
    assert _files(tmp_path / "1") == _files(tmp_path / "2")


def test_no_wall_clock_in_outputs(baseline: ReplayRun, stream: Stream) -> None:
    times = [e["event_time"] for e in stream.events]
    lowest, highest = min(t for t in times if t > 10**12), max(times)
    for letter in (json.loads(line) for line in
                   Path(baseline.outputs["dead_letters"]).read_text().splitlines()):
        assert lowest <= letter["failed_at"] <= highest  # the event-time watermark
    for log in _decisions(baseline):
        assert lowest <= log["decision"]["created_at"] <= highest


def test_a_different_seed_is_a_different_but_reproducible_run(inputs: dict[str, Path],
                                                              tmp_path: Path,
                                                              baseline: ReplayRun) -> None:
    a = _replay(inputs, tmp_path / "a", engine_options(seed=99))
    _replay(inputs, tmp_path / "b", engine_options(seed=99))
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert a.metrics.config["bandit_seed"] == 99 != baseline.metrics.config["bandit_seed"]
    assert [d["decision"]["propensity"] for d in _decisions(a)] != [
        d["decision"]["propensity"] for d in _decisions(baseline)] or [
        d["decision"]["action_id"] for d in _decisions(a)] != [
        d["decision"]["action_id"] for d in _decisions(baseline)]


# -- what the replay decides ------------------------------------------------------------


def test_the_headphones_shopper_is_offered_free_express_shipping(baseline: ReplayRun) -> None:
    mine = [d for d in _decisions(baseline) if d["decision"]["visitor_id"] == HEADPHONES_SHOPPER]
    assert [d["decision"]["action_id"] for d in mine].count("free_express_shipping") == 1
    offer = next(d for d in mine if d["decision"]["action_id"] == "free_express_shipping")
    assert offer["categorical_features"]["page_type"] == "shipping_returns"
    signals = [json.loads(s) for s in Path(baseline.outputs["signals"]).read_text().splitlines()]
    assert any(s["visitor_id"] == HEADPHONES_SHOPPER and s["rule"] == "hesitation"
               for s in signals)


def test_a_candidate_catalog_changes_the_decisions(inputs: dict[str, Path], tmp_path: Path,
                                                   baseline: ReplayRun) -> None:
    catalog = catalog_without(tmp_path, "free_express_shipping", "cta_change")
    candidate = _replay(inputs, tmp_path / "candidate", engine_options(catalog=catalog))
    base_actions = baseline.metrics.decisions_by_action
    cand_actions = candidate.metrics.decisions_by_action
    assert base_actions["free_express_shipping"] >= 1 and base_actions["cta_change"] > 0
    assert cand_actions["free_express_shipping"] == 0 == cand_actions["cta_change"]
    assert candidate.metrics.config["catalog_sha256"] != baseline.metrics.config["catalog_sha256"]
    # Same triggers (decision ids come from the events), other choices.
    base = {d["decision"]["decision_id"]: d["decision"]["action_id"] for d in _decisions(baseline)}
    cand = {d["decision"]["decision_id"]: d["decision"]["action_id"]
            for d in _decisions(candidate)}
    changed = [i for i in base.keys() & cand.keys() if base[i] != cand[i]]
    assert len(changed) >= base_actions["cta_change"]


def test_an_options_file_changes_the_experiment_split(inputs: dict[str, Path], tmp_path: Path,
                                                      baseline: ReplayRun) -> None:
    overrides = tmp_path / "candidate.yaml"
    overrides.write_text("decider:\n  control_share: 0.5\n  bandit: {epsilon: 0.3}\n")
    run = _replay(inputs, tmp_path / "out", engine_options(overrides))
    arms = run.metrics.decisions_by_arm
    assert arms["control"] > baseline.metrics.decisions_by_arm["control"]
    assert run.metrics.config["options_sha256"] != baseline.metrics.config["options_sha256"]


def test_an_opted_out_visitor_gets_no_decision(baseline: ReplayRun, stream: Stream) -> None:
    opted_out = stream.profiles[0]["visitor_id"]
    assert any(e["visitor_id"] == opted_out for e in stream.events)
    assert not [d for d in _decisions(baseline) if d["decision"]["visitor_id"] == opted_out]
    assert baseline.metrics.events_opted_out > 0


# -- bad input --------------------------------------------------------------------------


def test_bad_records_are_dead_lettered_and_counted(baseline: ReplayRun, stream: Stream) -> None:
    letters = [json.loads(line) for line in
               Path(baseline.outputs["dead_letters"]).read_text().splitlines()]
    reasons = sorted(letter["error_class"] for letter in letters)
    assert reasons == ["garbage", "invalid", "invalid", "invalid", "invalid", "late_event"]
    assert baseline.metrics.late == 1
    assert baseline.metrics.events_read == len(stream.events) + len(stream.bad_lines)
    seconds = next(x for x in letters if "epoch milliseconds" in x["error_message"])
    assert seconds["source_partition"] == -1 and seconds["source_offset"] > 0
    assert json.loads(seconds["original_value"].encode("latin-1"))["event_time"] < 10**12
    metrics = json.loads(Path(baseline.outputs["metrics"]).read_text())
    assert metrics["dead_letters"]["by_kind"]["ClickEvent"] == {
        "garbage": 1, "invalid": 4, "late_event": 1}


def test_a_failure_in_the_core_costs_one_event(tmp_path: Path) -> None:
    from pipeline.client import click_event

    written: list[dict[str, Any]] = []

    class Sink:
        def decision_log(self, key: str, record: Any) -> None:
            written.append(record)

        def signal(self, key: str, record: Any) -> None:
            pass

        def dead_letter(self, record: Any) -> None:
            written.append({"dead": record})

    replayer = Replayer(EngineOptions(), Sink())
    real = replayer.engine.on_event

    def flaky(state: Any, event: Any, view: Any = None) -> Any:
        if event["visitor_id"] == "boom":
            raise RuntimeError("bug")
        return real(state, event, view)

    replayer.engine.on_event = flaky  # type: ignore[method-assign,assignment]
    t = 1_800_000_000_000
    for i, visitor in enumerate(["ok", "boom", "ok2"]):
        event = click_event(visitor, "page_view", t + i)
        replayer.feed(SourceRecord("ClickEvent", "f", -1, i, t + i, event))
    dead = [w["dead"] for w in written if "dead" in w]
    assert [d["error_class"] for d in dead] == ["processing_error"]
    assert "bug" in dead[0]["error_message"]
    assert len(written) == 3  # two decisions and one dead letter


def test_every_output_record_matches_its_schema(baseline: ReplayRun) -> None:
    named: dict[str, Any] = {}
    schemas = {}
    for name in ("Decision", "DecisionLog", "StruggleSignal", "DeadLetter"):
        schemas[name] = fastavro.parse_schema(
            json.loads((SCHEMA_DIR / f"{name}.avsc").read_text()), named_schemas=named)
    for log in _decisions(baseline):
        assert validate(log, schemas["DecisionLog"], raise_errors=True)
    for line in Path(baseline.outputs["signals"]).read_text().splitlines():
        assert validate(json.loads(line), schemas["StruggleSignal"], raise_errors=True)
    codec = Codec.default()
    for line in Path(baseline.outputs["dead_letters"]).read_text().splitlines():
        letter = json.loads(line)
        for field in ("original_key", "original_value"):
            if letter[field] is not None:
                letter[field] = letter[field].encode("latin-1")
        codec.validate("DeadLetter", letter)


# -- learning from outcomes -------------------------------------------------------------


def test_outcomes_are_learned_where_the_replay_chose_the_logged_action(
        inputs: dict[str, Path], tmp_path: Path, baseline: ReplayRun) -> None:
    logged = Path(baseline.outputs["decisions"])
    same = _replay(inputs, tmp_path / "same", logged=logged)
    assert same.metrics.outcomes_counterfactual == 0
    assert same.metrics.outcomes_applied == baseline.metrics.outcomes_applied > 0
    assert same.metrics.outcomes_unverified == 0
    assert same.metrics.logged_decisions_read == baseline.metrics.decisions

    catalog = catalog_without(tmp_path, "cta_change")
    other = _replay(inputs, tmp_path / "other", engine_options(catalog=catalog), logged=logged)
    m = other.metrics
    assert m.outcomes_counterfactual > 0
    assert m.outcomes_applied + m.outcomes_counterfactual + m.outcomes_unmatched == m.outcomes_read


def test_metrics_json_is_the_metrics(baseline: ReplayRun) -> None:
    on_disk = json.loads(Path(baseline.outputs["metrics"]).read_text())
    m: ReplayMetrics = baseline.metrics
    assert on_disk["events"]["read"] == m.events_read
    assert on_disk["decisions"]["by_action"] == dict(sorted(m.decisions_by_action.items()))
    assert sum(on_disk["signals"]["by_rule"].values()) == on_disk["signals"]["total"] > 0
    assert on_disk["events"]["invalid"] == 5 and on_disk["events"]["late"] == 1
    assert "elapsed" not in json.dumps(on_disk) and "per_s" not in json.dumps(on_disk)
