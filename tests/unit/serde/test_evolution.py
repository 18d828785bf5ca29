"""Schema evolution: new readers read old data; unfrozen or breaking changes are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pipeline.serde import Codec, SchemaRegistry
from pipeline.serde.evolution import check_evolution, freeze_versions
from pipeline.settings import PROJECT_ROOT

SCHEMAS = PROJECT_ROOT / "schemas"


def test_the_repository_schemas_are_frozen_and_compatible() -> None:
    assert check_evolution(SchemaRegistry.load(SCHEMAS)) == []


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, target)
    return target


def _edit_outcome(directory: Path, field: dict) -> None:
    path = directory / "Outcome.avsc"
    schema = json.loads(path.read_text())
    schema["fields"].append(field)
    path.write_text(json.dumps(schema))


def test_data_written_with_an_old_version_is_read_with_the_new_reader(tmp_path: Path) -> None:
    old_codec = Codec(SchemaRegistry.load(SCHEMAS))
    record = {"outcome_id": "o", "decision_id": "d", "visitor_id": "v", "kind": "clicked",
              "value": 2.5, "event_time": 1_800_000_000_000}
    old_bytes = old_codec.encode("Outcome", record)

    directory = _copy(tmp_path)
    _edit_outcome(directory, {"name": "channel", "type": "string", "default": "web"})
    assert [p.schema for p in check_evolution(SchemaRegistry.load(directory))] == ["Outcome"]
    written = freeze_versions(SchemaRegistry.load(directory), directory)
    frozen = len(list((SCHEMAS / "history" / "Outcome").glob("v*.avsc")))
    assert [p.name for p in written] == [f"v{frozen + 1}.avsc"]
    new_registry = SchemaRegistry.load(directory)
    assert check_evolution(new_registry) == []

    name, back = Codec(new_registry).decode(old_bytes, ("Outcome",))
    assert name == "Outcome"
    assert back == {**old_codec.decode(old_bytes)[1], "channel": "web"}
    assert back["value"] == 2.5 and back["kind"] == "clicked"


def test_a_field_without_default_is_reported_as_breaking(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    _edit_outcome(directory, {"name": "channel", "type": "string"})
    problems = check_evolution(SchemaRegistry.load(directory))
    assert any("cannot read data written with v1" in p.message for p in problems)
