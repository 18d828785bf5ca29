"""``rtp replay --topics`` leaves an erased person's records out (issue 12: decision-log
entries of an erased person become unlinkable; the erasure marks replay honours).

Two visitors' events, decision-log entries and outcomes on the real broker, an erasure
mark for one of them on ``privacy.erasures`` (as the profile side writes it): the replay's
topic sources (:func:`pipeline.replay.sources.topic_sources`) yield every record of the
other visitor and none of the erased one, and count what they left out.
"""

from __future__ import annotations

import time
import uuid

from pipeline.client import EventProducer, sample_events
from pipeline.profiles import resolve_pseudonyms
from pipeline.profiles.erasures import encode_mark_value, erasure_mark
from pipeline.replay.sources import topic_sources
from pipeline.settings import Settings
from pipeline.topics import ERASURES, EVENTS, OUTCOMES


def test_replay_from_topics_leaves_the_marked_visitor_out(topics: Settings) -> None:
    now = int(time.time() * 1000)
    run = uuid.uuid4().hex[:6]
    ann, bob = f"ann-{run}", f"bob-{run}"
    events = {v: sample_events(v, now - 60_000) for v in (ann, bob)}
    outcomes = {v: {"outcome_id": f"o-{v}", "decision_id": f"d-{v}", "visitor_id": v,
                    "kind": "clicked", "value": 0.0, "event_time": now}
                for v in (ann, bob)}
    with EventProducer(topics) as producer:
        for v in (ann, bob):
            for event in events[v]:
                producer.send_event(event)
            producer.send(topics.topic(OUTCOMES), "Outcome", outcomes[v], v)
        producer.produce_raw(topics.topic(ERASURES), encode_mark_value(now, "erase-1"),
                             erasure_mark(ann, resolve_pseudonyms(topics)).encode())

    sources = topic_sources(topics, idle_timeout_s=5, profiles=False, logged_decisions=False)
    try:
        seen = [r.record for stream in (*sources.events, *sources.others) for r in stream
                if r.record is not None]
    finally:
        sources.close()
    visitors = [r["visitor_id"] for r in seen]
    assert ann not in visitors  # nothing of the erased visitor
    assert sorted(r["event_id"] for r in seen if r.get("event_id")) == sorted(
        e["event_id"] for e in events[bob])  # everything of the other, both ways
    assert [r for r in seen if "outcome_id" in r] == [{**outcomes[bob], "reported_by": "server"}]
    assert sources.erased is not None
    assert sources.erased.left_out == len(events[ann]) + 1
    assert topics.topic(EVENTS) in {r.topic for r in sources.ranges}
