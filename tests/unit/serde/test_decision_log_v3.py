"""DecisionLog v3 (config_version): records written before it read with version 0, on the
topics (single-object Avro of v2) and in analysts' files (JSON lines without the field)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pipeline.replay.logfile import read_decision_logs
from pipeline.serde import Codec, SchemaRegistry
from pipeline.settings import PROJECT_ROOT
from tests.unit.replay.replay_helpers import decision_log

SCHEMAS = PROJECT_ROOT / "schemas"


def _v2_registry(tmp_path: Path) -> SchemaRegistry:
    """The schemas as they were before v3: DecisionLog is its frozen v2."""
    directory = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, directory)
    history = directory / "history" / "DecisionLog"
    (history / "v3.avsc").unlink()
    shutil.copy(history / "v2.avsc", directory / "DecisionLog.avsc")
    return SchemaRegistry.load(directory)


def test_a_v2_record_on_a_topic_reads_with_config_version_0(tmp_path: Path) -> None:
    record = decision_log("d1")
    del record["config_version"]
    old_bytes = Codec(_v2_registry(tmp_path)).encode("DecisionLog", record)
    name, back = Codec.default().decode(old_bytes, ("DecisionLog",))
    assert (name, back) == ("DecisionLog", {**record, "config_version": 0})


def test_a_v3_record_keeps_its_config_version(tmp_path: Path) -> None:
    record = {**decision_log("d1"), "config_version": 7}
    codec = Codec.default()
    assert codec.decode(codec.encode("DecisionLog", record))[1] == record


def test_a_json_lines_log_written_before_v3_reads_with_config_version_0(tmp_path: Path) -> None:
    record = decision_log("d1")
    del record["config_version"]
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps(record) + "\n")
    assert read_decision_logs(path) == [{**record, "config_version": 0}]
