"""The schema registry: every contract under ``schemas/``, by name and by fingerprint.

``schemas/<Name>.avsc`` is the current version of each record; every version
ever published is kept, fully expanded, as ``schemas/history/<Name>/v<N>.avsc``.
Readers resolve any known writer version (by fingerprint) to the current reader
schema, so old data stays readable after a compatible change.

>>> reg = SchemaRegistry.load()
>>> reg.current("Outcome").name
'rtp.Outcome'
>>> reg.by_fingerprint(reg.current("Outcome").fingerprint).name
'rtp.Outcome'
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import to_parsing_canonical_form

from pipeline.serde.errors import UnknownSchema
from pipeline.serde.fingerprint import crc64_avro
from pipeline.settings import Settings

__all__ = ["RegisteredSchema", "SchemaError", "SchemaRegistry", "expand_schema"]

_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


class SchemaError(ValueError):
    """A schema file is missing, unreadable, or references an unknown type."""


@dataclass(frozen=True)
class RegisteredSchema:
    """One schema version: its JSON (fully expanded), parsed form and fingerprint."""

    name: str
    version: int
    schema: dict[str, Any] = field(repr=False)
    parsed: Any = field(repr=False, compare=False)
    canonical: str = field(repr=False)
    fingerprint: int = 0

    @property
    def short_name(self) -> str:
        """``"ClickEvent"`` for ``"rtp.ClickEvent"``."""
        return self.name.rsplit(".", 1)[-1]


def _full_name(schema: dict[str, Any], namespace: str | None) -> str:
    name = str(schema["name"])
    if "." in name:
        return name
    ns = schema.get("namespace", namespace)
    return f"{ns}.{name}" if ns else name


def expand_schema(
    schema: Any, known: dict[str, dict[str, Any]], namespace: str | None = None,
    seen: set[str] | None = None,
) -> Any:
    """Inline references to named types defined in other files (first use only).

    >>> point = {"type": "record", "name": "P", "namespace": "x", "fields": []}
    >>> expand_schema({"type": "array", "items": "x.P"}, {"x.P": point})["items"]["name"]
    'P'
    """
    seen = set() if seen is None else seen
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return schema
        full = schema if "." in schema or namespace is None else f"{namespace}.{schema}"
        if full in seen:
            return full
        if full in known:
            return expand_schema(known[full], known, namespace, seen)
        if schema in known:
            return expand_schema(known[schema], known, namespace, seen)
        raise SchemaError(f"unknown type {schema!r}")
    if isinstance(schema, list):
        return [expand_schema(s, known, namespace, seen) for s in schema]
    if isinstance(schema, dict):
        kind = schema.get("type")
        if kind in ("record", "error", "enum", "fixed"):
            full = _full_name(schema, namespace)
            seen.add(full)
            out = dict(schema)
            if kind in ("record", "error"):
                ns = full.rsplit(".", 1)[0] if "." in full else None
                out["fields"] = [
                    {**f, "type": expand_schema(f["type"], known, ns, seen)}
                    for f in schema["fields"]
                ]
            return out
        if kind == "array":
            return {**schema, "items": expand_schema(schema["items"], known, namespace, seen)}
        if kind == "map":
            return {**schema, "values": expand_schema(schema["values"], known, namespace, seen)}
        if isinstance(kind, str | list | dict):
            return {**schema, "type": expand_schema(kind, known, namespace, seen)}
    return schema


def _register(schema: dict[str, Any], version: int) -> RegisteredSchema:
    parsed = fastavro.parse_schema(schema)
    canonical = to_parsing_canonical_form(parsed)
    return RegisteredSchema(
        name=_full_name(schema, None),
        version=version,
        schema=schema,
        parsed=parsed,
        canonical=canonical,
        fingerprint=crc64_avro(canonical.encode("utf-8")),
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SchemaError(f"{path}: cannot read schema: {exc}") from exc
    if not isinstance(data, dict) or "name" not in data:
        raise SchemaError(f"{path}: a schema file must hold one named record")
    return data


class SchemaRegistry:
    """All schema versions, loaded from a ``schemas/`` directory."""

    def __init__(self, current: dict[str, RegisteredSchema],
                 history: dict[str, list[RegisteredSchema]]) -> None:
        self._current = current
        self._history = history
        self._by_fp: dict[int, RegisteredSchema] = {}
        for versions in history.values():
            for reg in versions:
                self._by_fp[reg.fingerprint] = reg
        for reg in current.values():
            self._by_fp[reg.fingerprint] = reg

    @classmethod
    def load(cls, directory: Path | None = None) -> SchemaRegistry:
        """Load ``directory`` (default: the project's ``schemas/``)."""
        directory = directory or Settings().schemas_dir
        files = sorted(directory.glob("*.avsc"))
        if not files:
            raise SchemaError(f"no *.avsc files in {directory}")
        raw = {_full_name(d, None): d for d in (_read_json(p) for p in files)}
        current: dict[str, RegisteredSchema] = {}
        for full, schema in raw.items():
            expanded = expand_schema(schema, raw)
            current[full] = _register(expanded, version=0)
        history: dict[str, list[RegisteredSchema]] = {}
        for full, reg in current.items():
            versions = []
            folder = directory / "history" / reg.short_name
            for path in sorted(folder.glob("v*.avsc"), key=lambda p: int(p.stem[1:])):
                versions.append(_register(_read_json(path), version=int(path.stem[1:])))
            history[full] = versions
            if versions and versions[-1].canonical == reg.canonical:
                current[full] = _register(reg.schema, version=versions[-1].version)
        return cls(current, history)

    def current(self, name: str) -> RegisteredSchema:
        """The reader (latest) schema of ``name`` (short or full name)."""
        full = name if "." in name else f"rtp.{name}"
        try:
            return self._current[full]
        except KeyError:
            raise SchemaError(f"no schema named {name!r}; known: {sorted(self._current)}") from None

    def by_fingerprint(self, fingerprint: int) -> RegisteredSchema:
        """The writer schema a message's fingerprint names."""
        try:
            return self._by_fp[fingerprint]
        except KeyError:
            raise UnknownSchema(
                f"fingerprint {fingerprint:#018x} matches no schema in the registry"
            ) from None

    def history(self, name: str) -> list[RegisteredSchema]:
        """Every frozen version of ``name``, oldest first."""
        return list(self._history[self.current(name).name])

    def names(self) -> list[str]:
        """Short names of every current schema, sorted."""
        return sorted(r.short_name for r in self._current.values())

    def __iter__(self) -> Iterator[RegisteredSchema]:
        return iter(self._current.values())
