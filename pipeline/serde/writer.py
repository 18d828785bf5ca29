"""Avro binary writers compiled once per schema, for the schemas the worker writes per event.

fastavro's ``schemaless_writer`` walks the schema at every record: for every value it
dispatches on the schema's type by name, and a union tries its branches in turn. The
decision log (two maps of some 45 entries, a nested Decision, the eligible arms) cost
~25 µs that way, once per decision. :func:`compile_writer` walks a parsed schema once and
returns a function of closures, one per schema node, that appends a record's bytes;
map keys (the same feature names every time) are encoded once and kept.

It covers what those schemas use and nothing else: records, enums, maps, arrays, unions of
``null`` and one other type, and the primitives ``null``, ``boolean``, ``long``,
``double`` and ``string`` (no logical type). For any other schema it returns None and the
codec keeps fastavro. The bytes are fastavro's for every record fastavro writes
(tests/unit/serde/test_serde_writer.py compares them on generated records); a record
fastavro refuses raises here too (TypeError, ValueError, KeyError, AttributeError or
OverflowError, as there).

>>> from fastavro import parse_schema
>>> write = compile_writer(parse_schema({"type": "record", "name": "r", "fields": [
...     {"name": "a", "type": "long"}, {"name": "m", "type": {"type": "map", "values": "double"}},
...     {"name": "s", "type": ["null", "string"], "default": None}]}))
>>> bytes(write({"a": -1, "m": {"x": 0.5}}))
b'\\x01\\x02\\x02x\\x00\\x00\\x00\\x00\\x00\\x00\\xe0?\\x00\\x00'
>>> compile_writer(parse_schema({"type": "fixed", "name": "f", "size": 2})) is None
True
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["RecordWriter", "compile_writer"]

#: Appends one value's bytes to the buffer.
_Write = Callable[[bytearray, Any], None]
#: A compiled schema: the record's bytes (without the single-object header).
RecordWriter = Callable[[Any], bytearray]

_MIN_LONG, _MAX_LONG = -(2**63), 2**63 - 1
_pack_double = struct.Struct("<d").pack
#: Zig-zag varints of the small non-negative numbers (lengths and counts), precomputed.
_SMALL = [bytes([n << 1]) for n in range(64)]
#: Map keys encoded once per writer, at most this many (keys of other maps are encoded
#: each time once it is full).
_KEY_CACHE = 4096


class _Unsupported(Exception):
    """A schema construct this module does not compile (fastavro writes it instead)."""


def _long_bytes(n: int) -> bytes:
    """The zig-zag varint of a long.

    >>> _long_bytes(0), _long_bytes(-1), _long_bytes(64), _long_bytes(-(2**63))[-1]
    (b'\\x00', b'\\x01', b'\\x80\\x01', 1)
    """
    if not _MIN_LONG <= n <= _MAX_LONG:
        raise OverflowError(f"{n} is out of range for a long")
    n = (n << 1) ^ (n >> 63)
    if n < 128:
        return bytes((n,))
    out = bytearray()
    while n >= 128:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _write_count(out: bytearray, n: int) -> None:
    out += _SMALL[n] if n < 64 else _long_bytes(n)


def _write_null(out: bytearray, value: Any) -> None:
    pass  # nothing is written for a null, whatever the value (as fastavro)


def _write_boolean(out: bytearray, value: Any) -> None:
    out.append(1 if value else 0)


def _write_long(out: bytearray, value: Any) -> None:
    if type(value) is not int:
        # fastavro's C conversion: anything with __int__ (bool, NumPy numbers, a float
        # truncated), never text.
        if isinstance(value, str | bytes | bytearray):
            raise TypeError(f"an integer is required, not {type(value).__name__}")
        value = int(value)
    out += _SMALL[value] if 0 <= value < 64 else _long_bytes(value)


def _write_double(out: bytearray, value: Any) -> None:
    try:
        out += _pack_double(value)
    except struct.error as exc:  # not a number
        raise TypeError(str(exc)) from None


def _write_string(out: bytearray, value: Any) -> None:
    data = value.encode()  # str only: AttributeError otherwise
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
    this module does not compile (see the module docstring)."""
    named = dict(schema.get("__named_schemas", {})) if isinstance(schema, dict) else {}
    try:
        write = _compile(schema, named, {})
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
    if isinstance(kind, str) and kind in _PRIMITIVES and len(schema) == 1:
        return _PRIMITIVES[kind]
    raise _Unsupported(repr(kind))


def _write_double_field(out: bytearray, value: Any) -> None:
    out += _pack_double(float(value))  # a record's double field takes float(value), "NaN" too


def _record(schema: dict[str, Any], named: Mapping[str, Any], done: dict[str, _Write]) -> _Write:
    """Each field's value, or its default when missing (a field without a default that
    cannot be null must be there: ValueError otherwise, as fastavro)."""
    fields: list[tuple[str, Any, bool, _Write]] = []

    def write_record(out: bytearray, value: Any) -> None:
        get = value.get  # a mapping: AttributeError otherwise
        for name, default, required, write in fields:
            if required and name not in value:
                raise ValueError(f"no value and no default for {name}")
            write(out, get(name, default))

    done[str(schema["name"])] = write_record  # a recursive reference finds it
    for spec in schema["fields"]:
        kind = spec["type"]
        write = _write_double_field if kind == "double" else _compile(kind, named, done)
        required = "default" not in spec and "null" not in kind
        fields.append((spec["name"], spec.get("default"), required, write))
    return write_record


def _enum(schema: dict[str, Any]) -> _Write:
    indexes = {symbol: _long_bytes(i) for i, symbol in enumerate(schema["symbols"])}
    name = schema["name"]

    def write_enum(out: bytearray, value: Any) -> None:
        try:
            out += indexes[value]
        except (KeyError, TypeError):
            raise ValueError(f"{value!r} is not a symbol of {name}") from None

    return write_enum


def _map(write_value: _Write) -> _Write:
    keys: dict[str, bytes] = {}

    def write_map(out: bytearray, value: Any) -> None:
        n = len(value)  # TypeError when it has no length
        if n:
            _write_count(out, n)
            for key, item in value.items():
                encoded = keys.get(key) if type(key) is str else None
                if encoded is None:
                    buf = bytearray()
                    _write_string(buf, key)
                    encoded = bytes(buf)
                    if type(key) is str and len(keys) < _KEY_CACHE:
                        keys[key] = encoded
                out += encoded
                write_value(out, item)
        out.append(0)

    return write_map


def _array(write_item: _Write) -> _Write:
    def write_array(out: bytearray, value: Any) -> None:
        n = len(value)  # TypeError when it has no length
        if n:
            _write_count(out, n)
            for item in value:
                write_item(out, item)
        out.append(0)

    return write_array


def _union(branches: list[Any], named: Mapping[str, Any], done: dict[str, _Write]) -> _Write:
    """``["null", T]`` only: None is the null branch, anything else ``T``'s (a named record
    also in fastavro's tuple notation, ``(name, value)``)."""
    if len(branches) != 2 or branches[0] != "null":
        raise _Unsupported(repr(branches)[:80])
    other = branches[1]
    if isinstance(other, str) and other in _PRIMITIVES:
        if other in ("null", "boolean", "long", "double"):
            raise _Unsupported(other)  # fastavro's branch choice by value type: not here
        return _nullable_string()
    target = named.get(other, other) if isinstance(other, str) else other
    if not isinstance(target, dict) or target.get("type") != "record":
        raise _Unsupported(repr(other)[:80])
    return _nullable_record(str(target["name"]), _compile(other, named, done))


def _nullable_string() -> _Write:
    def write_nullable_string(out: bytearray, value: Any) -> None:
        if value is None:
            out.append(0)
        elif isinstance(value, str):
            out.append(2)
            _write_string(out, value)
        else:
            raise ValueError(f"{value!r} (type {type(value).__name__}) is not in the union")

    return write_nullable_string


def _nullable_record(name: str, write: _Write) -> _Write:
    def write_nullable_record(out: bytearray, value: Any) -> None:
        if value is None:
            out.append(0)
            return
        if type(value) is tuple and len(value) == 2 and value[0] == name:
            value = value[1]
        elif not isinstance(value, dict) or "-type" in value:
            raise ValueError(f"{type(value).__name__} is not in the union of {name}")
        out.append(2)
        write(out, value)

    return write_nullable_record
