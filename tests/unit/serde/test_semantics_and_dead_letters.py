"""Meaning checks and the dead-letter envelope, per kind of bad input."""

from __future__ import annotations

import pytest

from pipeline.client.samples import sample_events
from pipeline.serde import Codec, MessageGate, Rejected

NOW = 1_800_000_000_000


@pytest.fixture(scope="module")
def gate() -> MessageGate:
    return MessageGate(Codec.default(), ("ClickEvent",), worker="unit")


def _admit(gate: MessageGate, data: bytes) -> Rejected:
    result = gate.admit(data, key=b"k", topic="clickstream.events", partition=3, offset=42,
                        now_ms=NOW)
    assert isinstance(result, Rejected)
    return result


def _encoded(**changes: object) -> bytes:
    event = sample_events("v1", NOW)[5]  # add_to_cart
    for dotted, value in changes.items():
        target = event
        *path, last = dotted.split("__")
        for part in path:
            target = target[part]
        target[last] = value
    return Codec.default().encode("ClickEvent", event)


@pytest.mark.parametrize(("data", "reason", "message"), [
    (b"\x00garbage", "garbage", "marker"),
    (_encoded()[:-4], "truncated", "ended early"),
    (b"\xc3\x01\xff\xff\xff\xff\xff\xff\xff\xff" + b"\x02", "unknown_schema", "fingerprint"),
    (_encoded(visitor_id=""), "invalid", "visitor_id is missing"),
    (_encoded(event_time=NOW + 3_600_000), "invalid", "in the future"),
    (_encoded(cart__value=-5.0), "invalid", "must not be negative"),
    (_encoded(event_time=1_700_000), "invalid", "epoch milliseconds"),
], ids=["garbage", "truncated", "unknown", "no-visitor", "future", "negative", "seconds"])
def test_each_kind_of_bad_input_has_its_reason(gate: MessageGate, data: bytes, reason: str,
                                               message: str) -> None:
    rejected = _admit(gate, data)
    letter = rejected.dead_letter
    assert rejected.dlq_topic == "clickstream.events.dlq"
    assert letter["error_class"] == reason
    assert message in letter["error_message"]
    assert (letter["original_value"], letter["original_key"]) == (data, b"k")
    assert (letter["source_partition"], letter["source_offset"]) == (3, 42)
    assert letter["worker"] == "unit"
    Codec.default().validate("DeadLetter", letter)


def test_rejections_are_counted_per_topic_and_reason() -> None:
    gate = MessageGate(Codec.default(), ("ClickEvent",))
    for _ in range(3):
        _admit(gate, b"junk")
    assert gate.counts[("clickstream.events", "garbage")] == 3


def test_a_type_without_its_payload_is_invalid(gate: MessageGate) -> None:
    event = sample_events("v1", NOW)[1]
    event["click"] = None
    rejected = _admit(gate, Codec.default().encode("ClickEvent", event))
    assert "must carry its 'click' record" in rejected.dead_letter["error_message"]
