"""The outbox's rules, each in both directions, and properties over random streams."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.channels import (
    ContactCaps,
    Outbox,
    OutboxOptions,
    QuietHours,
    StaticContactResolver,
)
from pipeline.channels.caps import DAY_MS
from pipeline.decide.catalog import load_catalog
from pipeline.engine import EngineOptions

CATALOG = load_catalog(EngineOptions().catalog_path)
T0 = 1_780_000_000_000  # a Tuesday, 20:26 UTC
NOON = T0 - (T0 % DAY_MS) + 12 * 3600_000
PEOPLE = StaticContactResolver({
    "v-a": {"person": "p-1", "email": "ann@example.com", "phone": "+491"},
    "v-b": {"person": "p-1", "email": "ann@example.com"},  # Ann's other device
    "v-c": {"person": "p-2", "email": "bob@example.com", "time_zone": "Asia/Tokyo"},
})


def _options(**kw: Any) -> OutboxOptions:
    base: dict[str, Any] = {"channel": "email", "quiet_hours": QuietHours.parse("off"),
                            "caps": ContactCaps(per_day=None, per_week=None)}
    return OutboxOptions(**{**base, **kw})


def _decision(decision_id: str, visitor: str, action: str = "cart_reminder_email",
              channel: str = "email", at: int = NOON, arm: str = "personalized",
              ttl_ms: int = DAY_MS) -> dict[str, Any]:
    return {"decision_id": decision_id, "visitor_id": visitor, "session_id": "s",
            "action_id": action, "slot": "message", "channel": channel, "created_at": at,
            "ttl_ms": ttl_ms, "experiment_arm": arm,
            "payload": {"subject": "10% off", "body": "Use WELCOME10", "code": "WELCOME10"}}


def _sent(box: Outbox, now: int) -> list[str]:
    return [s.decision_id for s in box.due(now, PEOPLE) if s.send]


def _reasons(box: Outbox, now: int) -> dict[str, str]:
    return {s.decision_id: s.reason or "sent" for s in box.due(now, PEOPLE)
            if s.outcome != "held"}


def _held(box: Outbox, now: int) -> list[str]:
    return [s.decision_id for s in box.due(now, PEOPLE) if s.outcome == "held"]


def test_a_due_email_is_sent_with_its_content_and_only_the_contact_reference() -> None:
    box = Outbox(_options(), CATALOG)
    assert box.on_decision(_decision("d1", "v-a")) == "queued"
    steps = box.due(NOON, PEOPLE)
    assert [(s.decision_id, s.send) for s in steps] == [("d1", True)]
    message = steps[0].message
    assert message is not None and steps[0].contact is not None
    assert (message.subject, message.body, message.contact_ref) == (
        "10% off", "Use WELCOME10", "p-1")
    assert "ann@example.com" not in json.dumps(message.as_record())
    assert steps[0].contact.address == "ann@example.com"
    assert box.due(NOON + 1, PEOPLE) == []  # sent once


def test_other_channels_control_and_replays_are_not_sent() -> None:
    box = Outbox(_options(), CATALOG)
    assert box.on_decision(_decision("s1", "v-a", "cart_reminder_sms", "sms")) == \
        "ignored:other_channel"
    assert box.on_decision(_decision("c1", "v-a", arm="control")) == "ignored:control"
    assert box.on_decision(_decision("d1", "v-a")) == "queued"
    assert box.on_decision(_decision("d1", "v-a")) == "duplicate"
    assert _sent(box, NOON) == ["d1"]
    assert box.on_decision(_decision("d1", "v-a")) == "duplicate"  # after the send too
    assert _sent(box, NOON + 1) == []


def test_an_offer_dismissed_on_the_web_is_not_emailed_and_another_visitors_is() -> None:
    box = Outbox(_options(), CATALOG)
    box.on_decision(_decision("w1", "v-a", "first_time_buyer_discount", "web", NOON - 10))
    box.on_outcome({"decision_id": "w1", "visitor_id": "v-a", "kind": "dismissed",
                    "event_time": NOON - 5, "reported_by": "browser"})
    box.on_decision(_decision("d1", "v-a"))
    box.on_decision(_decision("d2", "v-c"))
    assert _reasons(box, NOON) == {"d1": "dismissed", "d2": "sent"}


def test_a_click_or_a_dismissal_of_another_offer_does_not_stop_the_email() -> None:
    box = Outbox(_options(), CATALOG)
    box.on_decision(_decision("w1", "v-a", "first_time_buyer_discount", "web", NOON - 10))
    box.on_decision(_decision("w2", "v-a", "comparison_guide", "web", NOON - 10))
    box.on_outcome({"decision_id": "w1", "visitor_id": "v-a", "kind": "clicked",
                    "event_time": NOON - 5})
    box.on_outcome({"decision_id": "w2", "visitor_id": "v-a", "kind": "dismissed",
                    "event_time": NOON - 5})
    box.on_decision(_decision("d1", "v-a"))
    assert _sent(box, NOON) == ["d1"]


def test_a_purchase_on_another_device_stops_first_purchase_offers() -> None:
    box = Outbox(_options(), CATALOG)
    box.on_decision(_decision("d1", "v-a"))
    # The profile side tells every device of the person: v-a's view says purchased_ever.
    box.on_profile("v-a", purchased_ever=True, allowed=True, erased=False, at_ms=NOON - 1)
    box.on_decision(_decision("d2", "v-c"))
    assert _reasons(box, NOON) == {"d1": "purchased", "d2": "sent"}


def test_a_server_reported_conversion_stops_them_and_a_browser_reported_one_does_not() -> None:
    box = Outbox(_options(), CATALOG)
    box.on_outcome({"decision_id": "x", "visitor_id": "v-a", "kind": "converted",
                    "event_time": NOON - 2, "reported_by": "server"})
    box.on_outcome({"decision_id": "y", "visitor_id": "v-c", "kind": "converted",
                    "event_time": NOON - 2, "reported_by": "browser"})
    box.on_decision(_decision("d1", "v-a"))
    box.on_decision(_decision("d2", "v-c"))
    assert _reasons(box, NOON) == {"d1": "purchased", "d2": "sent"}


def test_no_contact_no_consent_erasure_and_expiry_are_never_sent() -> None:
    box = Outbox(_options(), CATALOG)
    box.on_decision(_decision("d0", "v-unknown"))
    box.on_decision(_decision("d1", "v-a"))
    box.on_profile("v-a", purchased_ever=False, allowed=False, erased=False, at_ms=NOON)
    box.on_decision(_decision("d2", "v-c", at=NOON - DAY_MS))  # its 1-day ttl is over
    box.on_decision(_decision("d3", "v-b"))
    box.on_profile("v-b", purchased_ever=False, allowed=True, erased=True, at_ms=NOON)
    assert _reasons(box, NOON) == {"d0": "no_contact", "d1": "no_consent", "d2": "expired"}
    assert box.pending == {}  # the erased visitor's message is gone, not held


def test_quiet_hours_hold_in_the_contacts_zone_then_release() -> None:
    quiet = QuietHours.parse("21:00-08:00")
    box = Outbox(_options(quiet_hours=quiet, time_zone="UTC"), CATALOG)
    night = NOON + 10 * 3600_000  # 22:00 UTC; 07:00 next day in Tokyo
    box.on_decision(_decision("d1", "v-a", at=night))
    box.on_decision(_decision("d2", "v-c", at=night))
    assert _held(box, night) == ["d1", "d2"]  # both quiet: v-a by UTC, v-c in Tokyo (07:00)
    assert _held(box, night + 1) == []  # reported once per hold
    tokyo_eight = night + 3600_000  # 08:00 in Tokyo, 23:00 UTC
    assert _reasons(box, tokyo_eight) == {"d2": "sent"}
    assert _reasons(box, NOON + 19 * 3600_000) == {}  # 07:00 UTC: still quiet for v-a
    assert _reasons(box, NOON + 20 * 3600_000) == {"d1": "sent"}  # 08:00 UTC


def test_a_message_held_past_its_expiry_is_dropped_not_sent_late() -> None:
    box = Outbox(_options(quiet_hours=QuietHours.parse("21:00-08:00")), CATALOG)
    night = NOON + 10 * 3600_000
    box.on_decision(_decision("d1", "v-a", at=night, ttl_ms=3600_000))
    assert _reasons(box, night) == {}
    assert _reasons(box, NOON + 20 * 3600_000) == {"d1": "expired"}


def test_caps_count_per_person_across_devices_and_free_up_after_a_day() -> None:
    box = Outbox(_options(caps=ContactCaps(per_day=1, per_week=2)), CATALOG)
    box.on_decision(_decision("d1", "v-a"))
    box.on_decision(_decision("d2", "v-b", at=NOON + 1))  # same person, other device
    assert _reasons(box, NOON + 1) == {"d1": "sent", "d2": "frequency_cap"}
    box.on_decision(_decision("d3", "v-b", at=NOON + DAY_MS))
    assert _reasons(box, NOON + DAY_MS) == {"d3": "frequency_cap"}  # d1 went at NOON + 1
    box.on_decision(_decision("d5", "v-b", at=NOON + DAY_MS + 1))
    assert _reasons(box, NOON + DAY_MS + 1) == {"d5": "sent"}
    box.on_decision(_decision("d4", "v-a", at=NOON + 3 * DAY_MS))
    assert _reasons(box, NOON + 3 * DAY_MS) == {"d4": "frequency_cap"}  # 2 this week


def test_delay_lets_a_later_dismissal_stop_the_email() -> None:
    box = Outbox(_options(delay_ms=60_000), CATALOG)
    box.on_decision(_decision("w1", "v-a", "first_time_buyer_discount", "web", NOON - 10))
    box.on_decision(_decision("d1", "v-a"))
    assert _reasons(box, NOON + 59_999) == {}
    box.on_outcome({"decision_id": "w1", "visitor_id": "v-a", "kind": "dismissed",
                    "event_time": NOON + 30_000})
    assert _reasons(box, NOON + 60_000) == {"d1": "dismissed"}


def test_a_refused_message_is_retried_and_does_not_use_the_cap() -> None:
    box = Outbox(_options(caps=ContactCaps(per_day=1, per_week=None), retry_ms=1000), CATALOG)
    box.on_decision(_decision("d1", "v-a"))
    [step] = box.due(NOON, PEOPLE)
    box.failed(step, NOON)
    assert box.sent_to == {"p-1": []} and "d1" not in box.sent_ids
    assert _reasons(box, NOON + 999) == {}
    assert _reasons(box, NOON + 1000) == {"d1": "sent"}


def test_state_round_trips_through_json_and_prune_keeps_what_rules_need() -> None:
    box = Outbox(_options(caps=ContactCaps(per_day=1, per_week=None)), CATALOG)
    box.on_decision(_decision("w1", "v-a", "first_time_buyer_discount", "web", NOON))
    box.on_outcome({"decision_id": "w1", "visitor_id": "v-a", "kind": "dismissed",
                    "event_time": NOON})
    box.on_decision(_decision("d1", "v-c"))
    box.on_decision(_decision("d2", "v-b", at=NOON + DAY_MS * 2))
    _sent(box, NOON)
    again = Outbox(box.options, CATALOG)
    again.load_state(json.loads(json.dumps(box.to_state())))
    assert again.to_state() == box.to_state()
    assert "bob@example.com" not in json.dumps(box.to_state())
    again.prune(NOON + DAY_MS + 1)
    assert again.sent_to == {} and "v-a" in again.dismissed and "d2" in again.pending
    again.prune(NOON + 31 * DAY_MS)
    assert again.dismissed == {} and again.page_decisions == {}


VISITORS = ["v-a", "v-b", "v-c", "v-unknown"]
EVENT = st.one_of(
    st.tuples(st.just("decide"), st.sampled_from(VISITORS),
              st.sampled_from(["cart_reminder_email", "first_time_buyer_discount",
                               "cart_reminder_sms"]), st.integers(0, 3 * DAY_MS)),
    st.tuples(st.just("dismiss"), st.sampled_from(VISITORS), st.integers(0, 40),
              st.integers(0, 3 * DAY_MS)),
    st.tuples(st.just("purchase"), st.sampled_from(VISITORS), st.just(0),
              st.integers(0, 3 * DAY_MS)),
    st.tuples(st.just("tick"), st.just(""), st.just(0), st.integers(0, 3 * DAY_MS)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(EVENT, max_size=40), st.integers(1, 2), st.sampled_from(["off", "21:00-08:00"]))
def test_any_stream_sends_nothing_the_rules_forbid_and_loses_nothing(
        events: list[tuple[str, str, Any, int]], per_day: int, quiet: str) -> None:
    box = Outbox(_options(caps=ContactCaps(per_day=per_day, per_week=None),
                          quiet_hours=QuietHours.parse(quiet)), CATALOG)
    now = NOON
    dismissed: set[str] = set()
    purchased: set[str] = set()
    queued: set[str] = set()
    decided: dict[str, str] = {}
    ended: dict[str, str] = {}
    sends: dict[str, list[int]] = {}
    for n, (kind, visitor, arg, step) in enumerate(events):
        now = max(now, NOON + step)
        if kind == "decide":
            channel = {"cart_reminder_email": "email", "cart_reminder_sms": "sms"}.get(arg, "web")
            decision_id = f"d{n}"
            if box.on_decision(_decision(decision_id, visitor, arg, channel, now)) == "queued":
                queued.add(decision_id)
            decided[decision_id] = visitor
        elif kind == "dismiss":
            target = f"d{arg}"
            if target in decided:
                box.on_outcome({"decision_id": target, "visitor_id": decided[target],
                                "kind": "dismissed", "event_time": now})
                if target not in queued and target in box.page_decisions:
                    dismissed.add(decided[target])
        elif kind == "purchase":
            box.on_profile(visitor, purchased_ever=True, allowed=True, erased=False, at_ms=now)
            purchased.add(visitor)
        for s in box.due(now, PEOPLE):
            if s.outcome == "held":
                assert s.decision_id in box.pending
                continue
            assert s.decision_id not in ended  # at most one verdict per decision id
            ended[s.decision_id] = s.reason or "sent"
            if s.send:
                v = decided[s.decision_id]
                assert v not in purchased and v not in dismissed
                assert s.contact is not None
                local = datetime.fromtimestamp(now / 1000, ZoneInfo(s.contact.time_zone or "UTC"))
                assert not QuietHours.parse(quiet).contains(local)
                times = sends.setdefault(s.contact.ref, [])
                assert sum(1 for t in times if now - DAY_MS < t) < per_day
                times.append(now)
    # Nothing lost, nothing extra: every queued message has one verdict or is still pending.
    assert set(ended) | set(box.pending) == queued
    assert not set(ended) & set(box.pending)
