"""apply_conversion and apply_session_end: purchase history and returning visitors."""

from __future__ import annotations

from pipeline.profiles import (
    ProfileOptions,
    ProfileState,
    apply_conversion,
    apply_session_end,
)


def _purchase(order_id="o1", *, user_id=None, visitor_id="v1", event_type="purchase"):
    return {"event_id": f"e-{order_id}", "event_type": event_type, "visitor_id": visitor_id,
            "user_id": user_id, "event_time": 1_700_000_000_000,
            "purchase": {"order_id": order_id, "value": 10.0, "currency": "EUR",
                         "kind": "purchase"}}


def test_purchase_marks_and_counts_once_per_order():
    s = apply_conversion(None, _purchase("o1", user_id="u1"))
    assert (s.key, s.user_id, s.visitor_ids) == ("u1", "u1", ["v1"])
    assert s.purchased_ever and s.past_purchases == 1
    s2 = apply_conversion(s, _purchase("o2", user_id="u1"))
    assert s2.past_purchases == 2 and s.past_purchases == 1  # input not mutated
    assert apply_conversion(s2, _purchase("o2", user_id="u1")) is s2  # redelivery
    assert s2.view().purchased_ever and s2.view().returning


def test_other_events_change_nothing():
    state = ProfileState(key="v1")
    assert apply_conversion(state, _purchase(event_type="click")) is state


def test_traits_count_is_the_base():
    s = ProfileState(key="u1", user_id="u1", past_purchases=5)
    assert apply_conversion(s, _purchase("o9")).past_purchases == 6


def test_no_purchase_history_without_consent():
    opted_out = ProfileState(key="v1", consent_personalization=False)
    assert apply_conversion(opted_out, _purchase()) is opted_out
    assert apply_conversion(None, _purchase(), ProfileOptions(consent_required=True)) is None


def test_recent_orders_are_bounded():
    s = None
    for i in range(20):
        s = apply_conversion(s, _purchase(f"o{i}"))
    assert s.past_purchases == 20 and len(s.recent_order_ids) == ProfileOptions().recent_orders


def test_session_end_makes_the_visitor_returning():
    s = apply_session_end(None, key="v1", session_id="v1:1", ended_ms=5)
    assert s.sessions == 1 and s.view().returning
    assert apply_session_end(s, key="v1", session_id="v1:1", ended_ms=5) is s
    assert apply_session_end(s, key="v1", session_id="v1:2", ended_ms=9).sessions == 2
    assert apply_session_end(None, key="v1", session_id="v1:1", ended_ms=5,
                             options=ProfileOptions(consent_required=True)) is None
