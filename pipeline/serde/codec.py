"""Avro single-object encoding on the hot path (fastavro).

A message is ``C3 01`` + the writer schema's CRC-64-AVRO fingerprint (8 bytes,
little-endian) + the Avro binary body. ``fastavro`` is used because the ``avro``
package costs several times more per record (see ``bench/serde.py``); the test
suite proves both write byte-identical bodies. The schemas written and read per event are
compiled once (:mod:`pipeline.serde.writer`, :mod:`pipeline.serde.reader`): the same bytes
and the same records as fastavro, in a fraction of the time; fastavro writes and reads
anything they leave to it.

>>> codec = Codec.default()
>>> data = codec.encode("Outcome", {"outcome_id": "o1", "decision_id": "d1",
...     "visitor_id": "v1", "kind": "clicked", "value": 0.0, "event_time": 1})
>>> data[:2].hex()
'c301'
>>> codec.decode(data, expected=("Outcome",))[1]["kind"]
'clicked'
"""

from __future__ import annotations

import functools
import io
import struct
from collections.abc import Callable, Collection
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from fastavro.validation import ValidationError, validate

from pipeline.serde.errors import (
    GarbageBytes,
    InvalidEvent,
    TruncatedMessage,
    WrongSchema,
)
from pipeline.serde.reader import RecordReader, compile_reader
from pipeline.serde.registry import RegisteredSchema, SchemaRegistry
from pipeline.serde.writer import NotCompiled, RecordWriter, compile_writer

__all__ = ["MARKER", "Codec", "single_object_header"]

#: The single-object encoding marker of the Avro specification.
MARKER = b"\xc3\x01"
_HEADER = struct.Struct("<2sQ")


def single_object_header(schema: RegisteredSchema) -> bytes:
    """``C3 01`` followed by the little-endian fingerprint of ``schema``."""
    return _HEADER.pack(MARKER, schema.fingerprint)


def _record_unions(parsed: Any) -> tuple[tuple[str, str], ...]:
    """The top-level fields of a record schema typed ``["null", <record>]``: (field, the
    record's full name).

    >>> _record_unions({"type": "record", "name": "rtp.X", "fields": [
    ...     {"name": "a", "type": "string"},
    ...     {"name": "b", "type": ["null", {"type": "record", "name": "rtp.B", "fields": []}]}]})
    (('b', 'rtp.B'),)
    """
    out: list[tuple[str, str]] = []
    for spec in parsed.get("fields", ()) if isinstance(parsed, dict) else ():
        branches = spec["type"]
        if (isinstance(branches, list) and len(branches) == 2 and branches[0] == "null"
                and isinstance(branches[1], dict) and branches[1].get("type") == "record"):
            out.append((spec["name"], str(branches[1]["name"])))
    return tuple(out)


def _name_branches(record: dict[str, Any], unions: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """``record`` with each present sub-record of a ``["null", <record>]`` field named in
    fastavro's tuple notation, ``(record name, value)``: the writer then takes that branch
    instead of validating the whole sub-record against the union to find it (half the cost
    of a LearningRecord). The bytes are the same; ``record`` itself is not changed.

    >>> _name_branches({"a": 1, "b": {"x": 1}, "c": None}, (("b", "rtp.B"), ("c", "rtp.C")))
    {'a': 1, 'b': ('rtp.B', {'x': 1}), 'c': None}
    """
    named: dict[str, Any] | None = None
    for name, branch in unions:
        value = record.get(name)
        if type(value) is dict:
            if named is None:
                named = dict(record)
            named[name] = (branch, value)
    return record if named is None else named


class Codec:
    """Encode and decode records of the registry's schemas."""

    def __init__(self, registry: SchemaRegistry, *, compiled_readers: bool = True) -> None:
        """``compiled_readers=False`` reads every message with fastavro (the reference
        the compiled readers are tested against)."""
        self.registry = registry
        self.compiled_readers = compiled_readers
        self._headers = {r.fingerprint: single_object_header(r) for r in registry}
        self._unions = {r.fingerprint: _record_unions(r.parsed) for r in registry}
        # What encode and decode look up per message, resolved once per schema name and per
        # writer fingerprint (the registry does not change under a codec; errors for unknown
        # names and fingerprints are raised on the first ask, as before, and not cached).
        self._writers: dict[str, tuple[Any, bytes, tuple[tuple[str, str], ...], str,
                                       RecordWriter | None]] = {}
        self._readers: dict[int, tuple[str, Any, Any, RecordReader | None]] = {}

    def _writer(self, name: str) -> tuple[Any, bytes, tuple[tuple[str, str], ...], str,
                                          RecordWriter | None]:
        plan = self._writers.get(name)
        if plan is None:
            schema = self.registry.current(name)
            plan = (schema.parsed, self._headers[schema.fingerprint],
                    self._unions[schema.fingerprint], schema.short_name,
                    compile_writer(schema.parsed))
            self._writers[name] = plan
        return plan

    def _reader(self, fingerprint: int) -> tuple[str, Any, Any, RecordReader | None]:
        """(short name, writer's parsed schema, reader's parsed schema or None if the same,
        the compiled reader of a message written with the current schema, if any)."""
        plan = self._readers.get(fingerprint)
        if plan is None:
            writer = self.registry.by_fingerprint(fingerprint)
            reader = self.registry.current(writer.short_name)
            same = writer.fingerprint == reader.fingerprint
            plan = (writer.short_name, writer.parsed, None if same else reader.parsed,
                    compile_reader(writer.parsed) if same and self.compiled_readers else None)
            self._readers[fingerprint] = plan
        return plan

    @classmethod
    def default(cls) -> Codec:
        """A codec over the project's ``schemas/``."""
        return cls(SchemaRegistry.load())

    def validate(self, name: str, record: dict[str, Any]) -> None:
        """Raise :class:`InvalidEvent` naming the field when ``record`` does not fit ``name``.

        >>> Codec.default().validate("Outcome", {"outcome_id": "o"})
        Traceback (most recent call last):
        ...
        pipeline.serde.errors.InvalidEvent: not a valid Outcome: ...
        """
        schema = self.registry.current(name)
        try:
            validate(record, schema.parsed, raise_errors=True)
        except ValidationError as exc:
            detail = "; ".join(str(e) for e in exc.errors)[:500]
            raise InvalidEvent(f"not a valid {schema.short_name}: {detail}") from None
        except (TypeError, AttributeError, ValueError) as exc:
            raise InvalidEvent(f"not a valid {schema.short_name}: {exc}") from None

    def encode(self, name: str, record: dict[str, Any], *, check: bool = False) -> bytes:
        """Encode ``record`` with the current schema ``name``; ``check`` validates first.

        A schema :func:`~pipeline.serde.writer.compile_writer` compiles (the worker's
        outputs) is written by its compiled writer, any other by fastavro: the same bytes.

        >>> codec = Codec.default()
        >>> answer = {"visitor_id": "v", "trigger_event_id": "e", "decided": "nothing",
        ...           "event_time": 1}
        >>> codec.decode(codec.encode("Answer", answer))[1] == answer
        True
        """
        _, header, _, _, compiled = self._writer(name)
        if check:
            self.validate(name, record)
        if compiled is not None:
            try:
                return header + compiled(record)
            except NotCompiled:
                pass  # a value of another type than the writer's: fastavro writes (or refuses) it
        return self._fastavro_encode(name, record)

    def encoder(self, name: str) -> Callable[[dict[str, Any]], bytes]:
        """:meth:`encode` of schema ``name``, looked up once: what the worker calls per output.

        >>> codec = Codec.default()
        >>> answer = {"visitor_id": "v", "trigger_event_id": "e", "decided": "nothing",
        ...           "event_time": 1}
        >>> codec.encoder("Answer")(answer) == codec.encode("Answer", answer)
        True
        """
        _, header, _, _, compiled = self._writer(name)
        if compiled is None:
            return functools.partial(self._fastavro_encode, name)
        fastavro_encode = self._fastavro_encode

        def encode(record: dict[str, Any]) -> bytes:
            try:
                return header + compiled(record)
            except NotCompiled:
                return fastavro_encode(name, record)

        return encode

    def _fastavro_encode(self, name: str, record: dict[str, Any]) -> bytes:
        parsed, header, unions, short, _ = self._writer(name)
        buf = io.BytesIO()
        buf.write(header)
        try:
            if unions:
                record = _name_branches(record, unions)
            schemaless_writer(buf, parsed, record)
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
            raise InvalidEvent(f"cannot encode {short}: {exc!r}") from None
        return buf.getvalue()

    def decode(
        self, data: bytes | None, expected: Collection[str] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Return ``(short_name, record)`` read with the current reader schema.

        Raises a :class:`~pipeline.serde.errors.DecodeError` subclass whose
        ``reason`` says what is wrong; never anything else for any input bytes. A message
        written with the current schema is read by its compiled reader (the record fastavro
        reads, or none: fastavro then reads it, and says what is wrong).

        >>> Codec.default().decode(b"hello")
        Traceback (most recent call last):
        ...
        pipeline.serde.errors.GarbageBytes: no Avro single-object marker (got 68656c6c6f)
        """
        if not data or len(data) < _HEADER.size or data[:2] != MARKER:
            head = (data or b"")[:10].hex()
            if data and data[:2] == MARKER:
                raise TruncatedMessage(f"message of {len(data)} bytes has no full header")
            raise GarbageBytes(f"no Avro single-object marker (got {head or 'empty'})")
        _, fp = _HEADER.unpack_from(data)
        short, writer, reader, compiled = self._reader(fp)
        if expected is not None and short not in expected:
            raise WrongSchema(f"{short} is not expected here (expected {', '.join(expected)})")
        if compiled is not None and type(data) is bytes:
            try:
                record, end = compiled(data, _HEADER.size)
            except Exception:  # not what a writer writes: fastavro reads it, or says why not
                pass
            else:
                if end == len(data):
                    return short, record  # (trailing bytes: refused below, as before)
        buf = io.BytesIO(data)
        buf.seek(_HEADER.size)
        try:
            record = schemaless_reader(buf, writer, reader)
        except (EOFError, StopIteration, IndexError, struct.error) as exc:
            raise TruncatedMessage(f"{short} body ended early: {exc!r}") from None
        except Exception as exc:  # fastavro raises assorted errors on corrupt bodies
            raise TruncatedMessage(f"{short} body is corrupt: {exc!r}") from None
        if buf.tell() != len(data):
            raise TruncatedMessage(
                f"{short} record ended at byte {buf.tell()} of {len(data)}: trailing bytes"
            )
        if not isinstance(record, dict):
            raise TruncatedMessage(f"{short} body did not decode to a record")
        return short, record
