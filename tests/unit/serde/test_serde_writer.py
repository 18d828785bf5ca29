"""The compiled Avro writers (pipeline/serde/writer.py) write fastavro's bytes, and refuse
what fastavro refuses, for every registered schema they compile: on generated records,
mostly valid, some with a value of the wrong type or a field missing."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastavro import schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.serde import Codec
from pipeline.serde.writer import compile_writer

CODEC = Codec.default()
NAMES = sorted({schema.short_name for schema in CODEC.registry})
COMPILED = [n for n in NAMES if compile_writer(CODEC.registry.current(n).parsed) is not None]
ANYTHING = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                     st.floats(allow_nan=True), st.text(max_size=5), st.binary(max_size=3),
                     st.lists(st.integers(), max_size=2), st.just({}), st.just(("x", {})))


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
        return st.dictionaries(st.text(max_size=70), values(schema["values"], named, depth + 1, odd),
                               max_size=4)
    if kind == "array":
        return st.lists(values(schema["items"], named, depth + 1, odd), max_size=4)
    return _valid(kind, named, depth, odd)


def _fastavro(parsed: Any, record: Any) -> bytes | type[BaseException]:
    buf = io.BytesIO()
    try:
        schemaless_writer(buf, parsed, record)
    except Exception as exc:  # what is refused, not how
        return type(exc)
    return buf.getvalue()


#: One writer per schema for the whole run, as the codec keeps them: its map keys' cache
#: is then used across examples too.
WRITERS = {name: compile_writer(CODEC.registry.current(name).parsed) for name in COMPILED}


def _compiled(name: str, record: Any) -> bytes | type[BaseException]:
    write = WRITERS[name]
    assert write is not None
    try:
        return bytes(write(record))
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        return type(exc)


def test_the_worker_s_outputs_are_compiled() -> None:
    assert {"Decision", "DecisionLog", "LearningRecord", "StruggleSignal"} <= set(COMPILED)


@pytest.mark.parametrize("name", COMPILED)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_same_bytes_as_fastavro_and_the_same_refusals(name: str, data: st.DataObject) -> None:
    parsed = CODEC.registry.current(name).parsed
    named = dict(parsed.get("__named_schemas", {}))
    odd = data.draw(st.booleans())
    record = data.draw(_valid(parsed, named, 0, odd) | ANYTHING if odd
                       else _valid(parsed, named, 0, odd))
    expected, got = _fastavro(parsed, record), _compiled(name, record)
    if not odd:
        assert isinstance(expected, bytes), "a valid record"
    if isinstance(expected, bytes):
        assert got == expected
    else:
        assert not isinstance(got, bytes), f"fastavro refused it ({expected.__name__})"


def test_a_map_key_seen_before_is_written_the_same() -> None:
    parsed = CODEC.registry.current("LearningRecord").parsed
    label = {"session_id": "s", "numeric": {"page_views": 1.0, "clicks": 0.0},
             "categorical": {"device": "mobile", "é" * 70: "x"}, "converted": False}
    record = {"record_id": "r", "visitor_id": "v", "event_time": 5, "label": label}
    first = _compiled("LearningRecord", record)
    assert first == _compiled("LearningRecord", record) == _fastavro(parsed, record)
