"""Read and write decision logs and outcomes as JSON lines or Avro container files.

Records are plain dicts shaped exactly like the Avro records ``rtp.DecisionLog``
and ``rtp.Outcome`` as fastavro decodes them (``schemas/*.avsc``). The format is
chosen by the file name: ``.jsonl`` (one JSON object per line, blank lines
skipped) or ``.avro`` (an Avro object container file, written with fastavro).

Every record read or written is validated against its schema and normalised
through an Avro round trip, so fields with defaults are filled in, ``1`` becomes
``1.0`` for a double and keys the schema does not know are dropped. A bad row
raises :class:`~pipeline.replay.errors.LogFormatError` naming the file and line
(the record number in an Avro file). Writes are atomic: a temporary file is
renamed into place only when every record was valid.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "outcomes.jsonl"
>>> write_outcomes(path, [{"outcome_id": "o1", "decision_id": "d1", "visitor_id": "v1",
...                        "kind": "clicked", "event_time": 1700000000000}])
1
>>> read_outcomes(path)
[{'outcome_id': 'o1', 'decision_id': 'd1', 'visitor_id': 'v1', 'kind': 'clicked', 'value': 0.0, \
'event_time': 1700000000000, 'reported_by': 'server'}]
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import fastavro
from fastavro.schema import expand_schema
from fastavro.validation import ValidationError, validate

from pipeline.replay.errors import LogFormatError, UnsupportedLogFormat

__all__ = [
    "LogFileOptions",
    "LogFormat",
    "LogKind",
    "default_schema_dir",
    "detect_format",
    "iter_records",
    "log_schema",
    "read_decision_logs",
    "read_outcomes",
    "read_records",
    "write_decision_logs",
    "write_outcomes",
    "write_records",
]

LogKind = Literal["DecisionLog", "Outcome", "ClickEvent"]
LogFormat = Literal["jsonl", "avro"]

_SCHEMA_FILES: dict[str, tuple[str, ...]] = {
    # DecisionLog references the named type rtp.Decision: parse Decision first.
    "DecisionLog": ("Decision", "DecisionLog"),
    "Outcome": ("Outcome",),
    # Purchases for the report's attribution (pipeline.replay.attribution) are ClickEvents.
    "ClickEvent": ("ClickEvent",),
}


def default_schema_dir() -> Path:
    """The repository's ``schemas/`` folder (two levels above this package).

    >>> (default_schema_dir() / "DecisionLog.avsc").is_file()
    True
    """
    return Path(__file__).resolve().parents[2] / "schemas"


@dataclass(frozen=True)
class LogFileOptions:
    """How log files are read and written.

    ``schema_dir``: folder holding ``Decision.avsc``, ``DecisionLog.avsc`` and
    ``Outcome.avsc`` (``None``: :func:`default_schema_dir`). ``avro_codec``: block
    compression of written Avro files, ``"deflate"`` or ``"null"``.

    >>> LogFileOptions().avro_codec
    'deflate'
    """

    schema_dir: Path | None = None
    avro_codec: Literal["null", "deflate"] = "deflate"


@lru_cache(maxsize=16)
def _parsed_schema(kind: str, schema_dir: str) -> dict[str, Any]:
    if kind not in _SCHEMA_FILES:
        raise ValueError(f"unknown record kind {kind!r}: use one of {sorted(_SCHEMA_FILES)}")
    named: dict[str, Any] = {}
    parsed: Any = None
    for name in _SCHEMA_FILES[kind]:
        with (Path(schema_dir) / f"{name}.avsc").open(encoding="utf-8") as fh:
            parsed = fastavro.parse_schema(json.load(fh), named_schemas=named)
    # Inline the referenced named types, so written Avro files are self-contained.
    expanded = fastavro.parse_schema(expand_schema(parsed))
    assert isinstance(expanded, dict)
    return expanded


def log_schema(kind: LogKind, schema_dir: Path | None = None) -> dict[str, Any]:
    """The parsed (fastavro) schema of ``kind``, with named types resolved.

    >>> log_schema("DecisionLog")["name"]
    'rtp.DecisionLog'
    """
    return _parsed_schema(kind, str(schema_dir or default_schema_dir()))


def detect_format(path: str | Path) -> LogFormat:
    """``"jsonl"`` or ``"avro"`` from the file name; anything else is unsupported.

    >>> detect_format("runs/decisions.avro"), detect_format("outcomes.JSONL")
    ('avro', 'jsonl')
    >>> detect_format("x.csv")
    Traceback (most recent call last):
    ...
    pipeline.replay.errors.UnsupportedLogFormat: x.csv: unsupported log format (use a '.jsonl' \
or '.avro' file name)
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".jsonl":
        return "jsonl"
    if suffix == ".avro":
        return "avro"
    raise UnsupportedLogFormat(path)


def _conform(
    record: Any, schema: dict[str, Any], path: str | Path, line: int
) -> dict[str, Any]:
    """Validate ``record`` and return it exactly as fastavro would decode it."""
    if not isinstance(record, Mapping):
        raise LogFormatError(path, line, f"expected a JSON object, got {type(record).__name__}")
    try:
        validate(dict(record), schema, raise_errors=True)
    except ValidationError as exc:
        reason = "; ".join(str(e) for e in exc.errors) if exc.errors else str(exc)
        raise LogFormatError(path, line, f"does not match {schema['name']}: {reason}") from exc
    buffer = io.BytesIO()
    try:
        fastavro.schemaless_writer(buffer, schema, dict(record))
    except (ValueError, TypeError, OverflowError) as exc:
        raise LogFormatError(path, line, f"does not match {schema['name']}: {exc}") from exc
    buffer.seek(0)
    decoded = fastavro.schemaless_reader(buffer, schema, schema)
    assert isinstance(decoded, dict)
    return decoded


def _iter_jsonl(path: Path, schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LogFormatError(path, line_no, f"not valid JSON: {exc.msg}") from exc
            yield _conform(obj, schema, path, line_no)


def _iter_avro(path: Path, schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    with path.open("rb") as fh:
        try:
            header_reader = fastavro.reader(fh)
        except (ValueError, EOFError) as exc:
            raise LogFormatError(path, None, f"not an Avro container file ({exc})") from exc
        writer_name = header_reader.writer_schema.get("name")  # type: ignore[union-attr]
        if writer_name != schema["name"]:
            raise LogFormatError(
                path, None, f"holds {writer_name} records, expected {schema['name']}"
            )
    with path.open("rb") as fh:
        reader = fastavro.reader(fh, reader_schema=schema)
        records = iter(reader)
        number = 0
        while True:
            number += 1
            try:
                record = next(records)
            except StopIteration:
                return
            except Exception as exc:  # fastavro raises many types on corrupt blocks
                raise LogFormatError(path, number, f"unreadable Avro record ({exc})") from exc
            if not isinstance(record, dict):
                raise LogFormatError(path, number, "Avro datum is not a record")
            yield record


def iter_records(
    path: str | Path, kind: LogKind, options: LogFileOptions | None = None
) -> Iterator[dict[str, Any]]:
    """Stream the records of ``path`` (format from its extension), validated.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "o.avro"
    >>> rec = {"outcome_id": "o1", "decision_id": "d1", "visitor_id": "v1",
    ...        "kind": "converted", "value": 30.0, "event_time": 5}
    >>> write_records(path, "Outcome", [rec, rec])
    2
    >>> [r["value"] for r in iter_records(path, "Outcome")]
    [30.0, 30.0]
    """
    opts = options or LogFileOptions()
    schema = log_schema(kind, opts.schema_dir)
    p = Path(path)
    fmt = detect_format(p)
    if not p.is_file():
        raise LogFormatError(p, None, "no such file")
    if fmt == "jsonl":
        yield from _iter_jsonl(p, schema)
    else:
        yield from _iter_avro(p, schema)


def read_records(
    path: str | Path, kind: LogKind, options: LogFileOptions | None = None
) -> list[dict[str, Any]]:
    """All records of ``path`` as a list (see :func:`iter_records`).

    >>> import tempfile, pathlib
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "bad.jsonl"
    >>> _ = bad.write_text('{"outcome_id": "o1"}\\n')
    >>> read_records(bad, "Outcome")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.replay.errors.LogFormatError: .../bad.jsonl:1: does not match rtp.Outcome: ...
    """
    return list(iter_records(path, kind, options))


def write_records(
    path: str | Path,
    kind: LogKind,
    records: Iterable[Mapping[str, Any]],
    options: LogFileOptions | None = None,
) -> int:
    """Write ``records`` to ``path`` (format from its extension); return how many.

    Each record is validated first; on a bad record nothing is written and
    :class:`~pipeline.replay.errors.LogFormatError` names its 1-based position.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "o.jsonl"
    >>> write_records(path, "Outcome", [{"outcome_id": "o1"}])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.replay.errors.LogFormatError: .../o.jsonl:1: does not match rtp.Outcome: ...
    >>> path.exists()
    False
    """
    opts = options or LogFileOptions()
    schema = log_schema(kind, opts.schema_dir)
    target = Path(path)
    fmt = detect_format(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    count = 0

    def conformed() -> Iterator[dict[str, Any]]:
        nonlocal count
        for number, record in enumerate(records, start=1):
            yield _conform(record, schema, target, number)
            count = number

    try:
        if fmt == "jsonl":
            with tmp.open("w", encoding="utf-8") as text_out:
                for record in conformed():
                    try:
                        text = json.dumps(record, separators=(",", ":"), allow_nan=False)
                    except ValueError as exc:
                        raise LogFormatError(
                            target, count + 1, f"cannot be written as JSON ({exc})"
                        ) from exc
                    text_out.write(text + "\n")
        else:
            with tmp.open("wb") as binary_out:
                fastavro.writer(binary_out, schema, conformed(), codec=opts.avro_codec)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return count


def read_decision_logs(
    path: str | Path, options: LogFileOptions | None = None
) -> list[dict[str, Any]]:
    """``rtp.DecisionLog`` records of ``path``.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "d.jsonl"
    >>> _ = path.write_text("")
    >>> read_decision_logs(path)
    []
    """
    return read_records(path, "DecisionLog", options)


def read_outcomes(path: str | Path, options: LogFileOptions | None = None) -> list[dict[str, Any]]:
    """``rtp.Outcome`` records of ``path``.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "o.jsonl"
    >>> _ = path.write_text("\\n")
    >>> read_outcomes(path)
    []
    """
    return read_records(path, "Outcome", options)


def write_decision_logs(
    path: str | Path,
    records: Iterable[Mapping[str, Any]],
    options: LogFileOptions | None = None,
) -> int:
    """Write ``rtp.DecisionLog`` records; return how many.

    >>> import tempfile, pathlib
    >>> write_decision_logs(pathlib.Path(tempfile.mkdtemp()) / "d.avro", [])
    0
    """
    return write_records(path, "DecisionLog", records, options)


def write_outcomes(
    path: str | Path,
    records: Iterable[Mapping[str, Any]],
    options: LogFileOptions | None = None,
) -> int:
    """Write ``rtp.Outcome`` records; return how many.

    >>> import tempfile, pathlib
    >>> write_outcomes(pathlib.Path(tempfile.mkdtemp()) / "o.jsonl", [])
    0
    """
    return write_records(path, "Outcome", records, options)
