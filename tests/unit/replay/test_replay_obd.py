"""Open Bandit Dataset import and the headline check: uniform's click rate from the BTS log.

The data is the sample ``rtp data obd`` fetches into the cache (fixture ``obd_dir``,
tests/conftest.py): downloaded once on a fresh clone, checked on every run.
"""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.replay.errors import InvalidOptions, ObdFormatError
from pipeline.replay.logfile import read_decision_logs, read_outcomes
from pipeline.replay.obd import ObdComparison, compare_obd, import_obd, read_obd
from pipeline.replay.obd_sample import check_obd_sample
from tests.unit.replay.replay_helpers import assert_valid_log, assert_valid_outcome


def test_the_sample_is_the_recorded_one(obd_dir: Path) -> None:
    assert check_obd_sample(obd_dir) == {}
    assert (obd_dir / "bts" / "all.csv").is_file()
    assert (obd_dir / "random" / "item_context.csv").is_file()


@pytest.fixture(scope="module")
def comparison(obd_dir: Path) -> ObdComparison:
    return compare_obd(obd_dir, seed=0, n_boot=1000)


@pytest.fixture(scope="module")
def bts_csv(obd_dir: Path) -> list[dict[str, str]]:
    with (obd_dir / "bts" / "all.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_random_log_mapping(obd_dir: Path) -> None:
    log = read_obd(obd_dir, "random", limit=50)
    first = log.logs[0]
    d = first["decision"]
    assert d["decision_id"] == "obd:random/all.csv:0"
    assert d["policy"] == "uniform_random"
    assert d["slot"] == "grid"
    assert d["action_id"].startswith("item_")
    assert d["propensity"] == 0.0125
    assert d["payload"]["position"] in {"1", "2", "3"}
    assert d["payload"]["eligible_probabilities"] == "exact"
    assert {"item_feature_0", "item_feature_3"} <= set(d["payload"])
    assert len(first["eligible"]) == 80
    assert {e["probability"] for e in first["eligible"]} == {0.0125}
    assert len(first["numeric_features"]) == 80
    assert set(first["categorical_features"]) == {
        "user_feature_0", "user_feature_1", "user_feature_2", "user_feature_3", "position"
    }
    assert d["visitor_id"].startswith("obd-")
    for rec in log.logs:
        assert_valid_log(rec)
    for rec in log.outcomes:
        assert_valid_outcome(rec)
    assert {o["kind"] for o in log.outcomes} <= {"clicked", "ignored"}


def test_bts_eligible_list_keeps_the_chosen_propensity_exact(
        obd_dir: Path, bts_csv: list[dict[str, str]]) -> None:
    log = read_obd(obd_dir, "bts", limit=200)
    for rec, raw in zip(log.logs, bts_csv, strict=False):
        d = rec["decision"]
        assert d["propensity"] == float(raw["propensity_score"])
        probs = {e["action_id"]: e["probability"] for e in rec["eligible"]}
        assert probs[d["action_id"]] == d["propensity"]
        assert sum(probs.values()) == pytest.approx(1.0)
        assert d["payload"]["eligible_probabilities"] == "chosen_exact_others_approx"
        assert d["policy"] == "bernoulli_ts"


def test_ids_are_deterministic_and_visitors_follow_user_features(obd_dir: Path) -> None:
    a = read_obd(obd_dir, "bts", limit=300)
    b = read_obd(obd_dir, "bts", limit=300)
    assert a.logs == b.logs
    ids = [r["decision"]["decision_id"] for r in a.logs]
    assert len(set(ids)) == len(ids)
    by_features: dict[tuple[str, ...], set[str]] = {}
    for rec in a.logs:
        cats = rec["categorical_features"]
        key = tuple(cats[f"user_feature_{k}"] for k in range(4))
        by_features.setdefault(key, set()).add(rec["decision"]["visitor_id"])
    assert all(len(v) == 1 for v in by_features.values())


def test_full_logs_have_the_documented_size_and_clicks(comparison: ObdComparison) -> None:
    assert (comparison.random_n, comparison.random_clicks) == (10_000, 38)
    assert comparison.bts.n_rows == 10_000
    assert round(comparison.bts.logged.value * comparison.bts.n_rows) == 42


@pytest.mark.parametrize("fmt", ["jsonl", "avro"])
def test_import_writes_readable_files(obd_dir: Path, tmp_path: Path, fmt: str) -> None:
    res = import_obd(obd_dir, tmp_path, fmt=fmt, limit=120)  # type: ignore[arg-type]
    assert [x.behavior for x in res.logs] == ["random", "bts"]
    for item in res.logs:
        assert item.log_path.name == f"obd_{item.behavior}_decisions.{fmt}"
        logs = read_decision_logs(item.log_path)
        outs = read_outcomes(item.outcomes_path)
        assert len(logs) == item.decisions == 120
        assert len(outs) == item.outcomes == 120
        assert sum(o["kind"] == "clicked" for o in outs) == item.clicks
    assert "random: 120 decisions" in res.to_text()


def test_bad_inputs_name_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "bts"
    folder.mkdir()
    (folder / "item_context.csv").write_text(",item_id\n0,0\n1,1\n")
    header = (",timestamp,item_id,position,click,propensity_score,user_feature_0,"
              "user_feature_1,user_feature_2,user_feature_3\n")
    (folder / "all.csv").write_text(header + "0,2019-11-24 00:00:00+00:00,1,1,2,0.5,a,b,c,d\n")
    with pytest.raises(ObdFormatError, match=r"all\.csv:2: click must be 0 or 1"):
        read_obd(tmp_path, "bts")
    (folder / "all.csv").write_text(header + "0,2019-11-24 00:00:00+00:00,7,1,0,0.5,a,b,c,d\n")
    with pytest.raises(ObdFormatError, match="not in item_context"):
        read_obd(tmp_path, "bts")
    (folder / "all.csv").write_text(header + "0,2019-11-24 00:00:00+00:00,1,1,0,0.0,a,b,c,d\n")
    with pytest.raises(ObdFormatError, match="propensity_score"):
        read_obd(tmp_path, "bts")
    (folder / "all.csv").write_text(",timestamp,item_id\n0,x,1\n")
    with pytest.raises(ObdFormatError, match="missing columns"):
        read_obd(tmp_path, "bts")
    with pytest.raises(ObdFormatError, match="not found"):
        read_obd(tmp_path, "random")
    with pytest.raises(InvalidOptions):
        read_obd(tmp_path, "greedy")  # type: ignore[arg-type]


def test_ips_from_bts_equals_the_formula_on_the_raw_csv(
    comparison: ObdComparison, bts_csv: list[dict[str, str]]
) -> None:
    weights = [(1 / 80) / float(r["propensity_score"]) for r in bts_csv]
    clicks = [int(r["click"]) for r in bts_csv]
    ips = sum(w * c for w, c in zip(weights, clicks, strict=True)) / len(bts_csv)
    snips = sum(w * c for w, c in zip(weights, clicks, strict=True)) / sum(weights)
    assert comparison.bts.estimate("ips").value == pytest.approx(ips)
    assert comparison.bts.estimate("snips").value == pytest.approx(snips)
    assert comparison.bts.diagnostics.ess == pytest.approx(
        sum(weights) ** 2 / sum(w * w for w in weights)
    )


def test_headline_observed_random_click_rate_lies_in_the_bts_estimate(
    comparison: ObdComparison,
) -> None:
    # Observed: 38 clicks in 10,000 random impressions = 0.0038.
    assert comparison.random_rate == pytest.approx(0.0038)
    assert comparison.random_interval.contains(0.0038)
    ips, snips = comparison.bts.estimate("ips"), comparison.bts.estimate("snips")
    assert ips.covers(comparison.random_rate) or snips.covers(comparison.random_rate)
    assert comparison.covered["ips"] and comparison.covered["snips"]
    # Honest about the width: rare clicks and uneven weights make the interval
    # about as wide as the estimate itself.
    assert ips.width > 0.5 * ips.value
    assert {"tiny_propensity", "exploding_weights"} <= set(comparison.bts.warning_codes)


def test_comparison_renders(comparison: ObdComparison) -> None:
    text = comparison.to_text()
    assert "observed in the random log: 0.00380 (38 clicks / 10000)" in text
    assert "honest reading" in text
    data = json.loads(json.dumps(comparison.to_dict()))
    assert data["random_observed"]["clicks"] == 38
    assert set(data["covered"]) == {"ips", "snips", "dr"}


_obd_rows = st.lists(
    st.tuples(
        st.integers(0, 4),  # item
        st.integers(1, 3),  # position
        st.booleans(),  # click
        st.floats(min_value=1e-6, max_value=1.0),  # propensity
        st.lists(st.sampled_from(["a1", "b2", "c3"]), min_size=4, max_size=4),
        st.integers(0, 86_399),  # second of the day
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=25, deadline=None)
@given(rows=_obd_rows)
def test_property_any_valid_obd_csv_maps_to_valid_records(rows: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bts"
        folder.mkdir()
        items = "\n".join(f"{i},{i},{i / 10}" for i in range(5))
        (folder / "item_context.csv").write_text(f",item_id,item_feature_0\n{items}\n")
        head = (",timestamp,item_id,position,click,propensity_score,user_feature_0,"
                "user_feature_1,user_feature_2,user_feature_3,user-item_affinity_0\n")
        lines = [
            f"{n},2019-11-24 {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00:00,{item},"
            f"{pos},{int(click)},{p!r},{','.join(feats)},0.5"
            for n, (item, pos, click, p, feats, s) in enumerate(rows)
        ]
        (folder / "all.csv").write_text(head + "\n".join(lines) + "\n")
        log = read_obd(Path(tmp), "bts")
    assert len(log.logs) == len(rows) == len(log.outcomes)
    for rec, out, (item, pos, click, p, feats, s) in zip(log.logs, log.outcomes, rows,
                                                          strict=True):
        assert_valid_log(rec)
        assert_valid_outcome(out)
        d = rec["decision"]
        assert d["action_id"] == f"item_{item}"
        assert d["propensity"] == p
        assert d["payload"]["position"] == str(pos)
        assert d["created_at"] == 1_574_553_600_000 + s * 1000
        assert out["kind"] == ("clicked" if click else "ignored")
        assert [rec["categorical_features"][f"user_feature_{k}"] for k in range(4)] == feats
        assert rec["numeric_features"] == {"user_item_affinity_0": 0.5}
        probs = {e["action_id"]: e["probability"] for e in rec["eligible"]}
        assert len(probs) == 5 and probs[d["action_id"]] == p
