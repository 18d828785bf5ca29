"""The codec's compiled Avro writers (pipeline/serde/writer.py) change no byte: for every
registered schema they compile, :meth:`Codec.encode` writes what the codec wrote before
them (fastavro, with the top record's sub-records named) and refuses what it refused, on
generated records (valid ones, and ones with values of other types or fields missing);
and valid records are written by the compiled writer itself, not left to fastavro."""

from __future__ import annotations

import io
from collections import OrderedDict
from decimal import Decimal
from typing import Any

import pytest
from fastavro import schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.serde import Codec
from pipeline.serde.codec import _name_branches, _record_unions
from pipeline.serde.writer import NotCompiled, compile_writer

CODEC = Codec.default()
NAMES = sorted({schema.short_name for schema in CODEC.registry})
COMPILED = [n for n in NAMES if compile_writer(CODEC.registry.current(n).parsed) is not None]
#: One writer per schema for the whole run, as the codec keeps them: its map keys' cache
#: is then used across examples too.
WRITERS = {name: compile_writer(CODEC.registry.current(name).parsed) for name in COMPILED}
ANYTHING = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                     st.floats(allow_nan=True), st.text(max_size=5), st.binary(max_size=3),
                     st.lists(st.integers(), max_size=2), st.just({}), st.just(("x", {})),
                     st.sampled_from(["1.5", "NaN", "7", "\ud800", "personalized"]),
                     st.just(Decimal("2.5")), st.just(OrderedDict(a=1)), st.just((1, 2)),
                     st.integers(2**62, 2**64), st.just(("string", "s")))


def values(schema: Any, named: dict[str, Any], depth: int, odd: bool) -> st.SearchStrategy[Any]:
    """Values for ``schema``: valid ones, or (``odd``) sometimes anything."""
    if not odd:
        return _valid(schema, named, depth, odd)
    return st.one_of(_valid(schema, named, depth, odd), ANYTHING) if depth < 4 else ANYTHING


def _valid(schema: Any, named: dict[str, Any], depth: int,
           odd: bool) -> st.SearchStrategy[Any]:
    if isinstance(schema, str):
        primitive = {"null": st.none(), "boolean": st.booleans(),
                     "long": st.integers(-(2**63), 2**63 - 1),
                     "int": st.integers(-(2**31), 2**31 - 1),
                     "double": st.floats(allow_nan=False) | st.integers(-(10**6), 10**6),
                     "float": st.floats(width=32, allow_nan=False),
                     "string": st.text(max_size=80), "bytes": st.binary(max_size=8)}
        if schema in primitive:
            return primitive[schema]
        return _valid(named[schema], named, depth, odd)
    if isinstance(schema, list):
        return st.one_of(*[values(branch, named, depth + 1, odd) for branch in schema])
    kind = schema["type"]
    if kind == "record":
        fields = {f["name"]: values(f["type"], named, depth + 1, odd) for f in schema["fields"]}
        if odd:  # any field may be missing
            return st.fixed_dictionaries({}, optional=fields) | st.fixed_dictionaries(fields)
        required = {f["name"] for f in schema["fields"]
                    if "default" not in f and "null" not in f["type"]}
        return st.fixed_dictionaries({k: v for k, v in fields.items() if k in required},
                                     optional={k: v for k, v in fields.items()
                                               if k not in required})
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind == "map":
        return st.dictionaries(st.text(max_size=70),
                               values(schema["values"], named, depth + 1, odd), max_size=4)
    if kind == "array":
        return st.lists(values(schema["items"], named, depth + 1, odd), max_size=4)
    return _valid(kind, named, depth, odd)


def _before(name: str, record: Any) -> bytes | type[BaseException]:
    """What the codec wrote before the compiled writers: fastavro, the top record's
    ``["null", record]`` values named (tuple notation)."""
    schema = CODEC.registry.current(name)
    buf = io.BytesIO()
    try:
        if isinstance(record, dict):
            record = _name_branches(record, _record_unions(schema.parsed))
        schemaless_writer(buf, schema.parsed, record)
    except Exception as exc:  # what is refused, not how
        return type(exc)
    return buf.getvalue()


#: The single-object header's length (marker and fingerprint).
HEADER = 10


def _now(name: str, record: Any) -> bytes | type[BaseException]:
    try:
        return CODEC.encode(name, record)[HEADER:]
    except Exception as exc:
        return type(exc)


def test_the_worker_s_outputs_are_compiled() -> None:
    assert {"Decision", "DecisionLog", "LearningRecord", "StruggleSignal"} <= set(COMPILED)
    assert {"ClickEvent", "DeadLetter"} - set(COMPILED)  # others stay fastavro's


@pytest.mark.parametrize("name", COMPILED)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_same_bytes_and_refusals_as_before(name: str, data: st.DataObject) -> None:
    parsed = CODEC.registry.current(name).parsed
    named = dict(parsed.get("__named_schemas", {}))
    odd = data.draw(st.booleans())
    record = data.draw(_valid(parsed, named, 0, odd) | ANYTHING if odd
                       else _valid(parsed, named, 0, odd))
    expected, got = _before(name, record), _now(name, record)
    if isinstance(expected, bytes):
        assert got == expected
    else:
        assert not isinstance(got, bytes), f"refused before ({expected.__name__})"
    if not odd:  # a valid record: written, and by the compiled writer
        assert isinstance(expected, bytes), "a valid record"
        write = WRITERS[name]
        assert write is not None
        try:
            compiled = bytes(write(record))
        except NotCompiled as exc:
            raise AssertionError(f"left to fastavro: {exc}") from None
        assert compiled == expected


def test_a_map_key_seen_before_is_written_the_same() -> None:
    label = {"session_id": "s", "numeric": {"page_views": 1.0, "clicks": 0.0},
             "categorical": {"device": "mobile", "é" * 70: "x"}, "converted": False}
    record = {"record_id": "r", "visitor_id": "v", "event_time": 5, "label": label}
    write = WRITERS["LearningRecord"]
    assert write is not None
    first = bytes(write(record))
    assert first == bytes(write(record)) == _before("LearningRecord", record)


class _Key(str):
    """A ``str`` subclass: equal to (and hashed as) its string."""


_DOUBLE_VALUES = st.one_of(st.floats(), st.integers(-(2**1100), 2**1100), st.booleans(),
                           st.just(Decimal("2.5")), st.text(max_size=2), st.none())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(maps=st.lists(st.dictionaries(
    st.sampled_from(["a", "b", "é", "x" * 70, _Key("a"), 1, "\ud800"]), _DOUBLE_VALUES,
    max_size=5), min_size=1, max_size=4))
def test_maps_of_doubles_are_written_as_fastavro_writes_them(maps: list[dict[Any, Any]]) -> None:
    """The numeric features map of a LearningRecord's label (a map of doubles, written whole
    per key set: the same plan for the same keys again, in any order, of any values)."""
    for numeric in maps:
        label = {"session_id": "s", "numeric": numeric, "categorical": {}, "converted": True}
        record = {"record_id": "r", "visitor_id": "v", "event_time": 5, "label": label}
        expected, got = _before("LearningRecord", record), _now("LearningRecord", record)
        if isinstance(expected, bytes):
            assert got == expected
        else:
            assert not isinstance(got, bytes), f"refused before ({expected.__name__})"


def test_a_map_of_doubles_with_more_key_sets_than_kept_is_written_the_same() -> None:
    from pipeline.serde.writer import _KEY_SETS

    write = compile_writer(CODEC.registry.current("LearningRecord").parsed)
    assert write is not None
    for n in range(_KEY_SETS + 3):
        numeric = {f"f{i}": float(i) for i in range(n % 7)} | {f"k{n}": 0.5}
        label = {"session_id": "s", "numeric": numeric, "categorical": {"c": f"v{n}"},
                 "converted": False}
        record = {"record_id": "r", "visitor_id": "v", "event_time": n, "label": label}
        assert bytes(write(record)) == _before("LearningRecord", record)
