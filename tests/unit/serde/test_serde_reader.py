"""The codec's compiled Avro readers (pipeline/serde/reader.py) change no answer: for every
registered schema they compile, :meth:`Codec.decode` returns what fastavro read before
them, or raises the same error (class and message), on generated records and on random,
truncated and corrupted bytes; and a compiled reader that answers at all answers as
fastavro does (same values, same types, same float bits, same key order, same end)."""

from __future__ import annotations

import io
import json
import re
import shutil
import struct
from pathlib import Path
from typing import Any

import pytest
from fastavro import schemaless_reader, schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.serde import Codec, SchemaRegistry
from pipeline.serde.evolution import freeze_versions
from pipeline.serde.reader import compile_reader
from pipeline.settings import PROJECT_ROOT
from tests.strategies import click_events
from tests.unit.serde.test_serde_writer import _valid

CODEC = Codec.default()
BEFORE = Codec(CODEC.registry, compiled_readers=False)  # the codec as it was: fastavro
NAMES = sorted({schema.short_name for schema in CODEC.registry})
COMPILED = [n for n in NAMES if compile_reader(CODEC.registry.current(n).parsed) is not None]
HEADER = 10
SCHEMAS = PROJECT_ROOT / "schemas"


def _canonical(value: Any) -> Any:
    """``value`` with its types, float bits and key order spelled out (NaN == NaN)."""
    if isinstance(value, dict):
        return ("dict", [(k, _canonical(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_canonical(v) for v in value])
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))
    return (type(value).__name__, value)


def _answer(codec: Codec, data: bytes) -> Any:
    try:
        return _canonical(codec.decode(data))
    except Exception as exc:
        return (type(exc), re.sub(" at 0x[0-9a-f]+", "", str(exc)))  # (a BytesIO's address)


def _body(name: str, record: Any) -> bytes:
    buf = io.BytesIO()
    schemaless_writer(buf, CODEC.registry.current(name).parsed, record)
    return buf.getvalue()


def test_the_worker_s_inputs_are_compiled() -> None:
    assert {"ClickEvent", "Outcome", "ProfileUpdate"} <= set(COMPILED)


@settings(max_examples=20, deadline=None)
@given(event=click_events())
def test_the_reference_codec_reads_with_fastavro_only(event: dict[str, Any]) -> None:
    """A codec like BEFORE, the reference of the tests below, never compiles a reader."""
    message = CODEC.encode("ClickEvent", event)
    expected = _canonical(CODEC.decode(message))  # with the compiled reader, outside the patch

    def refuse(parsed: Any) -> None:
        raise AssertionError("compiled_readers=False compiled a reader")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("pipeline.serde.codec.compile_reader", refuse)
        fastavro_only = Codec(CODEC.registry, compiled_readers=False)
        assert _canonical(fastavro_only.decode(message)) == expected


@pytest.mark.parametrize("name", COMPILED)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_valid_records_read_as_fastavro_reads_them(name: str, data: st.DataObject) -> None:
    parsed = CODEC.registry.current(name).parsed
    record = data.draw(_valid(parsed, dict(parsed.get("__named_schemas", {})), 0, False))
    message = CODEC.encode(name, record)
    body = message[HEADER:]
    read = compile_reader(parsed)
    assert read is not None
    got, end = read(message, HEADER)  # written by a writer: read, not left to fastavro
    assert end == len(message)
    assert _canonical(got) == _canonical(schemaless_reader(io.BytesIO(body), parsed))
    assert _answer(CODEC, message) == _answer(BEFORE, message)


@pytest.mark.parametrize("name", COMPILED)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_messages_get_the_same_answer(name: str, data: st.DataObject) -> None:
    """Truncated, cut short, extended, corrupted or random bodies behind the schema's
    header: the same record or the same error as fastavro's."""
    parsed = CODEC.registry.current(name).parsed
    record = data.draw(_valid(parsed, dict(parsed.get("__named_schemas", {})), 0, False))
    message = CODEC.encode(name, record)
    how = data.draw(st.sampled_from(["cut", "flip", "insert", "append", "random"]))
    damaged = bytearray(message)
    if how == "cut":
        del damaged[data.draw(st.integers(HEADER, len(message))):]
    elif how == "flip" and len(message) > HEADER:
        for _ in range(data.draw(st.integers(1, 3))):
            at = data.draw(st.integers(HEADER, len(message) - 1))
            damaged[at] = data.draw(st.integers(0, 255))
    elif how == "insert":
        at = data.draw(st.integers(HEADER, len(message)))
        damaged[at:at] = data.draw(st.binary(min_size=1, max_size=4))
    elif how == "append":
        damaged += data.draw(st.binary(min_size=1, max_size=4))
    else:
        damaged[HEADER:] = data.draw(st.binary(max_size=200))
    damaged_bytes = bytes(damaged)
    assert _answer(CODEC, damaged_bytes) == _answer(BEFORE, damaged_bytes)
    read = compile_reader(parsed)
    assert read is not None
    try:
        got, end = read(damaged_bytes, HEADER)
    except Exception:
        return  # left to fastavro (the codec's answer is compared above)
    buf = io.BytesIO(damaged_bytes[HEADER:])
    assert _canonical(got) == _canonical(schemaless_reader(buf, parsed))
    assert end == HEADER + buf.tell()


@settings(max_examples=300, deadline=None)
@given(click_events())
def test_click_events_read_as_fastavro_reads_them(event: dict[str, Any]) -> None:
    message = CODEC.encode("ClickEvent", event, check=True)
    assert _answer(CODEC, message) == _answer(BEFORE, message)
    assert CODEC.decode(message, ("ClickEvent",)) == ("ClickEvent", event)


@pytest.mark.parametrize("varint", [
    b"\x81\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",  # 12 bytes
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f",  # 10 bytes, more than 64 bits
    b"\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # 10 bytes, the largest long
    b"\x80\x00",  # 0 in two bytes
    b"\x01",  # negative (a length: -1)
    b"\x7f",  # a length past the end
])
@pytest.mark.parametrize("where", ["length", "long"])
def test_odd_varints_get_fastavro_s_answer(varint: bytes, where: str) -> None:
    """An Outcome whose ``outcome_id`` length or ``event_time`` is an odd varint."""
    header = CODEC.encode("Outcome", {"outcome_id": "o", "decision_id": "d", "visitor_id": "v",
                                      "kind": "shown", "value": 0.0, "event_time": 1})[:HEADER]
    ids = b"\x02d\x02v\x00" + bytes(8)  # decision_id, visitor_id, kind, value
    if where == "length":
        message = header + varint + b"o" + ids + b"\x02\x0cserver"
    else:
        message = header + b"\x02o" + ids + varint + b"\x0cserver"
    assert _answer(CODEC, message) == _answer(BEFORE, message)


def test_a_message_written_with_an_older_schema_is_read_by_fastavro(tmp_path: Path) -> None:
    """Schema resolution (defaults, promotions) stays fastavro's: only messages written
    with the current schema are compiled."""
    record = {"outcome_id": "o", "decision_id": "d", "visitor_id": "v", "kind": "clicked",
              "value": 2.5, "event_time": 1_800_000_000_000, "reported_by": "server"}
    old_bytes = CODEC.encode("Outcome", record)
    directory = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, directory)
    schema = json.loads((directory / "Outcome.avsc").read_text())
    schema["fields"].append({"name": "channel", "type": "string", "default": "web"})
    (directory / "Outcome.avsc").write_text(json.dumps(schema))
    freeze_versions(SchemaRegistry.load(directory), directory)
    new_codec = Codec(SchemaRegistry.load(directory))
    assert new_codec.decode(old_bytes) == ("Outcome", {**record, "channel": "web"})
    assert new_codec._reader(CODEC.registry.current("Outcome").fingerprint)[3] is None
    new_bytes = new_codec.encode("Outcome", {**record, "channel": "app"})
    assert new_codec.decode(new_bytes) == ("Outcome", {**record, "channel": "app"})
    assert new_codec._reader(new_codec.registry.current("Outcome").fingerprint)[3] is not None


def test_bytes_like_messages_are_read_by_fastavro() -> None:
    message = CODEC.encode("Outcome", {"outcome_id": "o", "decision_id": "d", "visitor_id": "v",
                                       "kind": "shown", "value": 0.5, "event_time": 1})
    assert CODEC.decode(bytearray(message)) == CODEC.decode(message) == BEFORE.decode(message)
    assert _body("Outcome", CODEC.decode(message)[1]) == message[HEADER:]
