"""Events produced with the SDK come back decoded and equal, for every event type."""

from __future__ import annotations

import time

from pipeline.client import EventProducer, RecordConsumer, sample_events
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import EVENTS, OUTCOMES
from tests.integration.kafka_reader import read_topic


def test_every_event_type_round_trips_through_the_broker(topics: Settings) -> None:
    now = int(time.time() * 1000)
    events = [e for v in range(3) for e in sample_events(f"visitor-{v}", now)]
    with EventProducer(topics) as producer:
        for event in events:
            producer.send_event(event)
    assert producer.stats.delivered == len(events) and producer.stats.failed == 0

    consumer = RecordConsumer(topics, [topics.topic(EVENTS)], ("ClickEvent",), "rt-test")
    received = []
    deadline = time.monotonic() + 30
    while len(received) < len(events) and time.monotonic() < deadline:
        received.extend(consumer.poll(timeout=0.5))
    consumer.close()

    by_id = {r.record["event_id"]: r for r in received}
    assert sorted(by_id) == sorted(e["event_id"] for e in events)
    for event in events:
        got = by_id[event["event_id"]]
        assert got.record == event
        assert got.key == event["visitor_id"].encode()  # keyed by visitor
    # One visitor's events share a partition, in order.
    for v in range(3):
        mine = [r for r in received if r.record["visitor_id"] == f"visitor-{v}"]
        assert len({r.partition for r in mine}) == 1
        assert [r.record["event_time"] for r in mine] == sorted(r.record["event_time"]
                                                                for r in mine)


def test_outcomes_and_profile_updates_use_their_topics(topics: Settings) -> None:
    now = int(time.time() * 1000)
    outcome = {"outcome_id": "o1", "decision_id": "d1", "visitor_id": "v1", "kind": "clicked",
               "value": 0.0, "event_time": now}
    with EventProducer(topics) as producer:
        producer.send_outcome(outcome)
        producer.send_profile_update({
            "update_id": "u1", "kind": "consent", "visitor_id": "v1", "user_id": None,
            "event_time": now, "traits": {}, "consent": {"personalization": False,
                                                         "analytics": True}})
    (msg,) = read_topic(topics, topics.topic(OUTCOMES), 1)
    # written without reported_by (Outcome v2): read back with its default
    assert Codec.default().decode(msg.value()) == ("Outcome", {**outcome,
                                                               "reported_by": "server"})


def test_the_sdk_produces_a_user_id_only_as_its_pseudonym(topics: Settings) -> None:
    """Issue 12: the SDK replaces a user id (an e-mail here) by its keyed pseudonym before
    anything is produced: an event's ``user_id``, a profile update's ``user_id`` and its
    key; the e-mail's bytes are on neither topic, the pseudonym is, both ways."""
    from pipeline.profiles import resolve_pseudonyms
    from pipeline.topics import PROFILES

    now = int(time.time() * 1000)
    email = f"ann.{now}@example.com"
    pseudonym = resolve_pseudonyms(topics).of(email)
    event = {**sample_events("v-sdk", now)[0], "user_id": email}
    with EventProducer(topics) as producer:
        producer.send_event(event)
        producer.send_profile_update({
            "update_id": "u-sdk", "kind": "identify", "visitor_id": "v-sdk", "user_id": email,
            "event_time": now, "traits": {"loyalty_tier": "gold"}, "consent": None})
    (on_events,) = read_topic(topics, topics.topic(EVENTS), 1)
    (on_profiles,) = read_topic(topics, topics.topic(PROFILES), 1)
    codec = Codec.default()
    assert codec.decode(on_events.value())[1] == {**event, "user_id": pseudonym}
    assert on_profiles.key() == pseudonym.encode()
    assert codec.decode(on_profiles.value())[1]["user_id"] == pseudonym
    for msg in (on_events, on_profiles):
        assert email.encode() not in (msg.key() or b"") + (msg.value() or b"")
