"""``rtp report`` and ``rtp evaluate`` on files honour erasure marks (``--erasures FILE``).

The files hold two visitors; Ann was erased. With her mark, each command's result equals
its result on files that never held her (nothing of hers counted, nothing of Bob's lost),
and differs from the result with ``--erasures none``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.commands import evaluate, report
from pipeline.profiles.erasures import erasure_mark
from pipeline.profiles.pseudonym import Pseudonyms
from pipeline.replay import write_decision_logs, write_outcomes
from pipeline.replay.logfile import write_records
from pipeline.settings import Settings
from tests.unit.replay.cli_helpers import run_command
from tests.unit.replay.replay_helpers import decision_log, outcome

KEY = "report-erasure-test-key-0"
SETTINGS = Settings(kafka_port=1, pseudonym_keys=KEY)
Capture = pytest.CaptureFixture[str]


def _purchase(visitor: str, i: int) -> dict[str, Any]:
    return {"event_id": f"p-{visitor}-{i}", "event_type": "purchase", "visitor_id": visitor,
            "event_time": 1_700_000_000_500 + i,
            "page": {"url": "https://shop.example/checkout", "page_type": "checkout"},
            "context": {"traffic_source": "direct", "device": "desktop",
                        "sector": "ecommerce"},
            "purchase": {"order_id": f"o-{visitor}-{i}", "value": 40.0 + i,
                         "currency": "EUR", "kind": "purchase"}}


def _files(folder: Path, visitors: list[str]) -> dict[str, Path]:
    logs, outs, buys = [], [], []
    for v in visitors:
        for i in range(6):
            arm = "control" if i % 3 == 0 else "personalized"
            d = f"d-{v}-{i}"
            logs.append(decision_log(d, visitor_id=v, arm=arm, served=arm != "control",
                                     created_at=1_700_000_000_000 + i))
            if i % 2 == 0 or v == "v-ann":
                outs.append(outcome(d, kind="clicked", visitor_id=v))
        buys.append(_purchase(v, 0))
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"log": folder / "decisions.jsonl", "outcomes": folder / "outcomes.jsonl",
             "purchases": folder / "purchases.jsonl"}
    write_decision_logs(paths["log"], logs)
    write_outcomes(paths["outcomes"], outs)
    write_records(paths["purchases"], "ClickEvent", buys)
    return paths


def _report(paths: dict[str, Path], erasures: str, capsys: Capture) -> dict[str, Any]:
    code = run_command(report, ["report", str(paths["log"]), str(paths["outcomes"]),
                                "--purchases", str(paths["purchases"]), "--json",
                                "--n-boot", "20", "--erasures", erasures], SETTINGS)
    assert code == 0, capsys.readouterr().err
    out = json.loads(capsys.readouterr().out)
    assert out.pop("sources") == [str(paths[k]) for k in ("log", "outcomes", "purchases")]
    return out  # type: ignore[no-any-return]


def _evaluate(paths: dict[str, Path], erasures: str, capsys: Capture) -> dict[str, Any]:
    code = run_command(evaluate, ["evaluate", str(paths["log"]), "--outcomes",
                                  str(paths["outcomes"]), "--json", "--n-boot", "20",
                                  "--estimators", "ips,snips", "--erasures", erasures], SETTINGS)
    assert code == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_report_and_evaluate_on_files_leave_the_marked_visitor_out(
        tmp_path: Path, capsys: Capture) -> None:
    both = _files(tmp_path / "both", ["v-ann", "v-bob"])
    bob = _files(tmp_path / "bob", ["v-bob"])
    marks = tmp_path / "marks.txt"  # as rtp erase prints them
    marks.write_text(f"removed 1 id\n  {erasure_mark('v-ann', Pseudonyms((KEY,)))}\n")
    capsys.readouterr()

    honoured = _report(both, str(marks), capsys)
    assert honoured == _report(bob, "none", capsys)
    assert honoured != _report(both, "none", capsys)
    run_command(report, ["report", str(both["log"]), str(both["outcomes"]), "--purchases",
                         str(both["purchases"]), "--n-boot", "20", "--erasures", str(marks)],
                SETTINGS)
    # 6 decisions, 6 outcomes and 1 purchase of hers
    assert "13 records of erased people left out (1 marks from" in capsys.readouterr().err

    evaluated = _evaluate(both, str(marks), capsys)
    assert evaluated == _evaluate(bob, "none", capsys)
    assert evaluated != _evaluate(both, "none", capsys)


def test_marks_of_another_key_or_visitor_leave_everything_in(
        tmp_path: Path, capsys: Capture) -> None:
    both = _files(tmp_path / "both", ["v-ann", "v-bob"])
    marks = tmp_path / "marks.txt"
    marks.write_text(erasure_mark("v-ann", Pseudonyms(("another-key-0123456789",))) + "\n"
                     + erasure_mark("v-cleo", Pseudonyms((KEY,))) + "\n")
    capsys.readouterr()
    assert _report(both, str(marks), capsys) == _report(both, "none", capsys)


def test_erasures_topic_without_a_broker_is_an_error_and_auto_says_so(
        tmp_path: Path, capsys: Capture) -> None:
    both = _files(tmp_path / "both", ["v-ann"])
    argv = ["report", str(both["log"]), str(both["outcomes"]), "--n-boot", "20"]
    assert run_command(report, [*argv, "--erasures", "topic"], SETTINGS) == 2
    assert "--erasures topic: no broker answers at" in capsys.readouterr().err
    assert run_command(report, argv, SETTINGS) == 0
    assert "erasure marks not read: no broker answers" in capsys.readouterr().err
    assert run_command(report, [*argv, "--erasures", str(tmp_path / "missing")], SETTINGS) == 2
    assert "cannot read erasure marks" in capsys.readouterr().err
