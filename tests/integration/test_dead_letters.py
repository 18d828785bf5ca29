"""Each kind of bad input lands in the DLQ with its reason; good events around it flow."""

from __future__ import annotations

import time

from pipeline.client import EventProducer, RecordConsumer, sample_events
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import EVENTS
from tests.integration.kafka_reader import read_topic


def test_bad_messages_are_dead_lettered_with_reasons_and_good_ones_flow(topics: Settings) -> None:
    codec = Codec.default()
    now = int(time.time() * 1000)
    good = sample_events("good-visitor", now)
    template = sample_events("bad-visitor", now)[5]  # add_to_cart

    def variant(**changes: object) -> bytes:
        event = {**template, **{k: v for k, v in changes.items() if "__" not in k}}
        if "cart__value" in changes:
            event["cart"] = {**template["cart"], "value": changes["cart__value"]}
        return codec.encode("ClickEvent", event)

    bad = {
        "garbage": b"\x00\x01 definitely not avro",
        "truncated": variant()[:-6],
        "unknown_schema": b"\xc3\x01" + bytes(8) + b"\x00\x00",
        "wrong_schema": codec.encode("Outcome", {
            "outcome_id": "o", "decision_id": "d", "visitor_id": "v", "kind": "shown",
            "value": 0.0, "event_time": now}),
        "invalid:missing visitor": variant(visitor_id=""),
        "invalid:future": variant(event_time=now + 24 * 3_600_000),
        "invalid:negative": variant(cart__value=-1.0),
    }
    topic = topics.topic(EVENTS)
    with EventProducer(topics, codec) as producer:
        for i, event in enumerate(good):
            producer.send_event(event)
            if i < len(bad):
                producer.produce_raw(topic, list(bad.values())[i], b"good-visitor")

    consumer = RecordConsumer(topics, [topic], ("ClickEvent",), "dlq-test")
    received = []
    deadline = time.monotonic() + 30
    while len(received) < len(good) and time.monotonic() < deadline:
        received.extend(consumer.poll(timeout=0.5))
    consumer.close()
    assert [r.record for r in received] == good  # every good event, in order, nothing else

    letters = [codec.decode(m.value(), ("DeadLetter",))[1]
               for m in read_topic(topics, f"{topic}.dlq", len(bad))]
    assert len(letters) == len(bad)
    by_value = {bytes(letter["original_value"]): letter for letter in letters}
    for label, raw in bad.items():
        letter = by_value[raw]
        assert letter["error_class"] == label.split(":")[0]
        assert letter["source_topic"] == topic
        assert letter["source_offset"] >= 0
        assert letter["original_key"] == b"good-visitor"
    assert "in the future" in by_value[bad["invalid:future"]]["error_message"]
    assert "visitor_id" in by_value[bad["invalid:missing visitor"]]["error_message"]
    assert "negative" in by_value[bad["invalid:negative"]]["error_message"]
