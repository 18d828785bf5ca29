"""The control share travels with the data: recorded per decision, read by report and replay."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import fastavro
import pytest

from pipeline.client import click_event
from pipeline.commands import replay, report
from pipeline.decide import Decider, DeciderOptions, DecisionContext
from pipeline.decide.catalog import load_catalog
from pipeline.replay import (
    ReportOptions,
    SyntheticOptions,
    UnknownControlShare,
    build_report_from_rows,
    generate_synthetic_log,
    join_records,
    read_decision_logs,
    write_decision_logs,
    write_outcomes,
)
from pipeline.replay.control_share import NOT_RECORDED
from pipeline.serde import Codec, SchemaRegistry
from pipeline.settings import PROJECT_ROOT
from tests.unit.replay.cli_helpers import run_command

Capture = pytest.CaptureFixture[str]
T0 = 1_800_000_000_000


def _rows(share: float, n: int = 400, seed: int = 5) -> list:
    syn = generate_synthetic_log(SyntheticOptions(n_visitors=n, control_share=share, seed=seed))
    return join_records(syn.logs, syn.outcomes).rows


@pytest.mark.parametrize("share", [0.1, 0.5])
def test_every_decision_log_records_the_configured_control_share(share: float) -> None:
    decider = Decider(load_catalog(PROJECT_ROOT / "deploy/catalog/actions.yaml"),
                      DeciderOptions(control_share=share))
    ctx = DecisionContext("v", "s", "e", "page_view", T0, {},
                          {"sector": "ecommerce", "page_type": "home"}, consent=True)
    outcome = decider.decide(ctx)
    assert outcome is not None
    assert outcome.log["control_share"] == share
    # And it survives the topic's encoding (the field is in the schema, not dropped).
    codec = Codec.default()
    _, back = codec.decode(codec.encode("DecisionLog", outcome.log), ("DecisionLog",))
    assert (back["control_share"], back["model_version"]) == (share, 0)


def test_a_v1_record_reads_with_the_documented_defaults() -> None:
    registry = SchemaRegistry.load(PROJECT_ROOT / "schemas")
    v1 = registry.history("DecisionLog")[0]
    assert v1.version == 1
    assert "control_share" not in [f["name"] for f in v1.schema["fields"]]
    current = registry.current("DecisionLog").schema
    syn = generate_synthetic_log(SyntheticOptions(n_visitors=1, seed=1))
    record = {k: v for k, v in syn.logs[0].items() if k != "control_share"}
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(v1.schema), record)
    buffer.seek(0)
    back = fastavro.schemaless_reader(buffer, fastavro.parse_schema(v1.schema),
                                      fastavro.parse_schema(current))
    assert isinstance(back, dict)
    assert (back["control_share"], back["model_version"]) == (NOT_RECORDED, 0)
    v2_fields = {"reason": "", "channel": "web"}  # Decision v2 fields read with their defaults
    assert back["decision"] == {**record["decision"], **v2_fields}


def test_the_report_reads_the_share_from_the_log() -> None:
    rows = _rows(0.5)
    rep = build_report_from_rows(rows, options=ReportOptions(n_boot=20))
    assert (rep.srm.expected_control_share, rep.srm.share_source) == (0.5, "recorded")
    assert not rep.srm.mismatch
    # Both directions: read as 0.1 (the old default), the same data is a mismatch.
    wrong = build_report_from_rows(rows, 0.1, ReportOptions(n_boot=20))
    assert (wrong.srm.share_source, wrong.srm.mismatch) == ("given", True)


def test_mixed_shares_are_refused_unless_one_is_given() -> None:
    rows = _rows(0.5, 200, 1) + _rows(0.2, 200, 2)
    with pytest.raises(UnknownControlShare, match=r"mixes control shares: 0\.2 \(\d+ "):
        build_report_from_rows(rows, options=ReportOptions(n_boot=20))
    given = build_report_from_rows(rows, 0.35, ReportOptions(n_boot=20))
    assert given.srm.expected_control_share == 0.35


def test_a_log_from_before_v2_needs_the_share(tmp_path: Path, capsys: Capture) -> None:
    syn = generate_synthetic_log(SyntheticOptions(n_visitors=100, control_share=0.5, seed=3))
    old = [{k: v for k, v in log.items() if k != "control_share"} for log in syn.logs]
    write_decision_logs(tmp_path / "d.jsonl", old)
    write_outcomes(tmp_path / "o.jsonl", syn.outcomes)
    assert {r["control_share"] for r in read_decision_logs(tmp_path / "d.jsonl")} == {-1.0}
    files = [str(tmp_path / "d.jsonl"), str(tmp_path / "o.jsonl")]
    assert run_command(report, ["report", *files, "--n-boot", "10", "--erasures", "none"]) == 2
    assert f"{len(old)} of {len(old)} logged decisions do not record the control share" \
        in capsys.readouterr().err
    assert run_command(report, ["report", *files, "--control-share", "0.5", "--json",
                                "--n-boot", "10", "--erasures", "none"]) == 0
    assert json.loads(capsys.readouterr().out)["srm"]["share_source"] == "given"


def _events(path: Path, visitors: int = 80) -> Path:
    lines = [json.dumps(click_event(f"v{i}", "page_view", T0 + i * 1000)) for i in
             range(visitors)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _replay(argv: list[str], out: Path) -> tuple[Counter[str], set[float], dict]:
    assert run_command(replay, ["replay", *argv, "--out", str(out), "-q"]) == 0
    logs = read_decision_logs(out / "decisions.jsonl")
    arms = Counter(log["decision"]["experiment_arm"] for log in logs)
    metrics = json.loads((out / "metrics.json").read_text())
    return arms, {log["control_share"] for log in logs}, metrics


def test_replay_follows_the_logged_share_unless_one_is_given(tmp_path: Path) -> None:
    events = _events(tmp_path / "events.jsonl")
    live_options = tmp_path / "live.yaml"
    live_options.write_text("decider:\n  control_share: 0.5\n")
    live_arms, live_shares, _ = _replay([str(events), "--options", str(live_options)],
                                        tmp_path / "live")
    assert live_shares == {0.5} and live_arms["control"] > 20
    logged = str(tmp_path / "live" / "decisions.jsonl")

    arms, shares, metrics = _replay([str(events), "--logged-decisions", logged],
                                    tmp_path / "followed")
    assert (arms, shares) == (live_arms, {0.5})
    assert metrics["decisions"]["control_shares_followed"] == [0.5]

    arms, shares, metrics = _replay([str(events), "--logged-decisions", logged,
                                     "--control-share", "0.1"], tmp_path / "given")
    assert shares == {0.1} and arms != live_arms
    assert metrics["decisions"]["control_shares_followed"] == []

    # Without logged decisions there is nothing to follow: the configured share.
    _, shares, _ = _replay([str(events)], tmp_path / "alone")
    assert shares == {0.1}
