"""Consent in a real worker, the two halves every consent test shares: send a consent
answer and then page views, and check who was decided and kept (both ways)."""

from __future__ import annotations

from pipeline.client import EventProducer
from pipeline.settings import Settings
from pipeline.topics import DECISIONS_LOG, EVENTS, PROFILES
from tests.integration.scenarios import browser
from tests.integration.topic_watch import ABSENT, TopicWatch
from tests.integration.worker_process import WorkerProcess, wait_caught_up


def answer_then_browse(settings: Settings, worker: WorkerProcess, answered: str,
                       allowed: bool, other: str, now: int) -> None:
    """``answered``'s consent answer (flushed first), then four page views each of
    ``answered`` and ``other``; returns once the worker has committed all of it."""
    with EventProducer(settings) as producer:
        producer.send_profile_update({
            "update_id": f"{answered}-c", "kind": "consent", "visitor_id": answered,
            "user_id": None, "event_time": now - 61_000, "traits": {},
            "consent": {"personalization": allowed, "analytics": allowed}})
        producer.flush()
        for event in [*browser(answered, now - 60_000), *browser(other, now - 60_000)]:
            producer.send_event(event)
    wait_caught_up(worker, [settings.topic(EVENTS), settings.topic(PROFILES)])


def assert_decided_and_kept_only(settings: Settings, worker: WorkerProcess, decided: str,
                                 refused: str, now: int) -> None:
    """``decided`` has a DecisionLog record for exactly each of its page views and a
    state; ``refused`` has no DecisionLog record and no state."""
    log = TopicWatch(settings, settings.topic(DECISIONS_LOG))
    state = TopicWatch(settings, worker.changelog("visitors"), decode=False)
    try:
        records = log.wait_for(lambda rs: sum(r["decision"]["visitor_id"] == decided
                                              for r in rs) >= 4,
                               what=f"four decisions for {decided}")
        assert sorted(r["decision"]["trigger_event_id"] for r in records
                      if r["decision"]["visitor_id"] == decided) == sorted(
            e["event_id"] for e in browser(decided, now - 60_000))
        assert [r for r in records if r["decision"]["visitor_id"] == refused] == []
        state.wait_for(lambda _: state.latest(decided) not in (None, ABSENT),
                       what=f"{decided}'s state")
        assert state.latest(refused) in (None, ABSENT)
    finally:
        log.close()
        state.close()
