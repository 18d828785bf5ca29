"""Schema evolution: freeze published versions and prove new readers read old data.

The rule: every version of a schema ever published stays under
``schemas/history/<Name>/v<N>.avsc``, and the current schema must read data
written with each of them (backward compatibility). ``rtp schemas freeze``
records the current schema as a new version after a change;
``rtp schemas check`` (and the test suite) refuses an unfrozen or incompatible change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from pipeline.serde.registry import RegisteredSchema, SchemaRegistry

__all__ = ["EvolutionProblem", "check_evolution", "freeze_versions"]


@dataclass(frozen=True)
class EvolutionProblem:
    """Why the schemas directory breaks the evolution rule."""

    schema: str
    message: str

    def __str__(self) -> str:
        return f"{self.schema}: {self.message}"


def _avro(reg: RegisteredSchema) -> avro.schema.Schema:
    return avro.schema.parse(json.dumps(reg.schema))


def check_evolution(registry: SchemaRegistry) -> list[EvolutionProblem]:
    """Problems with the history: unfrozen current versions, or old versions unreadable.

    >>> check_evolution(SchemaRegistry.load())
    []
    """
    problems = []
    checker = ReaderWriterCompatibilityChecker()
    for current in registry:
        history = registry.history(current.short_name)
        if not history or history[-1].canonical != current.canonical:
            problems.append(EvolutionProblem(
                current.short_name,
                "the current schema is not frozen under schemas/history "
                "(run `rtp schemas freeze` after checking compatibility)"))
        reader = _avro(current)
        for old in history:
            result = checker.get_compatibility(reader, _avro(old))
            if result.compatibility is not SchemaCompatibilityType.compatible:
                problems.append(EvolutionProblem(
                    current.short_name,
                    f"cannot read data written with v{old.version}: "
                    f"{'; '.join(sorted(result.messages))}"))
    return problems


def freeze_versions(registry: SchemaRegistry, directory: Path) -> list[Path]:
    """Write each changed current schema as the next ``history/<Name>/v<N>.avsc``."""
    written = []
    for current in registry:
        history = registry.history(current.short_name)
        if history and history[-1].canonical == current.canonical:
            continue
        version = history[-1].version + 1 if history else 1
        path = directory / "history" / current.short_name / f"v{version}.avsc"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(current.schema, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
