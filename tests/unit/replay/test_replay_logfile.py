"""Log files: JSON lines and Avro containers round-trip, bad rows name file and line."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import avro.datafile
import avro.io
import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.replay.errors import LogFormatError, UnsupportedLogFormat
from pipeline.replay.logfile import (
    detect_format,
    iter_records,
    read_decision_logs,
    read_outcomes,
    write_decision_logs,
    write_outcomes,
)
from tests.unit.replay.replay_helpers import (
    assert_valid_log,
    assert_valid_outcome,
    decision_log,
    outcome,
)


@pytest.mark.parametrize("suffix", [".jsonl", ".avro"])
def test_decision_logs_round_trip_in_both_formats(tmp_path: Path, suffix: str) -> None:
    logs = [decision_log("d1"), decision_log("d2", action_id="none", propensity=0.5)]
    path = tmp_path / f"decisions{suffix}"
    assert write_decision_logs(path, logs) == 2
    back = read_decision_logs(path)
    assert back == logs
    for rec in back:
        assert_valid_log(rec)


@pytest.mark.parametrize("suffix", [".jsonl", ".avro"])
def test_outcomes_round_trip_in_both_formats(tmp_path: Path, suffix: str) -> None:
    outs = [outcome("d1"), outcome("d1", "converted", 12.5)]
    path = tmp_path / f"outcomes{suffix}"
    assert write_outcomes(path, outs) == 2
    assert read_outcomes(path) == outs


def test_avro_file_is_self_contained_and_readable_by_the_avro_package(tmp_path: Path) -> None:
    path = tmp_path / "d.avro"
    write_decision_logs(path, [decision_log("d1")])
    with path.open("rb") as fh:
        reader = fastavro.reader(fh)  # no named_schemas passed: the header holds everything
        schema: Any = reader.writer_schema
        records: list[Any] = list(reader)
    assert schema["name"] == "rtp.DecisionLog"
    assert [r["decision"]["decision_id"] for r in records] == ["d1"]
    with path.open("rb") as fh, avro.datafile.DataFileReader(fh, avro.io.DatumReader()) as rd:
        plain: list[Any] = list(rd)
    assert [r["decision"]["action_id"] for r in plain] == ["banner"]


def test_jsonl_fills_defaults_and_coerces_doubles(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    path.write_text(
        json.dumps({"outcome_id": "o", "decision_id": "d", "visitor_id": "v", "kind": "shown",
                    "event_time": 5, "unknown_key": 1}) + "\n"
    )
    (rec,) = read_outcomes(path)
    assert rec == {"outcome_id": "o", "decision_id": "d", "visitor_id": "v", "kind": "shown",
                   "value": 0.0, "event_time": 5, "reported_by": "server"}
    assert isinstance(rec["value"], float)


def test_bad_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    path.write_text(json.dumps(outcome("d1")) + "\n\n" + "{not json\n")
    with pytest.raises(LogFormatError) as info:
        read_outcomes(path)
    assert info.value.line == 3
    assert info.value.path == str(path)
    assert f"{path}:3: not valid JSON" in str(info.value)


def test_schema_violation_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    bad = outcome("d1", kind="purchased")
    path.write_text(json.dumps(outcome("d0")) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(LogFormatError, match=r"o\.jsonl:2: does not match rtp\.Outcome.*kind"):
        read_outcomes(path)


def test_non_object_line_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text("[1, 2]\n")
    with pytest.raises(LogFormatError, match=r"d\.jsonl:1: expected a JSON object, got list"):
        read_decision_logs(path)


def test_wrong_record_kind_in_avro_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "x.avro"
    write_outcomes(path, [outcome()])
    expected = r"holds rtp\.Outcome records, expected rtp\.DecisionLog"
    with pytest.raises(LogFormatError, match=expected):
        read_decision_logs(path)


def test_garbage_avro_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "x.avro"
    path.write_bytes(b"definitely not avro")
    with pytest.raises(LogFormatError, match="not an Avro container file") as info:
        read_outcomes(path)
    assert info.value.line is None


def test_truncated_avro_file_names_the_record(tmp_path: Path) -> None:
    path = tmp_path / "o.avro"
    write_outcomes(path, [outcome(f"d{i}") for i in range(50)])
    data = path.read_bytes()
    path.write_bytes(data[:-7])
    with pytest.raises(LogFormatError, match=r"o\.avro:\d+: unreadable Avro record"):
        read_outcomes(path)


def test_unsupported_extension_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedLogFormat):
        read_outcomes(tmp_path / "o.csv")
    with pytest.raises(LogFormatError, match="no such file"):
        read_outcomes(tmp_path / "missing.jsonl")
    assert detect_format(Path("A.AVRO")) == "avro"


@pytest.mark.parametrize("suffix", [".jsonl", ".avro"])
def test_failed_write_leaves_existing_file_untouched(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"o{suffix}"
    write_outcomes(path, [outcome("keep")])
    with pytest.raises(LogFormatError) as info:
        write_outcomes(path, [outcome("a"), outcome("b"), {"outcome_id": "broken"}])
    assert info.value.line == 3
    assert [r["decision_id"] for r in read_outcomes(path)] == ["keep"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_nan_feature_cannot_be_written_as_json_but_can_as_avro(tmp_path: Path) -> None:
    rec = decision_log()
    rec["numeric_features"] = {"x": float("nan")}
    with pytest.raises(LogFormatError, match="cannot be written as JSON"):
        write_decision_logs(tmp_path / "d.jsonl", [rec])
    write_decision_logs(tmp_path / "d.avro", [rec])
    (back,) = read_decision_logs(tmp_path / "d.avro")
    assert back["numeric_features"]["x"] != back["numeric_features"]["x"]  # NaN survives


def test_iter_records_streams(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    write_outcomes(path, [outcome(f"d{i}") for i in range(3)])
    stream = iter_records(path, "Outcome")
    assert next(stream)["decision_id"] == "d0"


_FIXTURE_OK = [HealthCheck.function_scoped_fixture]
_text = st.text(min_size=1, max_size=12)
_outcomes = st.builds(
    lambda oid, did, vid, kind, value, t, by: {
        "outcome_id": oid, "decision_id": did, "visitor_id": vid, "kind": kind,
        "value": value, "event_time": t, "reported_by": by,
    },
    _text, _text, _text,
    st.sampled_from(["shown", "clicked", "dismissed", "converted", "ignored"]),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from(["server", "browser"]),
)


@settings(max_examples=30, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(records=st.lists(_outcomes, max_size=5), suffix=st.sampled_from([".jsonl", ".avro"]))
def test_property_outcomes_round_trip(tmp_path: Path, records: list[dict], suffix: str) -> None:
    path = tmp_path / f"prop{suffix}"
    write_outcomes(path, records)
    back = read_outcomes(path)
    assert back == records
    for rec in back:
        assert_valid_outcome(rec)


_maps = st.dictionaries(_text, st.floats(allow_nan=False, allow_infinity=False), max_size=3)


@settings(max_examples=25, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(
    features=_maps,
    cats=st.dictionaries(_text, _text, max_size=3),
    propensity=st.floats(min_value=1e-9, max_value=1.0),
    served=st.booleans(),
)
def test_property_decision_logs_round_trip_through_avro_bytes(
    features: dict[str, float], cats: dict[str, str], propensity: float, served: bool
) -> None:
    rec = decision_log(propensity=propensity, served=served)
    rec["numeric_features"] = features
    rec["categorical_features"] = cats
    buffer = io.BytesIO()
    from pipeline.replay.logfile import log_schema

    fastavro.writer(buffer, log_schema("DecisionLog"), [rec])
    buffer.seek(0)
    assert list(fastavro.reader(buffer)) == [rec]
