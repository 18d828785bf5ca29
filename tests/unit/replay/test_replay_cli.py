"""The analysts' commands: rtp replay, evaluate, import obd, report (exit codes and output)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.commands import evaluate, import_data, replay, report
from pipeline.replay import write_decision_logs, write_outcomes
from tests.unit.replay.catalogs import catalog_without
from tests.unit.replay.cli_helpers import run_command
from tests.unit.replay.replay_helpers import decision_log, outcome
from tests.unit.replay.stream_factory import generate_stream

Capture = pytest.CaptureFixture[str]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate_stream(n_visitors=30, seed=3).write(tmp_path_factory.mktemp("in"))


@pytest.fixture(scope="module")
def replayed(inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("replayed")
    code = run_command(replay, ["replay", str(inputs["events"]), "--outcomes",
                                str(inputs["outcomes"]), "--profiles", str(inputs["profiles"]),
                                "--out", str(out), "--quiet"])
    assert code == 0
    return out


@pytest.mark.parametrize("module", [replay, evaluate, report, import_data])
def test_each_command_explains_itself(module: object, capsys: Capture) -> None:
    name = {"replay": "replay", "evaluate": "evaluate", "report": "report",
            "import_data": "import"}[module.__name__.rsplit(".", 1)[-1]]  # type: ignore[attr-defined]
    with pytest.raises(SystemExit) as exit_info:
        run_command(module, [name, "--help"])  # type: ignore[arg-type]
    assert exit_info.value.code == 0
    assert len(capsys.readouterr().out.splitlines()) > 10


# -- replay -----------------------------------------------------------------------------


def test_replay_writes_outputs_and_a_summary(replayed: Path, capsys: Capture) -> None:
    assert sorted(p.name for p in replayed.iterdir()) == [
        "dead_letters.jsonl", "decisions.jsonl", "metrics.json", "signals.jsonl"]
    metrics = json.loads((replayed / "metrics.json").read_text())
    assert metrics["decisions"]["total"] > 50
    assert metrics["dead_letters"]["total"] == 6


def test_replay_json_timing_limit_and_range(inputs: dict[str, Path], tmp_path: Path,
                                           capsys: Capture) -> None:
    code = run_command(replay, ["replay", str(inputs["events"]), "--out", str(tmp_path / "o"),
                                "--from", "10", "--to", "110", "--limit", "50", "--json",
                                "--quiet", "--timing", str(tmp_path / "t.json"), "--format",
                                "avro"])
    assert code == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["events"]["read"] == 50
    assert err == ""  # --quiet
    timing = json.loads((tmp_path / "t.json").read_text())
    assert timing["events"] == 50 and timing["events_per_s"] >= 0
    assert (tmp_path / "o" / "decisions.avro").is_file()


def test_replay_with_a_candidate_catalog(inputs: dict[str, Path], replayed: Path,
                                         tmp_path: Path, capsys: Capture) -> None:
    catalog = catalog_without(tmp_path, "cta_change")
    code = run_command(replay, ["replay", str(inputs["events"]), "--outcomes",
                                str(inputs["outcomes"]), "--profiles", str(inputs["profiles"]),
                                "--logged-decisions", str(replayed / "decisions.jsonl"),
                                "--catalog", str(catalog), "--out", str(tmp_path / "o"), "-q"])
    assert code == 0
    base = json.loads((replayed / "metrics.json").read_text())
    cand = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert base["decisions"]["by_action"].get("cta_change", 0) > 0
    assert "cta_change" not in cand["decisions"]["by_action"]
    assert cand["outcomes"]["counterfactual_skipped"] > 0
    assert "counterfactual" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["--out", "o"], "give an EVENTS file or --topics"),
    (["missing.jsonl", "--out", "o"], "missing.jsonl: no such file"),
    (["EVENTS", "--out", "o", "--from", "whenever"], "'whenever' is neither an offset"),
    (["EVENTS", "--out", "o", "--signals-topic", "s"], "--signals-topic needs --to-topic"),
    (["EVENTS", "--out", "o", "--options", "OPTIONS"], "decider.bandit.alpah: unknown option"),
    (["EVENTS", "--out", "o", "--catalog", "nowhere.yaml"], "catalog_path: no such file"),
])
def test_replay_usage_errors_exit_2(argv: list[str], message: str, inputs: dict[str, Path],
                                    tmp_path: Path, capsys: Capture) -> None:
    options = tmp_path / "o.yaml"
    options.write_text("decider:\n  bandit:\n    alpah: 1\n")
    argv = [str(inputs["events"]) if a == "EVENTS" else str(options) if a == "OPTIONS"
            else str(tmp_path / a) if a in ("o", "missing.jsonl") else a for a in argv]
    assert run_command(replay, ["replay", *argv, "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rtp replay: ") and message in err


# -- evaluate ---------------------------------------------------------------------------


def test_evaluate_a_replayed_log(replayed: Path, inputs: dict[str, Path],
                                 capsys: Capture) -> None:
    argv = ["evaluate", str(replayed / "decisions.jsonl"), "--outcomes",
            str(inputs["outcomes"]), "--target", "always:no_action", "--n-boot", "100",
            "--erasures", "none"]
    assert run_command(evaluate, argv) == 0
    text = capsys.readouterr().out
    for word in ("ips", "snips", "dr", "replay", "effective sample size", "95% CI"):
        assert word in text
    assert run_command(evaluate, [*argv, "--json", "--estimators", "ips,snips"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [e["estimator"] for e in result["estimates"]] == ["ips", "snips"]
    assert result["target"] == "always:no_action" and result["n_boot"] == 100


def test_evaluate_refuses_a_log_without_propensities(tmp_path: Path, capsys: Capture) -> None:
    log = tmp_path / "d.jsonl"
    write_decision_logs(log, [decision_log("d1", propensity=0.0), decision_log("d2")])
    write_outcomes(tmp_path / "o.jsonl", [outcome("d1")])
    # --erasures none: a unit test reads no broker (the default, auto, asks one if it answers;
    # tests/unit/conftest.py fails a unit test that does)
    assert run_command(evaluate, ["evaluate", str(log), "--outcomes",
                                  str(tmp_path / "o.jsonl"), "--erasures", "none"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rtp evaluate: 1 logged decisions have no usable propensity")


@pytest.mark.parametrize(("argv", "message"), [
    (["LOG", "--target", "best"], "unknown target policy 'best'"),
    (["LOG", "--target", "always:no_such_action"],
     "target 'always:no_such_action' names an action in none of the"),
    (["nothing.jsonl"], "nothing.jsonl: no such file"),
    ([], "give a decision LOG"),
    (["LOG", "--n-boot", "0"], "--n-boot must be >= 1"),
])
def test_evaluate_usage_errors_exit_2(argv: list[str], message: str, replayed: Path,
                                      capsys: Capture) -> None:
    argv = [str(replayed / "decisions.jsonl") if a == "LOG" else a for a in argv]
    assert run_command(evaluate, ["evaluate", *argv, "--erasures", "none"]) == 2
    assert message in capsys.readouterr().err


def test_evaluate_compare_obd_prints_the_estimate_beside_the_observed_rate(
        obd_dir: Path, capsys: Capture) -> None:
    assert run_command(evaluate, ["evaluate", "--compare-obd", str(obd_dir), "--n-boot", "200",
                                  "--estimators", "ips,snips", "--erasures", "none"]) == 0
    text = capsys.readouterr().out
    assert "observed in the random log: 0.00380 (38 clicks / 10000)" in text
    assert "Wilson CI" in text and "estimated from the BTS log (10000 rows" in text
    assert "honest reading:" in text and "as wide as the estimates" in text
    rows = [line for line in text.splitlines() if line.startswith(("ips ", "snips "))]
    assert len(rows) == 2
    assert all(r.endswith("yes") or r.endswith("NO - NOT COVERED") for r in rows)


# -- import obd -------------------------------------------------------------------------


def test_import_obd_to_files(obd_dir: Path, tmp_path: Path, capsys: Capture) -> None:
    out = tmp_path / "obd"
    assert run_command(import_data, ["import", "obd", str(obd_dir), "--out", str(out),
                                     "--limit", "200", "--format", "avro"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "obd_bts_decisions.avro", "obd_bts_outcomes.avro", "obd_random_decisions.avro",
        "obd_random_outcomes.avro"]
    assert "random: 200 decisions" in capsys.readouterr().out
    # The imported log is a valid input of rtp evaluate.
    assert run_command(evaluate, ["evaluate", str(out / "obd_random_decisions.avro"),
                                  "--outcomes", str(out / "obd_random_outcomes.avro"),
                                  "--estimators", "ips,snips", "--n-boot", "50",
                                  "--erasures", "none"]) == 0
    assert "ips" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["DIR"], "give --out DIR and/or --to-topic"),
    (["nowhere", "--out", "x"], "not a folder"),
    (["DIR", "--out", "x", "--limit", "0"], "--limit must be >= 1"),
])
def test_import_usage_errors_exit_2(argv: list[str], message: str, tmp_path: Path,
                                   capsys: Capture) -> None:
    # An existing folder: each usage error is found before any data is read.
    argv = [str(tmp_path) if a == "DIR" else a for a in argv]
    assert run_command(import_data, ["import", "obd", *argv]) == 2
    assert message in capsys.readouterr().err


def test_import_of_a_broken_dataset_exits_2(tmp_path: Path, capsys: Capture) -> None:
    (tmp_path / "random").mkdir()
    (tmp_path / "random" / "item_context.csv").write_text(",item_id\n0,0\n")
    (tmp_path / "random" / "all.csv").write_text("a,b\n1,2\n")
    assert run_command(import_data, ["import", "obd", str(tmp_path), "--out",
                                     str(tmp_path / "o"), "--behaviors", "random"]) == 2
    assert "missing columns" in capsys.readouterr().err


# -- report -----------------------------------------------------------------------------


def test_report_table_and_html(replayed: Path, inputs: dict[str, Path], tmp_path: Path,
                               capsys: Capture) -> None:
    html = tmp_path / "report.html"
    assert run_command(report, ["report", str(replayed / "decisions.jsonl"),
                                str(inputs["outcomes"]), "--control-share", "0.1", "--html",
                                str(html), "--n-boot", "100", "--erasures", "none"]) == 0
    out, err = capsys.readouterr()
    assert "conversion_rate" in out and "sample ratio" in out
    assert f"HTML report: {html}" in err
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page
    assert run_command(report, ["report", str(replayed / "decisions.jsonl"),
                                str(inputs["outcomes"]), "--json", "--n-boot", "50",
                                "--erasures", "none"]) == 0
    assert json.loads(capsys.readouterr().out)["srm"]["expected_control_share"] == 0.1


def test_report_on_a_recorded_stream_counts_its_purchases_in_both_arms(
        replayed: Path, inputs: dict[str, Path], capsys: Capture) -> None:
    """The clickstream a replay read is a purchases file: its purchase events credit the
    replayed decisions of either arm, checked against a plain reading of both files."""
    decisions = [json.loads(line)["decision"]
                 for line in (replayed / "decisions.jsonl").read_text().splitlines()]
    buys = []
    for line in inputs["events"].read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # the stream's bad lines
        if isinstance(event, dict) and event.get("event_type") == "purchase":
            buys.append(event)
    arm_of: dict[str, str] = {}
    for d in sorted(decisions, key=lambda d: (d["created_at"], d["decision_id"])):
        arm_of.setdefault(d["visitor_id"], d["experiment_arm"])
    bought = {b["visitor_id"] for b in buys if any(
        d["visitor_id"] == b["visitor_id"] and d["trigger_event_id"] != b["event_id"]
        and b["event_time"] - 30 * 60_000 <= d["created_at"] <= b["event_time"]
        for d in decisions)}
    expected = {arm: sum(1 for v in bought if arm_of[v] == arm) / sum(
        1 for a in arm_of.values() if a == arm) for arm in ("control", "personalized")}
    assert run_command(report, ["report", str(replayed / "decisions.jsonl"),
                                str(inputs["outcomes"]), "--purchases", str(inputs["events"]),
                                "--control-share", "0.1", "--json", "--n-boot", "20",
                                "--erasures", "none"]) == 0
    out = json.loads(capsys.readouterr().out)
    conversion = next(m for m in out["metrics"] if m["metric"] == "conversion_rate")
    assert (conversion["control"], conversion["personalized"]) == (
        expected["control"], expected["personalized"])
    assert out["conversions"]["source"] == "purchases"
    # The recorded stream's bad lines (dead-lettered by the worker) are skipped, counted.
    assert "unreadable_purchase_records" in [w["code"] for w in out["warnings"]]
    assert out["conversions"]["attributed"] == len(
        {b["event_id"] for b in buys if b["visitor_id"] in bought}) > 0


@pytest.mark.parametrize(("argv", "message"), [
    (["LOG", "OUT", "--control-share", "1.5"], "control_share must be in (0, 1)"),
    (["EMPTY", "OUT"], "no decisions to report on"),
    ([], "give LOG and OUTCOMES files"),
    (["LOG", "OUT", "--from-topics"], "not both"),
    (["LOG", "OUT", "--attribution-window", "-1"], "--attribution-window must be >= 0"),
    (["LOG", "OUT", "--purchases", "nowhere.jsonl"], "nowhere.jsonl: no such file"),
])
def test_report_usage_errors_exit_2(argv: list[str], message: str, replayed: Path,
                                    inputs: dict[str, Path], tmp_path: Path,
                                    capsys: Capture) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    names = {"LOG": str(replayed / "decisions.jsonl"), "OUT": str(inputs["outcomes"]),
             "EMPTY": str(empty)}
    assert run_command(report, ["report", *[names.get(a, a) for a in argv],
                                "--erasures", "none"]) == 2
    assert message in capsys.readouterr().err


def test_report_cuped_covariate_flag(replayed: Path, inputs: dict[str, Path],
                                     capsys: Capture) -> None:
    """CUPED is on by default on ``past_purchases``; ``--cuped-covariate`` names another
    feature of the first decision, ``none`` turns it off."""
    args = ["report", str(replayed / "decisions.jsonl"), str(inputs["outcomes"]),
            "--control-share", "0.1", "--json", "--n-boot", "20", "--erasures", "none"]
    found = {}
    for extra in ([], ["--cuped-covariate", "no_such_feature"], ["--cuped-covariate", "none"]):
        assert run_command(report, [*args, *extra]) == 0
        found[tuple(extra)] = json.loads(capsys.readouterr().out)["cuped_conversion_lift"]
    assert found[()]["covariate"] == "past_purchases"
    missing = found[("--cuped-covariate", "no_such_feature")]
    assert not missing["applied"] and "no_such_feature is missing" in missing["reason"]
    assert found[("--cuped-covariate", "none")] is None
