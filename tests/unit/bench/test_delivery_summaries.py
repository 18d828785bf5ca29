"""bench/delivery.py's summary math against hand-computed values, and its recorded table."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import pytest

import bench.delivery
import bench.record
from bench.delivery import held_summary, load_summary


def test_load_percentiles_are_nearest_rank() -> None:
    # 200 latencies 1..200 ms: p50 is the 100th (100 ms), p99 the 198th (198 ms); the old
    # int(n * q) index read the 199th, one rank too high
    row = load_summary([i / 1000 for i in range(200, 0, -1)], 3, [0.0] * 199 + [0.5], 4.0)
    assert row["requests"] == 203 and row["errors"] == 3
    assert row["achieved_rps"] == 50.0  # 200 answered in 4 s
    assert row["p50_ms"] == pytest.approx(100.0)
    assert row["p99_ms"] == pytest.approx(198.0)
    assert row["max_ms"] == pytest.approx(200.0)
    assert row["behind_p99_ms"] == 0.0  # one late send in 200 is above the 99th rank


def test_held_columns_count_what_came_past_the_wait() -> None:
    past = [-80.0, -10.0, 0.5, 4.9, 5.0, 5.1, 12.0, 3.0, 2.0, 1.0]
    row = held_summary(2000, 1000, past, [2.0, 1.0, 9.0], {"timeout": 7, "arrived": 3}, 1)
    assert row["held_requests"] == 10
    assert row["held_over_budget_plus_5ms"] == 2  # 5.1 and 12.0 (5.0 is within)
    # sorted: -80 -10 0.5 1 2 3 4.9 5 5.1 12 -> p50 rank 5 = 2.0, p99 rank 10 = 12.0
    assert row["held_past_budget_p50_ms"] == 2.0
    assert row["held_past_budget_p99_ms"] == 12.0
    assert row["held_past_budget_max_ms"] == 12.0
    assert row["answer_after_arrival_p50_ms"] == 2.0
    assert row["answer_after_arrival_p99_ms"] == 9.0
    assert row["wait_endings"] == {"arrived": 3, "timeout": 7}
    assert row["held_errors"] == 1 and row["held"] == 2000 and row["wait_ms"] == 1000


def test_the_markdown_table_keeps_columns_only_later_rows_have(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # run_held's first row is the trivial handler's, without the held columns: they were
    # dropped from delivery_held.md when the table took its columns from the first row
    monkeypatch.setattr(bench.record, "RESULTS", tmp_path)
    rows = [{"target": "trivial handler", "p99_ms": 1.0},
            {"target": "/v1/decisions, 2 held", "p99_ms": 2.0, "held_over_budget_plus_5ms": 0}]
    bench.record.write("t", rows)
    table = [line for line in (tmp_path / "t.md").read_text().splitlines()
             if line.startswith("|")]
    assert table[0] == "| target | p99_ms | held_over_budget_plus_5ms |"
    assert table[2] == "| trivial handler | 1 |  |"
    assert table[3] == "| /v1/decisions, 2 held | 2 | 0 |"
    assert json.loads((tmp_path / "t.json").read_text())["rows"] == rows


@pytest.mark.parametrize("module", [bench.delivery, bench.record])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.attempted > 0
    assert result.failed == 0


def test_held_columns_count_only_what_was_asked_while_the_load_ran() -> None:
    from bench.delivery import held_in_window

    # [asked (monotonic s), ms past the wait, ending, ms after the arrival]
    records = [[9.9, 400.0, "timeout", None],   # asked before the load: not counted
               [10.0, 1.0, "timeout", None],    # at the window's edges: counted
               [11.0, -500.0, "arrived", 2.5],
               [11.5, 30.0, "seen", None],
               [12.0, 6.0, "timeout", None],
               [12.1, 900.0, "timeout", None]]  # asked after the load: not counted
    over, after, endings = held_in_window(records, 10.0, 12.0)
    assert over == [1.0, -500.0, 30.0, 6.0]
    assert after == [2.5]
    assert endings == {"timeout": 2, "arrived": 1, "seen": 1}
    row = held_summary(2000, 1000, over, after, endings, 0)
    assert row["held_requests"] == 4 and row["held_over_budget_plus_5ms"] == 2
