"""bench/pipeline_quality: the recorded rows, recomputed independently from the run's raw data.

The bench writes, beside its record, what each row was computed from: the simulator's
scored decisions, the decision log and the outcomes it read back from Kafka. Here the
printed numbers are recomputed with plain sums (not the bench's ledger code): the share
of the oracle after the warm-up from the scored decisions; the realized reward from the
outcomes topic (not the simulator's own account of the reactions); the decision log's
counts and model versions. The scored decisions and the decision log must agree, and the
outcomes on the topic and the simulator's reactions must agree in both directions."""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter, defaultdict
from typing import Any

import pytest

from bench.pipeline_quality import RunData, quality_row, raw_path, with_ratios
from bench.record import RESULTS
from pipeline.sim import DecisionRecord, RewardWeights


def _unzip(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The raw data's one-list-per-field layout back to one dict per row."""
    keys = list(columns)
    assert len({len(columns[k]) for k in keys}) <= 1  # every field has a value per row
    return [dict(zip(keys, values, strict=True))
            for values in zip(*(columns[k] for k in keys), strict=True)]


def _recorded() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with gzip.open(raw_path(), "rt") as raw:
        data = json.load(raw)
    for run in data["runs"]:
        for part in ("records", "logs", "outcomes"):
            run[part] = _unzip(run[part])
    rows = json.loads((RESULTS / "pipeline_quality.json").read_text())["rows"]
    return data, rows


def _pipeline_rows(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {int(r["workers"]): r for r in rows if r.get("mode", "pipeline") == "pipeline"}


def test_recorded_rows_equal_an_independent_recomputation() -> None:
    data, rows = _recorded()
    weights = data["weights"]
    reward_of = {"clicked": weights["clicked"], "dismissed": weights["dismissed"],
                 "converted": weights["converted"]}
    by_workers = _pipeline_rows(rows)
    assert sorted(by_workers) == sorted(run["workers"] for run in data["runs"]) == [1, 3]
    shares: dict[int, float] = {}
    for run in data["runs"]:
        row = by_workers[run["workers"]]
        scored = [r for r in run["records"] if r["at_ms"] >= run["warmup_ms"]]
        assert scored  # the check is about something
        oracle = sum(r["oracle"] for r in scored)
        shares[run["workers"]] = sum(r["expected"] for r in scored) / oracle
        assert row["share_of_oracle_after_warmup"] == pytest.approx(shares[run["workers"]])
        assert row["scored_after_warmup"] == len(scored)
        assert row["scored_whole_run"] == len(run["records"])
        assert row["oracle_match_after_warmup"] == pytest.approx(
            sum(1 for r in scored if r["matched"]) / len(scored))
        # Realized: from the outcomes topic, per scored decision.
        scored_ids = {r["decision_id"] for r in scored}
        realized = sum(reward_of.get(o["kind"], 0.0) for o in run["outcomes"]
                       if o["decision_id"] in scored_ids)
        assert row["realized_share_after_warmup"] == pytest.approx(realized / oracle)
        # The decision log's counts.
        logs = run["logs"]
        ids = Counter(e["decision_id"] for e in logs)
        assert row["decisions_logged"] == len(logs)
        assert row["served"] == sum(1 for e in logs if e["served"])
        assert row["duplicate_log_ids"] == sum(n - 1 for n in ids.values() if n > 1)
        versions = {e["model_version"] for e in logs}
        assert row["model_versions"] == len(versions)
        assert row["model_version_range"] == f"{min(versions)}..{max(versions)}"
        assert row["decisions_without_model"] == sum(1 for e in logs if e["model_version"] == 0)


def test_scored_decisions_agree_with_the_decision_log_and_the_outcomes() -> None:
    data, _ = _recorded()
    for run in data["runs"]:
        log = {e["decision_id"]: e for e in run["logs"]}
        records = {r["decision_id"]: r for r in run["records"]}
        assert len(records) == len(run["records"])  # each decision scored once
        for decision_id, record in records.items():
            entry = log.get(decision_id)
            assert entry is not None, f"scored decision {decision_id} is not on the log"
            assert (entry["action_id"], entry["arm"], entry["served"], entry["visitor_id"]) == (
                record["action_id"], "personalized", True, record["visitor_id"])
        # Reactions: the simulator's per decision == the outcomes on the topic, both ways.
        on_topic: dict[str, set[str]] = defaultdict(set)
        for outcome in run["outcomes"]:
            on_topic[outcome["decision_id"]].add(outcome["kind"])
        for decision_id, record in records.items():
            kinds = on_topic.get(decision_id, set())
            reaction = {"clicked", "dismissed", "ignored"} & kinds
            assert reaction == ({record["reaction"]} if record["reaction"] else set())
            assert ("converted" in kinds) == record["converted"]
        foreign = {d for d, kinds in on_topic.items()
                   if d not in records and kinds & {"clicked", "dismissed", "converted"}}
        assert not foreign, f"rewarding outcomes of decisions never scored: {sorted(foreign)[:5]}"


def test_ratio_row_is_three_workers_over_one() -> None:
    _, rows = _recorded()
    by_workers = _pipeline_rows(rows)
    one = by_workers[1]["share_of_oracle_after_warmup"]
    three = by_workers[3]["share_of_oracle_after_warmup"]
    assert by_workers[3]["share_vs_1_worker"] == pytest.approx(three / one, abs=1e-6)
    assert by_workers[1]["share_vs_1_worker"] == 1.0


def test_quality_row_counts_only_decisions_after_the_warmup() -> None:
    w = RewardWeights(dismissed=-0.5)
    recs = (DecisionRecord("a", "v", "x", 49, 0.0, 1.0, False, "dismissed"),
            DecisionRecord("b", "v", "y", 50, 0.5, 1.0, False, "clicked"),
            DecisionRecord("c", "w", "z", 51, 1.0, 1.0, True, None, True, 3.0))
    row = quality_row(RunData(3, recs, (), (), 0, 50), w)
    assert row["share_of_oracle_after_warmup"] == 0.75
    assert row["realized_share_after_warmup"] == 1.0  # click 1 + conversion 1 over 2
    assert row["scored_after_warmup"] == 2 and row["model_version_range"] == "-"
    assert math.isnan(with_ratios([row])[0]["share_vs_1_worker"])  # no N = 1 row
