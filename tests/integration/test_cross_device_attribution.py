"""Issue 11: a purchase on a person's phone credits their decisions on their laptop, in
either arm, end to end through the real worker and its profile side on the real broker.

Two persons, one per arm. Each is identified on a laptop and stitched (alias) to a phone;
the phone's own id would draw the *other* arm, so a phone decided as a visitor of its own
shows up at once. The laptop browses, then the phone browses and buys. From what the topics
hold (decision log, outcomes, the purchases the worker forwarded), the experiment report
must count each person once, in the arm of their laptop, converted by the phone's purchase,
and credit every laptop and phone decision in the attribution window, nothing else.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from pipeline.client import EventProducer, click_event
from pipeline.decide import assign_arm
from pipeline.replay import ReportOptions, build_report, join_files, read_purchases
from pipeline.replay.attribution import attribute
from pipeline.replay.sources import export_purchases, export_topics
from pipeline.settings import Settings
from pipeline.topics import EVENTS, OUTCOMES, PROFILES
from tests.integration.scenarios import browser
from tests.integration.topic_watch import TopicWatch
from tests.integration.worker_process import WorkerProcess, wait_caught_up

SHARE = 0.5
MIN = 60_000


def _ids(prefix: str, arm: str) -> tuple[str, str]:
    """A laptop id drawing ``arm`` and a phone id drawing the other one."""
    laptop = next(f"{prefix}-laptop-{i}" for i in range(10_000)
                  if assign_arm(f"{prefix}-laptop-{i}", SHARE) == arm)
    phone = next(f"{prefix}-phone-{i}" for i in range(10_000)
                 if assign_arm(f"{prefix}-phone-{i}", SHARE) != arm)
    return laptop, phone


def _purchase(visitor: str, at_ms: int, order: str, value: float) -> dict[str, Any]:
    return click_event(visitor, "purchase", at_ms, event_id=f"{visitor}-buy", page_type="checkout",
                       url="https://shop.example/checkout", product_id=None, category=None,
                       purchase={"order_id": order, "value": value, "currency": "EUR",
                                 "kind": "purchase"})


def test_a_purchase_on_the_phone_credits_the_persons_laptop_decisions_in_both_arms(
        topics: Settings, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:6]
    people = {arm: _ids(f"xd{run}-{arm[:3]}", arm) for arm in ("control", "personalized")}
    for arm, (laptop, phone) in people.items():
        assert assign_arm(laptop, SHARE) == arm and assign_arm(phone, SHARE) != arm
    worker = WorkerProcess(topics, tmp_path / "data", tmp_path / "worker.log",
                           control_share=SHARE, learner=False)
    start = int(time.time() * 1000) - 20 * MIN
    try:
        worker.wait_ready()
        with EventProducer(topics) as producer:
            for laptop, phone in people.values():
                user = f"user-{laptop}"
                producer.send_profile_update({
                    "update_id": f"{laptop}-identify", "kind": "identify", "visitor_id": laptop,
                    "user_id": user, "event_time": start, "traits": {}, "consent": None})
                producer.send_profile_update({  # Segment's alias: previousId = the phone
                    "update_id": f"{phone}-alias", "kind": "identify", "visitor_id": phone,
                    "user_id": user, "event_time": start + 1, "traits": {}, "consent": None})
        # The phone's profile view (experiment unit: the laptop) must be in the worker's
        # state before the phone's events are decided.
        views = TopicWatch(topics, worker.changelog("visitor-profiles"), decode=False)
        try:
            def stitched(_: object) -> bool:
                latest = {k: v for k, v in views.seen}  # undecoded: {"raw": the view's JSON}
                return all(laptop.encode() in (latest.get(phone.encode()) or {}).get("raw", b"")
                           for laptop, phone in people.values())
            views.wait_for(stitched, timeout=180, what="each phone's view naming its laptop")
        finally:
            views.close()
        purchases = {}
        with EventProducer(topics) as producer:
            for arm, (laptop, phone) in people.items():
                for event in browser(laptop, start, pages=3):              # minutes 0-1
                    producer.send_event(event)
                for event in browser(phone, start + 5 * MIN, pages=2):     # minutes 5-6
                    producer.send_event(event)
                buy = _purchase(phone, start + 10 * MIN, f"o-{phone}", 80.0)
                purchases[arm] = buy["event_id"]
                producer.send_event(buy)
        wait_caught_up(worker, [topics.topic(EVENTS), topics.topic(OUTCOMES),
                                topics.topic(PROFILES)], timeout=180)
    finally:
        worker.stop()

    log_path, outcomes_path = export_topics(topics, tmp_path / "export")
    purchases_path = export_purchases(topics, tmp_path / "export")
    rows = join_files(log_path, outcomes_path).rows
    for arm, (laptop, phone) in people.items():
        laptop_rows = [r for r in rows if r.visitor_id == laptop]
        phone_rows = [r for r in rows if r.visitor_id == phone]
        assert laptop_rows and phone_rows, f"{arm}: no decisions on a device"
        # Sticky across devices: the phone decided in the laptop's arm, under its unit.
        assert {(r.arm, r.unit) for r in laptop_rows + phone_rows} == {(arm, laptop)}
    assert {r.visitor_id for r in rows} == {v for pair in people.values() for v in pair}

    found = attribute(rows, read_purchases(purchases_path).purchases)
    # Each person converted once, by their phone's purchase; nobody else.
    assert {unit: credit.purchases for unit, credit in found.visitors.items()} == {
        laptop: (purchases[arm],) for arm, (laptop, _) in people.items()}
    # Every decision of both devices in the window before the purchase, and no other.
    window = ReportOptions().attribution.window_ms
    expected = {r.decision_id for r in rows
                if start + 10 * MIN - window <= r.created_at <= start + 10 * MIN
                and r.trigger_event_id not in purchases.values()}
    assert set(found.decisions) == expected
    assert {r.visitor_id for r in rows if r.decision_id in expected} == {
        v for pair in people.values() for v in pair}

    report = build_report(log_path, outcomes_path, None, ReportOptions(n_boot=20),
                          purchases_path=purchases_path)
    assert (report.srm.control_visitors, report.srm.personalized_visitors) == (1, 1)
    conv = report.metric("conversion_rate")
    assert (conv.control, conv.personalized) == (1.0, 1.0)
    revenue = report.metric("revenue_per_visitor")
    assert (revenue.control, revenue.personalized) == (80.0, 80.0)
    assert report.attribution is not None and report.attribution.unattributed == 0
