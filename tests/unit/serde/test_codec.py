"""The single-object codec: header layout, round trips, parity with the avro package."""

from __future__ import annotations

import struct

import pytest
from fastavro.schema import fingerprint as fastavro_fingerprint

from pipeline.client.samples import sample_events
from pipeline.serde import (
    Codec,
    GarbageBytes,
    InvalidEvent,
    SchemaRegistry,
    TruncatedMessage,
    UnknownSchema,
    WrongSchema,
    crc64_avro,
)
from pipeline.serde.reference import ReferenceCodec

NOW = 1_800_000_000_000


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec.default()


def test_fingerprint_matches_fastavro_and_avro_for_every_schema(codec: Codec) -> None:
    import json

    import avro.schema

    for reg in codec.registry:
        ours = struct.pack("<Q", reg.fingerprint).hex()
        assert ours == fastavro_fingerprint(reg.canonical, "CRC-64-AVRO")
        assert ours == avro.schema.parse(json.dumps(reg.schema)).fingerprint("CRC-64-AVRO").hex()


def test_crc64_of_known_vectors() -> None:
    # The specification's seed is the fingerprint of the empty input; the "int" vector is the
    # one Avro's own test suites use (8f5c393f1ad57572 as little-endian bytes).
    assert crc64_avro(b"") == 0xC15D213AA4D7A795
    assert struct.pack("<Q", crc64_avro(b'"int"')).hex() == "8f5c393f1ad57572"


def test_header_is_marker_then_little_endian_fingerprint(codec: Codec) -> None:
    event = sample_events("v1", NOW)[0]
    data = codec.encode("ClickEvent", event)
    assert data[:2] == b"\xc3\x01"
    (fp,) = struct.unpack("<Q", data[2:10])
    assert fp == codec.registry.current("ClickEvent").fingerprint


@pytest.mark.parametrize("event", sample_events("visitor-7", NOW), ids=lambda e: e["event_type"])
def test_every_event_type_round_trips(codec: Codec, event: dict) -> None:
    name, back = codec.decode(codec.encode("ClickEvent", event, check=True), ("ClickEvent",))
    assert name == "ClickEvent"
    assert back == event


@pytest.mark.parametrize("event", sample_events("visitor-8", NOW), ids=lambda e: e["event_type"])
def test_fastavro_body_is_byte_identical_to_avro_package(codec: Codec, event: dict) -> None:
    reference = ReferenceCodec(codec.registry)
    body = codec.encode("ClickEvent", event)[10:]
    assert body == reference.encode_body("ClickEvent", event)
    assert reference.decode_body("ClickEvent", body) == event


def test_garbage_truncated_unknown_and_wrong_schema_are_told_apart(codec: Codec) -> None:
    good = codec.encode("ClickEvent", sample_events("v", NOW)[1])
    with pytest.raises(GarbageBytes):
        codec.decode(b"{json: true}")
    with pytest.raises(GarbageBytes):
        codec.decode(b"")
    with pytest.raises(TruncatedMessage):
        codec.decode(good[:5])
    with pytest.raises(TruncatedMessage):
        codec.decode(good[:-3])
    with pytest.raises(TruncatedMessage):
        codec.decode(good + b"\x00")
    with pytest.raises(UnknownSchema):
        codec.decode(b"\xc3\x01" + b"\x01" * 8 + good[10:])
    with pytest.raises(WrongSchema):
        codec.decode(good, expected=("Outcome",))


def test_encode_with_check_names_the_problem(codec: Codec) -> None:
    event = sample_events("v", NOW)[0]
    event["event_type"] = "teleport"
    with pytest.raises(InvalidEvent, match="ClickEvent"):
        codec.encode("ClickEvent", event, check=True)


def test_registry_lists_every_contract_of_the_design_guide() -> None:
    assert SchemaRegistry.load().names() == [
        "Answer", "ClickEvent", "DeadLetter", "Decision", "DecisionLog", "LearningRecord",
        "Outcome", "ProfileUpdate", "StruggleSignal",
    ]
