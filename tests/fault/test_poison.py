"""Poison messages interleaved at random: all of them in the DLQ with a reason, the rest flow."""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter

from pipeline.client import EventProducer, click_event
from pipeline.processes import wait_caught_up
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import EVENTS, SIGNALS
from tests.fault.checks import check_decisions, session_mismatches, visitor_states
from tests.fault.conftest import StartWorker
from tests.fault.kafka_state import decoded
from tests.fault.workload import build_workload, reference_run

#: Kind of poison -> the dead-letter reason the gate must give it.
POISON = {"garbage": "garbage", "truncated": "truncated", "unknown_fingerprint": "unknown_schema",
          "future_event_time": "invalid"}


def _poison(kind: str, rng: random.Random, codec: Codec, visitor: str, n: int) -> bytes:
    now = int(time.time() * 1000)
    good = codec.encode("ClickEvent", click_event(visitor, "page_view", now - 60_000,
                                                  event_id=f"poison-{n}"))
    if kind == "garbage":  # never the single-object marker C3 01
        return bytes([rng.randrange(0xC3)]) + rng.randbytes(rng.randrange(0, 200))
    if kind == "truncated":
        return good[:rng.randrange(3, len(good) - 1)]
    if kind == "unknown_fingerprint":
        return good[:2] + rng.randbytes(8) + good[10:]
    future = click_event(visitor, "page_view", now + 3_600_000, event_id=f"poison-{n}")
    return codec.encode("ClickEvent", future)


def test_poison_lands_in_the_dlq_with_reasons_and_good_events_flow(
        topics: Settings, workers: StartWorker) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    codec = Codec.default()
    workload = build_workload(f"px{uuid.uuid4().hex[:4]}", visitors=80)
    ref = reference_run(workload.events)
    good = list(workload.events)
    # Poison keyed like the good events, so it shares their partitions and sits between them.
    slots = sorted(rng.sample(range(len(good)), 120))
    poison = [(slot, kind, rng.choice(workload.visitors))
              for slot, kind in zip(slots, [k for k in POISON for _ in range(30)], strict=True)]
    rng.shuffle(poison)
    poison.sort(key=lambda p: p[0])

    worker = workers(topics, "w")
    worker.wait_ready()
    events_topic = topics.topic(EVENTS)
    with EventProducer(topics) as producer:
        at = 0
        for n, (slot, kind, visitor) in enumerate(poison):
            for event in good[at:slot]:
                producer.send_event(event)
            at = slot
            producer.produce_raw(events_topic, _poison(kind, rng, codec, visitor, n),
                                 visitor.encode())
        for event in good[at:]:
            producer.send_event(event)
    assert producer.stats.failed == 0, producer.stats.errors
    wait_caught_up(worker, [events_topic], timeout=90)

    dead = decoded(topics, topics.topic(f"{EVENTS}.dlq"), codec)
    reasons = Counter(str(d["error_class"]) for d in dead)
    wanted = Counter(POISON[kind] for _, kind, _ in poison)
    check, _ = check_decisions(topics, ref, workload)
    signals = decoded(topics, topics.topic(SIGNALS), codec)
    got_signals = Counter((s["visitor_id"], s["session_id"], s["rule"]) for s in signals)
    want_signals = Counter((s["visitor_id"], s["session_id"], s["rule"]) for s in ref.signals)
    print(f"\npoison (seed {seed}): {len(poison)} among {len(good)} good events; "
          f"dead letters by reason {dict(reasons)}; {check.triggers} decisions; "
          f"{sum(got_signals.values())} signals")

    assert worker.proc.poll() is None, worker.tail()
    assert reasons == wanted
    assert all(d["source_topic"] == events_topic and d["original_value"] is not None
               and d["error_message"] for d in dead)
    assert len({(d["source_partition"], d["source_offset"]) for d in dead}) == len(dead)
    assert not session_mismatches(visitor_states(topics, worker), workload, ref)
    assert not check.missing and not check.extra and not check.conflicting
    assert got_signals == want_signals
