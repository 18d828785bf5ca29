"""Avro binary writers compiled once per schema, for the schemas the worker writes per event.

fastavro's ``schemaless_writer`` walks the schema at every record: for every value it
dispatches on the schema's type by name, and a union tries its branches in turn.
:func:`compile_writer` walks a parsed schema once and generates the Python source of a
writer for it: one function per record type, whose fields' checks and writes are inline
(no call per value: a DecisionLog has about a hundred), compiled once; map keys (the same
feature names every time) are encoded once and kept.

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

#: A compiled schema: the record's bytes (without the single-object header).
RecordWriter = Callable[[Any], bytearray]

_MIN_LONG, _MAX_LONG = -(2**63), 2**63 - 1
#: An int strictly between these converts to a double without overflow.
_MIN_DOUBLE_INT, _MAX_DOUBLE_INT = -(2**1023), 2**1023
_pack_double = struct.Struct("<d").pack
_BIG_ENDIAN = sys.byteorder == "big"
#: Map keys encoded once per map of a writer, at most this many (keys of other maps are
#: encoded each time once it is full).
_KEY_CACHE = 4096
#: Key sets of a map of doubles whose plan a writer keeps, at most (one per engine's
#: features in practice).
_KEY_SETS = 64
#: A map of doubles' writer: a packer, and its arguments with the values' places empty.
_Plan = tuple[Callable[..., bytes], list[Any]]


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


def _string_bytes(value: Any) -> bytes:
    """A string's length and UTF-8 bytes (a map key's: kept by the writer).

    >>> _string_bytes("é")
    b'\\x04\\xc3\\xa9'
    """
    if type(value) is not str:
        raise _not_compiled(value, "string")
    try:
        data = value.encode()
    except UnicodeEncodeError:  # a lone surrogate
        raise _not_compiled(value, "string") from None
    return _long_bytes(len(data)) + data


def _new_key(keys: dict[str, bytes], key: Any) -> bytes:
    """A map key (or a map's string value) not seen before (or not a string: refused):
    encoded, kept while there is room."""
    encoded = _string_bytes(key)
    if len(keys) < _KEY_CACHE:
        keys[key] = encoded
    return encoded


def _double_map_plan(plans: dict[tuple[Any, ...], _Plan], keys: tuple[Any, ...]) -> _Plan | None:
    """How a map of doubles with ``keys`` (in this order, all strings) is written: a
    ``struct`` packer of its count, each key's bytes and value, and its end, and the
    packer's arguments with the values' places empty (None: a key is not a string). Its
    doubles are converted as fastavro's writer converts each (``PyFloat_AsDouble``), and
    a value that does not convert raises ``struct.error``. A key equal to a string key of
    a plan (a ``str`` subclass) is written as that string: as fastavro writes it. Kept
    for the next map with the same keys, up to :data:`_KEY_SETS` plans.

    >>> plans = {}; pack, args = _double_map_plan(plans, ("a", "b"))
    >>> args[2::2] = (1.0, 2); pack(*args)[:12], tuple(plans)
    (b'\\x04\\x02a\\x00\\x00\\x00\\x00\\x00\\x00\\xf0?\\x02', (('a', 'b'),))
    """
    if not all(type(key) is str for key in keys):
        return None
    try:
        encoded = [_string_bytes(key) for key in keys]
    except NotCompiled:  # a lone surrogate
        return None
    count = _long_bytes(len(keys))
    template: list[Any] = [count]
    for key in encoded:
        template += (key, None)
    plan = (struct.Struct("<" + f"{len(count)}s"
                          + "".join(f"{len(key)}sd" for key in encoded) + "x").pack, template)
    if len(plans) < _KEY_SETS:
        plans[keys] = plan
    return plan


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
        n = len(value)
        out += bytes((n << 1,)) if n < 64 else _long_bytes(n)
        out += doubles.tobytes()
    out.append(0)


def compile_writer(schema: Any) -> RecordWriter | None:
    """A writer of ``schema`` (a fastavro-parsed schema), or None when it uses a construct
    this module does not compile (see the module docstring). The writer raises
    :class:`NotCompiled` for a record it leaves to fastavro.

    >>> from fastavro import parse_schema
    >>> write = compile_writer(parse_schema({"type": "record", "name": "r", "fields": [
    ...     {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"]}},
    ...     {"name": "xs", "type": {"type": "array", "items": "string"}, "default": []}]}))
    >>> bytes(write({"e": "B", "xs": ["é"]})), bytes(write({"e": "A"}))
    (b'\\x02\\x02\\x04\\xc3\\xa9\\x00', b'\\x00\\x00')
    """
    named = dict(schema.get("__named_schemas", {})) if isinstance(schema, dict) else {}
    if not isinstance(schema, dict) or schema.get("type") != "record":
        return None
    source = _Source(named)
    try:
        root = source.record(schema, root=True)
    except _Unsupported:
        return None
    return source.build(root)


class _Source:
    """The source of one schema's writer: a function per record type (``_r0`` ...), each
    writing its fields' values inline; the constants they use (defaults, enum symbols' and
    map keys' bytes) are names of the namespace it is compiled in."""

    def __init__(self, named: Mapping[str, Any]) -> None:
        self.named = named
        self.namespace: dict[str, Any] = {
            "_NC": NotCompiled, "_nc": _not_compiled, "_lb": _long_bytes,
            "_pd": _pack_double, "_new_key": _new_key, "_wda": _write_double_array,
            "_MINL": _MIN_LONG, "_MAXL": _MAX_LONG,
            "_MIND": _MIN_DOUBLE_INT, "_MAXD": _MAX_DOUBLE_INT,
            "_UEE": UnicodeEncodeError, "_SE": struct.error,
            "_double_map_plan": _double_map_plan, "_string_bytes": _string_bytes,
        }
        self.functions: list[str] = []
        #: Record full names -> their function's name (a recursive reference calls it).
        self.records: dict[str, str] = {}

    def constant(self, value: Any) -> str:
        name = f"_c{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def build(self, root: str) -> RecordWriter:
        source = "\n\n".join([*self.functions, (
            "def record_bytes(record):\n"
            "    out = bytearray()\n"
            f"    {root}(out, record)\n"
            "    return out\n")])
        exec(compile(source, "<pipeline.serde.writer>", "exec"), self.namespace)
        writer: RecordWriter = self.namespace["record_bytes"]
        return writer

    def record(self, schema: dict[str, Any], root: bool = False) -> str:
        """Each field's value, or its default when it is missing (a missing field without a
        default is left to fastavro). Only the top record's fields may be a union of null
        and a record (the ones the codec names for fastavro)."""
        function = f"_r{len(self.records)}"
        self.records[str(schema["name"])] = function
        lines = [f"def {function}(out, value):",
                 "    if type(value) is not dict:",
                 "        raise _nc(value, 'record')"]
        for spec in schema["fields"]:
            name = spec["name"]
            lines.append("    try:")
            lines.append(f"        v0 = value[{name!r}]")
            lines.append("    except KeyError:")
            if "default" in spec:
                lines.append(f"        v0 = {self.constant(spec.get('default'))}")
            else:
                lines.append(f"        raise _NC({f'no value and no default for {name}'!r})")
            kind = spec["type"]
            if isinstance(kind, list):
                self.union(kind, 0, lines, 1, named_record=root)
            else:
                self.value(kind, 0, lines, 1)
        self.functions.append("\n".join(lines) + "\n")
        return function

    def value(self, schema: Any, depth: int, lines: list[str], indent: int) -> None:
        """Lines writing the value in ``v<depth>``."""
        pad = "    " * indent
        v = f"v{depth}"
        if isinstance(schema, str):
            if schema == "null":
                lines += [f"{pad}if {v} is not None:",
                          f"{pad}    raise _nc({v}, 'null')"]
            elif schema == "boolean":
                lines += [f"{pad}if {v} is True:",
                          f"{pad}    out.append(1)",
                          f"{pad}elif {v} is False:",
                          f"{pad}    out.append(0)",
                          f"{pad}else:",
                          f"{pad}    raise _nc({v}, 'boolean')"]
            elif schema == "long":
                lines += [f"{pad}if type({v}) is not int:",
                          f"{pad}    raise _nc({v}, 'long')",
                          f"{pad}if 0 <= {v} < 64:",
                          f"{pad}    out.append({v} << 1)",
                          f"{pad}elif _MINL <= {v} <= _MAXL:",
                          f"{pad}    out += _lb({v})",
                          f"{pad}else:",
                          f"{pad}    raise _nc({v}, 'long')"]
            elif schema == "double":
                lines += [f"{pad}if type({v}) is float:",
                          f"{pad}    out += _pd({v})",
                          f"{pad}elif type({v}) is int and _MIND < {v} < _MAXD:",
                          f"{pad}    out += _pd(float({v}))",
                          f"{pad}else:",
                          f"{pad}    raise _nc({v}, 'double')"]
            elif schema == "string":
                b, n = f"b{depth}", f"n{depth}"
                lines += [f"{pad}if type({v}) is not str:",
                          f"{pad}    raise _nc({v}, 'string')",
                          f"{pad}try:",
                          f"{pad}    {b} = {v}.encode()",
                          f"{pad}except _UEE:  # a lone surrogate",
                          f"{pad}    raise _nc({v}, 'string') from None",
                          f"{pad}{n} = len({b})",
                          f"{pad}if {n} < 64:",
                          f"{pad}    out.append({n} << 1)",
                          f"{pad}else:",
                          f"{pad}    out += _lb({n})",
                          f"{pad}out += {b}"]
            elif schema in self.records:  # a record met before (a recursive reference)
                lines.append(f"{pad}{self.records[schema]}(out, {v})")
            elif schema in self.named:
                self.value(self.named[schema], depth, lines, indent)
            else:
                raise _Unsupported(schema)
            return
        if isinstance(schema, list):
            self.union(schema, depth, lines, indent)
            return
        if not isinstance(schema, dict) or "logicalType" in schema:
            raise _Unsupported(repr(schema)[:80])
        kind = schema.get("type")
        if kind == "record":
            lines.append(f"{pad}{self.record(schema)}(out, {v})")
        elif kind == "enum":
            symbols = self.constant({symbol: _long_bytes(i)
                                     for i, symbol in enumerate(schema["symbols"])})
            b = f"b{depth}"
            lines += [f"{pad}{b} = {symbols}.get({v}) if type({v}) is str else None",
                      f"{pad}if {b} is None:",
                      f"{pad}    raise _nc({v}, 'enum')",
                      f"{pad}out += {b}"]
        elif kind == "map" and schema["values"] == "double":
            self.double_map(depth, lines, indent)
        elif kind == "map":
            keys = self.constant({})
            k, item, n = f"k{depth}", f"v{depth + 1}", f"n{depth}"
            lines += [f"{pad}if type({v}) is not dict:",
                      f"{pad}    raise _nc({v}, 'map')",
                      f"{pad}if {v}:",
                      f"{pad}    {n} = len({v})",
                      f"{pad}    if {n} < 64:",
                      f"{pad}        out.append({n} << 1)",
                      f"{pad}    else:",
                      f"{pad}        out += _lb({n})",
                      f"{pad}    for {k}, {item} in {v}.items():",
                      f"{pad}        out += ({keys}.get({k}) if type({k}) is str else None)"
                      f" or _new_key({keys}, {k})"]
            if schema["values"] == "string":  # a few values, again and again: kept too
                strings = self.constant({})
                lines.append(f"{pad}        out += ({strings}.get({item}) if type({item}) is str"
                             f" else None) or _new_key({strings}, {item})")
            else:
                self.value(schema["values"], depth + 1, lines, indent + 2)
            lines.append(f"{pad}out.append(0)")
        elif kind == "array":
            if schema["items"] == "double":
                lines.append(f"{pad}_wda(out, {v})")
                return
            item, n = f"v{depth + 1}", f"n{depth}"
            lines += [f"{pad}if type({v}) is not list and type({v}) is not tuple:",
                      f"{pad}    raise _nc({v}, 'array')",
                      f"{pad}if {v}:",
                      f"{pad}    {n} = len({v})",
                      f"{pad}    if {n} < 64:",
                      f"{pad}        out.append({n} << 1)",
                      f"{pad}    else:",
                      f"{pad}        out += _lb({n})",
                      f"{pad}    for {item} in {v}:"]
            self.value(schema["items"], depth + 1, lines, indent + 2)
            lines.append(f"{pad}out.append(0)")
        else:
            raise _Unsupported(repr(kind))

    def double_map(self, depth: int, lines: list[str], indent: int) -> None:
        """A map of doubles (a decision's numeric features): its keys, in their order, name
        a plan that writes it whole in one ``struct`` call (:func:`_double_map_plan`)."""
        plans = self.constant({})
        pad, v, plan, args = "    " * indent, f"v{depth}", f"p{depth}", f"a{depth}"
        lines += [f"{pad}if type({v}) is not dict:",
                  f"{pad}    raise _nc({v}, 'map')",
                  f"{pad}if not {v}:",
                  f"{pad}    out.append(0)",
                  f"{pad}elif ({plan} := {plans}.get(tuple({v}))"
                  f" or _double_map_plan({plans}, tuple({v}))) is not None:",
                  f"{pad}    {args} = {plan}[1].copy()",
                  f"{pad}    {args}[2::2] = {v}.values()",
                  f"{pad}    try:",
                  f"{pad}        out += {plan}[0](*{args})",
                  f"{pad}    except _SE:  # a value that is not a number",
                  f"{pad}        raise _nc({v}, 'map of doubles') from None",
                  f"{pad}else:  # a key that is not a string",
                  f"{pad}    raise _nc({v}, 'map')"]

    def union(self, branches: list[Any], depth: int, lines: list[str], indent: int,
              named_record: bool = False) -> None:
        """``["null", T]`` only: None is the null branch; a value ``T`` compiles is ``T``'s
        (a ``dict`` for a record: what the codec named for fastavro, which then writes it
        without trying the branches, :func:`pipeline.serde.codec._name_branches`)."""
        if len(branches) != 2 or branches[0] != "null":
            raise _Unsupported(repr(branches)[:80])
        other = branches[1]
        target = self.named.get(other, other) if isinstance(other, str) else other
        is_record = isinstance(target, dict) and target.get("type") == "record"
        if other != "string" and not (is_record and named_record):
            raise _Unsupported(repr(other)[:80])  # fastavro's choice by value type: not here
        pad, v = "    " * indent, f"v{depth}"
        lines += [f"{pad}if {v} is None:",
                  f"{pad}    out.append(0)",
                  f"{pad}elif type({v}) is {'str' if other == 'string' else 'dict'}:",
                  f"{pad}    out.append(2)"]
        self.value(other, depth, lines, indent + 1)
        lines += [f"{pad}else:",
                  f"{pad}    raise _nc({v}, 'union')"]
