"""rtp replay --model: a pinned snapshot decides throughout, learns nothing, and its
decisions are what a worker holding that snapshot decides (checked against the engine run
directly, as the worker runs it: ``learn_inline=False``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.commands import replay
from pipeline.engine import Engine, EngineOptions
from pipeline.engine.routing import DECISIONS_LOG, event_outputs, timer_outputs
from pipeline.learning import Model
from pipeline.replay import FileInputs, file_records, read_decision_logs, run_replay
from pipeline.serde import Codec
from tests.unit.replay.cli_helpers import run_command
from tests.unit.replay.stream_factory import Stream, generate_stream


@pytest.fixture(scope="module")
def stream() -> Stream:
    return generate_stream(n_visitors=30, seed=11, prefix="pm")


@pytest.fixture(scope="module")
def trained(stream: Stream, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A model learned by a replay over the stream with its outcomes (not untrained)."""
    folder = tmp_path_factory.mktemp("trained")
    files = stream.write(folder / "in", with_bad=False)
    run = run_replay(file_records(FileInputs(files["events"], files["outcomes"])),
                     EngineOptions(), folder / "out")
    assert run.model is not None and run.model.version > 0
    assert run.metrics.pinned_model_version is None and run.metrics.rewards_applied > 0
    return run.model.to_bytes()


#: Feature sets the intent part of a model is asked about in :func:`_parts`.
_PROBES = [({"page_views": float(n), "product_views": float(n % 4), "cart_adds": float(n % 2)},
            {"device": device, "page_type": page})
           for n in range(1, 9) for device in ("mobile", "desktop")
           for page in ("home", "product", "checkout")]


def _parts(model: Model | None) -> tuple[bytes, int, int, list[float]]:
    """What a model is: the bandit's bytes, the version, and the intent model's count and
    answers (its pickled bytes are not canonical: sets of strings come back in another
    order in another process)."""
    assert model is not None
    return (model.bandit.to_bytes(), model.version, model.intent.n_learned,
            [model.intent.predict(numeric, categorical) for numeric, categorical in _PROBES])


def _worker_decisions(events: list[dict[str, Any]], snapshot: bytes) -> dict[str, Any]:
    """The worker's engine holding ``snapshot`` over ``events``, in order, then its timers
    due by the last event time (the worker's tick): decision logs by id, as read back from
    its topic (encoded and decoded: the contract's defaults filled in)."""
    codec = Codec.default()
    engine = Engine(EngineOptions(), model=Model.from_bytes(snapshot, EngineOptions()),
                    learn_inline=False)
    states: dict[str, Any] = {}
    out: dict[str, Any] = {}
    for event in events:
        visitor = str(event["visitor_id"])
        result = engine.on_event(states.get(visitor), event, None)
        if not result.duplicate and result.late_reason is None and result.state is not None:
            states[visitor] = result.state
        for output in event_outputs(result, event):
            if output.topic == DECISIONS_LOG:
                out[str(output.record["decision"]["decision_id"])] = codec.decode(
                    codec.encode("DecisionLog", dict(output.record)))[1]
    end = max(int(e["event_time"]) for e in events)
    for visitor, state in states.items():
        for fired in engine.on_timers(state, end):
            for output in timer_outputs(fired, visitor):
                if output.topic == DECISIONS_LOG:
                    out[str(output.record["decision"]["decision_id"])] = codec.decode(
                    codec.encode("DecisionLog", dict(output.record)))[1]
    return out


def test_a_pinned_replay_decides_as_the_worker_with_that_snapshot(
        stream: Stream, trained: bytes, tmp_path: Path) -> None:
    files = stream.write(tmp_path / "in", with_bad=False)
    version = Model.version_of(trained)
    pinned = Model.from_bytes(trained, EngineOptions())
    before = _parts(pinned)
    run = run_replay(file_records(FileInputs(files["events"])), EngineOptions(),
                     tmp_path / "out", model=pinned)
    logs = {str(r["decision"]["decision_id"]): r
            for r in read_decision_logs(run.outputs["decisions"])}
    expected = _worker_decisions(stream.events, trained)  # in arrival (file) order
    assert logs and set(logs) == set(expected)  # both directions
    assert {d: r["decision"] for d, r in logs.items()} == {
        d: r["decision"] for d, r in expected.items()}
    assert {r["model_version"] for r in logs.values()} == {version}
    assert _parts(run.model) == before  # nothing learned
    assert (run.metrics.pinned_model_version, run.metrics.rewards_applied,
            run.metrics.learner_updates) == (version, 0, version)


def test_outcomes_do_not_move_a_pinned_model(stream: Stream, trained: bytes,
                                             tmp_path: Path) -> None:
    files = stream.write(tmp_path / "in", with_bad=False)
    inputs = FileInputs(files["events"], files["outcomes"])
    model = Model.from_bytes(trained, EngineOptions())
    before = _parts(model)
    pinned = run_replay(file_records(inputs), EngineOptions(), tmp_path / "pinned",
                        model=model)
    learning = run_replay(file_records(inputs), EngineOptions(), tmp_path / "learning")
    assert _parts(pinned.model) == before
    # The other direction: the same input does move a model that learns.
    assert learning.model is not None and learning.model.version > 0
    assert learning.metrics.rewards_applied > 0 == pinned.metrics.rewards_applied


def test_the_cli_pins_a_snapshot_file_and_saves_it_again(stream: Stream, trained: bytes,
                                                        tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    files = stream.write(tmp_path / "in", with_bad=False)
    snapshot = tmp_path / "snap.bin"
    snapshot.write_bytes(trained)
    saved = tmp_path / "again.bin"
    code = run_command(replay, ["replay", str(files["events"]), "--model", str(snapshot),
                                "--out", str(tmp_path / "out"), "--save-model", str(saved),
                                "-q"])
    assert code == 0
    assert f"model pinned at version {Model.version_of(trained)}" in capsys.readouterr().out
    options = EngineOptions()
    assert _parts(Model.from_bytes(saved.read_bytes(), options)) == _parts(
        Model.from_bytes(trained, options))
    logs = read_decision_logs(tmp_path / "out" / "decisions.jsonl")
    assert logs and {r["model_version"] for r in logs} == {Model.version_of(trained)}


@pytest.mark.parametrize(("source", "message"), [
    ("topic:x", "--model topic:N needs a version number, got 'x'"),
    ("missing.bin", "--model missing.bin: No such file or directory"),
    ("garbage.bin", "--model garbage.bin: not a model snapshot"),
])
def test_a_bad_model_source_exits_2_with_a_message(stream: Stream, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str],
                                                   source: str, message: str) -> None:
    files = stream.write(tmp_path / "in", with_bad=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "garbage.bin").write_bytes(b"not a snapshot")
    code = run_command(replay, ["replay", str(files["events"]), "--model", source,
                                "--out", str(tmp_path / "out"), "-q"])
    assert code == 2
    assert message in capsys.readouterr().err
