"""Pure helpers of bench/scaling.py: the split of partitions, ratios against one worker, CPU."""

from __future__ import annotations

import doctest
import math

from hypothesis import given
from hypothesis import strategies as st

import bench.scaling
from bench.scaling import (
    Measured,
    best_per_count,
    cpu_busy_share,
    members_split,
    process_cpu_s,
    run_order,
    scaling_rows,
    split_text,
    starved,
)


def test_doctests() -> None:
    result = doctest.testmod(bench.scaling, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


@given(st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=6))
def test_a_split_is_complete_only_with_every_member_owning_partitions(sizes: list[int]) -> None:
    assignment: dict[str, set[int]] = {}
    first = 0
    for member, size in enumerate(sizes):
        assignment[f"m{member}"] = set(range(first, first + size))
        first += size
    split = members_split(assignment, len(sizes))
    if all(sizes):
        assert split == tuple(sorted(sizes, reverse=True))
        assert split_text(split) == "+".join(str(n) for n in sorted(sizes, reverse=True))
    else:
        assert split is None
    assert members_split(assignment, len(sizes) + 1) is None  # one member has not joined
    assert starved(assignment, len(sizes)) == (not all(sizes))
    assert not starved(assignment, len(sizes) + 1)


def test_ratios_are_against_the_one_worker_row_whatever_the_order() -> None:
    rows = scaling_rows([Measured(3, 6000, (2, 1, 1), 2.0, 3.0, 0.2, cpu_s=0.6, busy=0.9),
                         Measured(1, 6000, (4,), 4.0, 6.0, 0.2, cpu_s=0.3, busy=0.5)])
    three, one = rows
    assert (one["workers"], one["ratio_vs_1"], one["efficiency"]) == (1, 1.0, 1.0)
    assert three["events_per_s"] == 3000.0
    assert three["ratio_vs_1"] == 2.0
    assert math.isclose(three["efficiency"], 2.0 / 3)
    assert three["caught_up_ratio_vs_1"] == 2.0
    assert three["partitions_owned"] == "2+1+1"
    assert math.isclose(three["worker_cpu_us_per_event"], 100.0)
    assert three["machine_busy_share"] == 0.9


def test_without_one_worker_or_a_span_the_ratios_are_nan() -> None:
    (row,) = scaling_rows([Measured(2, 6000, (2, 2), 2.0, 3.0, 0.2)])
    assert math.isnan(row["ratio_vs_1"]) and math.isnan(row["caught_up_ratio_vs_1"])
    (row,) = scaling_rows([Measured(1, 6000, (4,), float("nan"), 0.0, 0.2)])
    assert math.isnan(row["events_per_s"]) and math.isnan(row["caught_up_events_per_s"])


def test_process_cpu_reads_utime_and_stime_after_the_command_name() -> None:
    line = "7 (a) b) c) R 1 7 7 0 -1 4194560 10 0 0 0 123 77 5 5 20 0 1 0"
    assert process_cpu_s(line, 100) == 2.0
    assert process_cpu_s(line, 200) == 1.0


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=8, max_size=10),
       st.lists(st.integers(min_value=0, max_value=10**6), min_size=8, max_size=8))
def test_busy_share_is_a_share_of_the_elapsed_ticks(start: list[int], spent: list[int]) -> None:
    end = [a + b for a, b in zip(start, spent, strict=False)] + start[len(spent):]
    share = cpu_busy_share("cpu  " + " ".join(map(str, start)),
                           "cpu  " + " ".join(map(str, end)))
    elapsed = sum(spent)
    if elapsed == 0:
        assert math.isnan(share)
    else:
        assert 0.0 <= share <= 1.0
        assert math.isclose(share, (elapsed - spent[3] - spent[4]) / elapsed)


@given(st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=5, unique=True),
       st.integers(min_value=1, max_value=5))
def test_every_count_runs_once_a_round_and_rounds_alternate(counts: list[int],
                                                            rounds: int) -> None:
    order = run_order(counts, rounds)
    assert len(order) == len(counts) * rounds
    for r in range(rounds):
        chunk = order[r * len(counts):(r + 1) * len(counts)]
        assert chunk == (counts if r % 2 == 0 else counts[::-1])


@given(st.lists(st.tuples(st.integers(min_value=1, max_value=3),
                          st.floats(min_value=0.1, max_value=100) | st.just(float("nan"))),
                min_size=1, max_size=12))
def test_the_best_run_of_each_count_has_the_shortest_span(runs: list[tuple[int, float]]) -> None:
    measured = [Measured(n, 100, (1,), span, 1.0, 0.1) for n, span in runs]
    best = best_per_count(measured)
    assert [m.workers for m in best] == sorted({n for n, _ in runs})
    for m in best:
        spans = [span for n, span in runs if n == m.workers and not math.isnan(span)]
        if spans:
            assert m.span_s == min(spans)
        else:
            assert math.isnan(m.span_s)
