"""Consent reaching the visitor side by two roads: the newer answer wins, both ways."""

from __future__ import annotations

from pipeline.profiles import (
    ProfileView,
    VisitorMessage,
    decode_view,
    decode_visitor_message,
    encode_visitor_message,
    privacy_message,
    settle_view,
    visitor_side_change,
)

GOLD = ProfileView(loyalty_tier="gold", returning=True, experiment_unit="v", consent_ms=10)


def _consent(allowed: bool, at: int) -> VisitorMessage:
    message = privacy_message({"kind": "consent", "visitor_id": "v", "event_time": at,
                               "consent": {"personalization": allowed}})
    assert message is not None
    return message


def test_a_direct_opt_out_scrubs_the_view_and_drops_the_behaviour() -> None:
    change = visitor_side_change(_consent(False, 20), GOLD)
    assert change.keep_behaviour is False
    assert change.view is not None
    assert decode_view(change.view) == ProfileView(personalization_allowed=False,
                                                   experiment_unit="v", consent_ms=20)


def test_a_profile_view_older_than_the_direct_opt_out_does_not_switch_it_back_on() -> None:
    stored = settle_view(GOLD, _consent(False, 20))
    late = VisitorMessage("v", GOLD)  # computed by the profile side before the opt-out
    assert settle_view(stored, late) == ProfileView(personalization_allowed=False,
                                                    experiment_unit="v", consent_ms=20)


def test_a_newer_profile_view_replaces_the_direct_answer() -> None:
    stored = settle_view(GOLD, _consent(False, 20))
    regranted = ProfileView(loyalty_tier="silver", consent_ms=30)
    assert settle_view(stored, VisitorMessage("v", regranted)) == regranted


def test_a_direct_grant_keeps_the_stored_traits_and_an_older_answer_changes_nothing() -> None:
    opted_out = settle_view(GOLD, _consent(False, 20))
    assert settle_view(opted_out, _consent(True, 15)) == opted_out
    granted = settle_view(GOLD, _consent(True, 25))
    assert granted == ProfileView(loyalty_tier="gold", returning=True, experiment_unit="v",
                                  consent_ms=25)
    assert settle_view(None, _consent(True, 25)) == ProfileView(consent_ms=25)


def test_erasure_deletes_the_view_and_messages_survive_the_internal_topic() -> None:
    erase = privacy_message({"kind": "erasure", "visitor_id": "v", "event_time": 1})
    assert erase == VisitorMessage("v", None, erase=True)
    assert settle_view(GOLD, erase) is None
    for message in (erase, _consent(False, 3), VisitorMessage("v", GOLD)):
        assert decode_visitor_message(encode_visitor_message(message)) == message
