"""Avro binary readers compiled once per schema, for the records the worker reads per event.

fastavro's ``schemaless_reader`` parses its schema argument again at every call and walks
it for every value (a ClickEvent: about 30 of them), reading from a file object a few
bytes at a time. :func:`compile_reader` walks a parsed schema once and generates the
Python source of a reader for it: the record's fields, those of its sub-records included,
read inline from the message's bytes by index.

A compiled reader gives fastavro's answer or none: it reads what a writer of the schema
writes (minimal varints, union branches and enum symbols by their index, blocks of maps
and arrays by their count) and raises :class:`NotRead` for anything else it meets (a
negative length or count, an index out of range, a varint of more than 10 bytes or of
more than 64 bits, a boolean byte other than 0 or 1, an ``int`` out of its 32 bits) as
for bytes that end too early (``IndexError``, ``struct.error``) or a string that is not
UTF-8 (``UnicodeDecodeError``): the codec then reads the message with fastavro, which
returns what it makes of it or raises the error it raised before. The schemas compiled
are records, enums, maps, arrays, unions and the primitives (no ``fixed``, no logical
type, no recursive record: for those :func:`compile_reader` returns None).
tests/unit/serde/test_serde_reader.py compares both on generated records and on random,
truncated and corrupted bytes.

>>> from fastavro import parse_schema
>>> read = compile_reader(parse_schema({"type": "record", "name": "r", "fields": [
...     {"name": "a", "type": "long"}, {"name": "m", "type": {"type": "map", "values": "double"}},
...     {"name": "s", "type": ["null", "string"]}]}))
>>> read(b'\\x01\\x02\\x02x\\x00\\x00\\x00\\x00\\x00\\x00\\xe0?\\x00\\x02\\x02y', 0)
({'a': -1, 'm': {'x': 0.5}, 's': 'y'}, 16)
>>> read(b'\\x01\\x00\\x04', 0)
Traceback (most recent call last):
...
pipeline.serde.reader.NotRead: union index
>>> compile_reader(parse_schema({"type": "fixed", "name": "f", "size": 2})) is None
True
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["NotRead", "RecordReader", "compile_reader"]

#: A compiled schema: ``(record, end)`` of the record whose bytes start at ``start``.
RecordReader = Callable[[bytes, int], tuple[Any, int]]

_MIN_INT, _MAX_INT = -(2**31), 2**31 - 1


class NotRead(Exception):
    """Bytes a compiled reader leaves to fastavro (not what a writer of the schema writes)."""


class _Unsupported(Exception):
    """A schema construct this module does not compile."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """The zig-zag varint at ``pos`` and the position after it (at most 10 bytes and 64
    bits, as fastavro reads them into a 64-bit integer).

    >>> _varint(b"\\x80\\x01", 0), _varint(b"\\x03", 0)
    ((64, 2), (-2, 1))
    """
    n = shift = 0
    while True:
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
        if shift > 63:
            raise NotRead("a varint of more than 10 bytes")
    if n >> 64:
        raise NotRead("a varint of more than 64 bits")
    return (n >> 1) ^ -(n & 1), pos


def _size(data: bytes, pos: int) -> tuple[int, int]:
    """A length or a block count (a varint that is not negative) and the position after it.

    >>> _size(b"\\x80\\x01", 0)
    (64, 2)
    """
    n, pos = _varint(data, pos)
    if n < 0:
        raise NotRead("a negative length or count")
    return n, pos


def compile_reader(schema: Any) -> RecordReader | None:
    """A reader of ``schema`` (a fastavro-parsed record schema), or None when it uses a
    construct this module does not compile (see the module docstring). The reader raises
    :class:`NotRead` (or ``IndexError``, ``struct.error``, ``UnicodeDecodeError``) for bytes
    it leaves to fastavro.

    >>> from fastavro import parse_schema
    >>> read = compile_reader(parse_schema({"type": "record", "name": "r", "fields": [
    ...     {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"]}},
    ...     {"name": "xs", "type": {"type": "array", "items": "string"}}]}))
    >>> read(b"\\x02\\x02\\x04\\xc3\\xa9\\x00", 0)
    ({'e': 'B', 'xs': ['é']}, 6)
    >>> read(b"\\x04\\x00", 0)
    Traceback (most recent call last):
    ...
    pipeline.serde.reader.NotRead: enum index
    """
    named = dict(schema.get("__named_schemas", {})) if isinstance(schema, dict) else {}
    if not isinstance(schema, dict) or schema.get("type") != "record":
        return None
    source = _Source(named)
    lines = ["def read_record(d, p):"]
    try:
        result = source.value(schema, lines, 1)
    except _Unsupported:
        return None
    lines.append(f"    return {result}, p")
    exec(compile("\n".join(lines) + "\n", "<pipeline.serde.reader>", "exec"), source.namespace)
    reader: RecordReader = source.namespace["read_record"]
    return reader


class _Source:
    """The source of one schema's reader: one function, each value read into a variable of
    its own (``x0`` ...); the constants it uses (enum symbols) are names of the namespace it
    is compiled in."""

    def __init__(self, named: Mapping[str, Any]) -> None:
        self.named = named
        self.namespace: dict[str, Any] = {
            "_NR": NotRead, "_varint": _varint, "_size": _size,
            "_double": struct.Struct("<d").unpack_from, "_float": struct.Struct("<f").unpack_from,
            "_MINI": _MIN_INT, "_MAXI": _MAX_INT,
        }
        self.variables = 0
        #: The records being read (a record within itself is not compiled).
        self.open: set[str] = set()

    def variable(self) -> str:
        self.variables += 1
        return f"x{self.variables}"

    def constant(self, value: Any) -> str:
        name = f"_c{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def value(self, schema: Any, lines: list[str], indent: int) -> str:
        """Lines reading a value of ``schema`` at ``p`` (moving ``p`` past it); the name of
        the variable it is in (or a literal)."""
        pad = "    " * indent
        if isinstance(schema, str):
            if schema == "null":
                return "None"
            if schema in ("string", "bytes"):
                x = self.variable()
                lines += [f"{pad}{x} = d[p]",
                          f"{pad}if {x} < 128 and not {x} & 1:",
                          f"{pad}    {x} >>= 1",
                          f"{pad}    p += 1",
                          f"{pad}else:",
                          f"{pad}    {x}, p = _size(d, p)",
                          f"{pad}e = p + {x}",
                          f"{pad}if e > len(d):",
                          f"{pad}    raise _NR('the bytes end before the string')",
                          f"{pad}{x} = d[p:e].decode()" if schema == "string"
                          else f"{pad}{x} = d[p:e]",
                          f"{pad}p = e"]
                return x
            if schema in ("long", "int"):
                x = self.variable()
                lines += [f"{pad}{x} = d[p]",
                          f"{pad}if {x} < 128:",
                          f"{pad}    {x} = ({x} >> 1) ^ -({x} & 1)",
                          f"{pad}    p += 1",
                          f"{pad}else:",
                          f"{pad}    {x}, p = _varint(d, p)"]
                if schema == "int":
                    lines += [f"{pad}    if not _MINI <= {x} <= _MAXI:",
                              f"{pad}        raise _NR('an int out of range')"]
                return x
            if schema in ("double", "float"):
                x = self.variable()
                size = 8 if schema == "double" else 4
                lines += [f"{pad}{x}, = _{schema}(d, p)",
                          f"{pad}p += {size}"]
                return x
            if schema == "boolean":
                x = self.variable()
                lines += [f"{pad}{x} = d[p]",
                          f"{pad}p += 1",
                          f"{pad}if {x} == 1:",
                          f"{pad}    {x} = True",
                          f"{pad}elif {x} == 0:",
                          f"{pad}    {x} = False",
                          f"{pad}else:",
                          f"{pad}    raise _NR('a boolean byte')"]
                return x
            if schema in self.named:
                return self.value(self.named[schema], lines, indent)
            raise _Unsupported(schema)
        if isinstance(schema, list):
            return self.union(schema, lines, indent)
        if not isinstance(schema, dict) or "logicalType" in schema:
            raise _Unsupported(repr(schema)[:80])
        kind = schema.get("type")
        if kind == "record":
            return self.record(schema, lines, indent)
        if kind == "enum":
            x = self.variable()
            # A symbol's index < 64 is one byte: its zig-zag value is twice the index.
            symbols = self.constant({2 * i: s for i, s in enumerate(schema["symbols"][:64])})
            lines += [f"{pad}{x} = {symbols}.get(d[p])",
                      f"{pad}if {x} is None:",
                      f"{pad}    raise _NR('enum index')",
                      f"{pad}p += 1"]
            return x
        if kind in ("map", "array"):
            return self.blocks(schema, lines, indent)
        raise _Unsupported(repr(kind))

    def record(self, schema: dict[str, Any], lines: list[str], indent: int) -> str:
        name = str(schema["name"])
        if name in self.open:
            raise _Unsupported(f"recursive record {name}")
        self.open.add(name)
        values = [(spec["name"], self.value(spec["type"], lines, indent))
                  for spec in schema["fields"]]
        self.open.discard(name)
        x = self.variable()
        items = ", ".join(f"{field!r}: {value}" for field, value in values)
        lines.append(f"{'    ' * indent}{x} = {{{items}}}")
        return x

    def union(self, branches: list[Any], lines: list[str], indent: int) -> str:
        """The branch of the index (one byte: fewer than 64 branches are read)."""
        pad, x = "    " * indent, self.variable()
        lines += [f"{pad}{x} = d[p]",
                  f"{pad}p += 1"]
        for i, branch in enumerate(branches[:64]):
            lines.append(f"{pad}{'if' if i == 0 else 'elif'} {x} == {2 * i}:")
            value = self.value(branch, lines, indent + 1)
            lines.append(f"{pad}    {x} = {value}")
        lines += [f"{pad}else:",
                  f"{pad}    raise _NR('union index')"]
        return x

    def blocks(self, schema: dict[str, Any], lines: list[str], indent: int) -> str:
        """A map's or an array's blocks, each a count and as many items, until a count 0."""
        pad, x, count = "    " * indent, self.variable(), self.variable()
        is_map = schema["type"] == "map"
        lines += [f"{pad}{x} = {{}}" if is_map else f"{pad}{x} = []",
                  f"{pad}{count}, p = _size(d, p)",
                  f"{pad}while {count}:",
                  f"{pad}    for _ in range({count}):"]
        if is_map:
            key = self.value("string", lines, indent + 2)
            value = self.value(schema["values"], lines, indent + 2)
            lines.append(f"{pad}        {x}[{key}] = {value}")
        else:
            item = self.value(schema["items"], lines, indent + 2)
            lines.append(f"{pad}        {x}.append({item})")
        lines.append(f"{pad}    {count}, p = _size(d, p)")
        return x
