"""Candidate action catalogs for what-if replays, derived from the shipped one."""

from __future__ import annotations

from pathlib import Path

import yaml

from pipeline.engine import EngineOptions


def catalog_without(folder: Path, *action_ids: str) -> Path:
    """The default catalog minus ``action_ids``, written to ``folder/candidate.yaml``."""
    data = yaml.safe_load(EngineOptions().catalog_path.read_text())
    data["actions"] = [a for a in data["actions"] if a["id"] not in action_ids]
    path = folder / "candidate.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
