"""Avro binary writers compiled once per schema, for the schemas the worker writes per event.

fastavro's ``schemaless_writer`` walks the schema at every record: for every value it
dispatches on the schema's type by name, and a union tries its branches in turn.
:func:`compile_writer` walks a parsed schema once and returns a function of closures, one
per schema node, that appends a record's bytes; map keys (the same feature names every
time) are encoded once and kept.

It covers what those schemas use and nothing else: records, enums, maps, arrays, unions of
``null`` and one other type, and the primitives ``null``, ``boolean``, ``long``,
``double`` and ``string`` (no logical type); for any other schema it returns None. And it
writes only values of exactly the Python type the schema means (``str``; ``int`` for a
long; ``float`` or ``int`` for a double; ``bool``; ``dict`` for a record or a map, with
``str`` keys; ``list`` or ``tuple`` for an array; a symbol for an enum; a record's missing
field only when it has a default; an array of doubles whose items all convert to a C
double as fastavro converts each), where Avro's encoding has one answer: for anything else
it raises :class:`NotCompiled`, and the codec writes that record with fastavro instead.
So every record is written as fastavro writes it, or refused as fastavro refuses it
(tests/unit/serde/test_serde_writer.py compares them on generated records).

>>> from fastavro import parse_schema
>>> write = compile_writer(parse_schema({"type": "record", "name": "r", "fields": [
...     {"name": "a", "type": "long"}, {"name": "m", "type": {"type": "map", "values": "double"}},
...     {"name": "s", "type": ["null", "string"], "default": None}]}))
>>> bytes(write({"a": -1, "m": {"x": 0.5}}))
b'\\x01\\x02\\x02x\\x00\\x00\\x00\\x00\\x00\\x00\\xe0?\\x00\\x00'
>>> write({"a": 1.5, "m": {}})
Traceback (most recent call last):
...
pipeline.serde.writer.NotCompiled: float for a long
>>> compile_writer(parse_schema({"type": "fixed", "name": "f", "size": 2})) is None
True
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["NotCompiled", "RecordWriter", "compile_writer"]

#: Appends one value's bytes to the buffer.
_Write = Callable[[bytearray, Any], None]
#: A compiled schema: the record's bytes (without the single-object header).
RecordWriter = Callable[[Any], bytearray]

_MIN_LONG, _MAX_LONG = -(2**63), 2**63 - 1
_pack_double = struct.Struct("<d").pack
_BIG_ENDIAN = sys.byteorder == "big"
#: Zig-zag varints of the small non-negative numbers (lengths and counts), precomputed.
_SMALL = [bytes([n << 1]) for n in range(64)]
#: Map keys encoded once per writer, at most this many (keys of other maps are encoded
#: each time once it is full).
_KEY_CACHE = 4096


class NotCompiled(Exception):
    """A value the compiled writer leaves to fastavro (not of the exact type it writes)."""


class _Unsupported(Exception):
    """A schema construct this module does not compile."""


def _long_bytes(n: int) -> bytes:
    """The zig-zag varint of a long (an int in the long range).

    >>> _long_bytes(0), _long_bytes(-1), _long_bytes(64), _long_bytes(-(2**63))[-1]
    (b'\\x00', b'\\x01', b'\\x80\\x01', 1)
    """
    n = (n << 1) ^ (n >> 63)
    if n < 128:
        return bytes((n,))
    out = bytearray()
    while n >= 128:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _not_compiled(value: Any, kind: str) -> NotCompiled:
    return NotCompiled(f"{type(value).__name__} for a {kind}")


def _write_count(out: bytearray, n: int) -> None:
    out += _SMALL[n] if n < 64 else _long_bytes(n)


def _write_null(out: bytearray, value: Any) -> None:
    if value is not None:
        raise _not_compiled(value, "null")


def _write_boolean(out: bytearray, value: Any) -> None:
    if type(value) is not bool:
        raise _not_compiled(value, "boolean")
    out.append(1 if value else 0)


def _write_long(out: bytearray, value: Any) -> None:
    if type(value) is not int or not _MIN_LONG <= value <= _MAX_LONG:
        raise _not_compiled(value, "long")
    out += _SMALL[value] if 0 <= value < 64 else _long_bytes(value)


def _write_double(out: bytearray, value: Any) -> None:
    if type(value) is float:
        out += _pack_double(value)
    elif type(value) is int and -(2**1023) < value < 2**1023:  # float(value) cannot overflow
        out += _pack_double(float(value))
    else:
        raise _not_compiled(value, "double")


def _write_string(out: bytearray, value: Any) -> None:
    if type(value) is not str:
        raise _not_compiled(value, "string")
    try:
        data = value.encode()
    except UnicodeEncodeError:  # a lone surrogate
        raise _not_compiled(value, "string") from None
    n = len(data)
    out += _SMALL[n] if n < 64 else _long_bytes(n)
    out += data


_PRIMITIVES: dict[str, _Write] = {
    "null": _write_null,
    "boolean": _write_boolean,
    "long": _write_long,
    "double": _write_double,
    "string": _write_string,
}


def compile_writer(schema: Any) -> RecordWriter | None:
    """A writer of ``schema`` (a fastavro-parsed schema), or None when it uses a construct
    this module does not compile (see the module docstring). The writer raises
    :class:`NotCompiled` for a record it leaves to fastavro."""
    named = dict(schema.get("__named_schemas", {})) if isinstance(schema, dict) else {}
    if not isinstance(schema, dict) or schema.get("type") != "record":
        return None
    try:
        write = _record(schema, named, {}, root=True)
    except _Unsupported:
        return None

    def record_bytes(record: Any) -> bytearray:
        out = bytearray()
        write(out, record)
        return out

    return record_bytes


def _compile(schema: Any, named: Mapping[str, Any], done: dict[str, _Write]) -> _Write:
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return _PRIMITIVES[schema]
        if schema in done:
            return done[schema]
        if schema in named:
            return _compile(named[schema], named, done)
        raise _Unsupported(schema)
    if isinstance(schema, list):
        return _union(schema, named, done)
    if not isinstance(schema, dict) or "logicalType" in schema:
        raise _Unsupported(repr(schema)[:80])
    kind = schema.get("type")
    if kind == "record":
        return _record(schema, named, done)
    if kind == "enum":
        return _enum(schema)
    if kind == "map":
        return _map(_compile(schema["values"], named, done))
    if kind == "array":
        return _array(_compile(schema["items"], named, done))
    raise _Unsupported(repr(kind))


def _record(schema: dict[str, Any], named: Mapping[str, Any], done: dict[str, _Write],
            root: bool = False) -> _Write:
    """Each field's value, or its default when it is missing (a missing field without a
    default is left to fastavro). Only the top record's fields may be a union of null and
    a record (the ones the codec names for fastavro)."""
    fields: list[tuple[str, Any, bool, _Write]] = []

    def write_record(out: bytearray, value: Any) -> None:
        if type(value) is not dict:
            raise _not_compiled(value, "record")
        for name, default, has_default, write in fields:
            if name in value:
                write(out, value[name])
            elif has_default:
                write(out, default)
            else:
                raise NotCompiled(f"no value and no default for {name}")

    done[str(schema["name"])] = write_record  # a recursive reference finds it
    for spec in schema["fields"]:
        kind = spec["type"]
        write = (_union(kind, named, done, named_record=root) if isinstance(kind, list)
                 else _compile(kind, named, done))
        fields.append((spec["name"], spec.get("default"), "default" in spec, write))
    return write_record


def _enum(schema: dict[str, Any]) -> _Write:
    indexes = {symbol: _long_bytes(i) for i, symbol in enumerate(schema["symbols"])}

    def write_enum(out: bytearray, value: Any) -> None:
        if type(value) is not str or value not in indexes:
            raise _not_compiled(value, "enum")
        out += indexes[value]

    return write_enum


def _map(write_value: _Write) -> _Write:
    keys: dict[str, bytes] = {}

    def write_map(out: bytearray, value: Any) -> None:
        if type(value) is not dict:
            raise _not_compiled(value, "map")
        if value:
            _write_count(out, len(value))
            for key, item in value.items():
                encoded = keys.get(key) if type(key) is str else None
                if encoded is None:
                    buf = bytearray()
                    _write_string(buf, key)
                    encoded = bytes(buf)
                    if len(keys) < _KEY_CACHE:
                        keys[key] = encoded
                out += encoded
                write_value(out, item)
        out.append(0)

    return write_map


def _array(write_item: _Write) -> _Write:
    if write_item is _write_double:
        return _write_double_array

    def write_array(out: bytearray, value: Any) -> None:
        if type(value) is not list and type(value) is not tuple:
            raise _not_compiled(value, "array")
        if value:
            _write_count(out, len(value))
            for item in value:
                write_item(out, item)
        out.append(0)

    return write_array


def _write_double_array(out: bytearray, value: Any) -> None:
    """An array of doubles in one conversion (a bandit's context: 61 of them): C doubles
    by the conversion fastavro's writer makes of each item (``PyFloat_AsDouble``), in
    Avro's little-endian order."""
    if type(value) is not list and type(value) is not tuple:
        raise _not_compiled(value, "array")
    if value:
        try:
            doubles = array("d", value)
        except (TypeError, OverflowError):  # not all numbers: left to fastavro
            raise _not_compiled(value, "array of doubles") from None
        if _BIG_ENDIAN:
            doubles.byteswap()
        _write_count(out, len(value))
        out += doubles.tobytes()
    out.append(0)


def _union(branches: list[Any], named: Mapping[str, Any], done: dict[str, _Write],
           named_record: bool = False) -> _Write:
    """``["null", T]`` only: None is the null branch; a value ``T`` compiles is ``T``'s (a
    ``dict`` for a record: what the codec named for fastavro, which then writes it
    without trying the branches, :func:`pipeline.serde.codec._name_branches`)."""
    if len(branches) != 2 or branches[0] != "null":
        raise _Unsupported(repr(branches)[:80])
    other = branches[1]
    target = named.get(other, other) if isinstance(other, str) else other
    is_record = isinstance(target, dict) and target.get("type") == "record"
    if other != "string" and not (is_record and named_record):
        raise _Unsupported(repr(other)[:80])  # fastavro's choice by value type: not here
    write = _compile(other, named, done)
    exact = str if other == "string" else dict

    def write_union(out: bytearray, value: Any) -> None:
        if value is None:
            out.append(0)
        elif type(value) is exact:
            out.append(2)
            write(out, value)
        else:
            raise _not_compiled(value, "union")

    return write_union
