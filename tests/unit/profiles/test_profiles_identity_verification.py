"""Identity verification in the pure core: an unverified user id (the collector's device
claim) never joins a device to a person, so the person's view never reaches that device; a
verified one (the person's pseudonym) does.

The profile side is replayed as ``topologies/profiles.py`` runs it (a dict for the table:
read the profile under ``profile_key``, the visitor's anonymous one, apply, write, fan out).
"""

from __future__ import annotations

from typing import Any

from pipeline.engine.engine import EventResult
from pipeline.engine.routing import CONVERSIONS, event_outputs
from pipeline.profiles import (
    ProfileState,
    Pseudonyms,
    VisitorMessage,
    apply_conversion,
    apply_profile_update,
    device_claim,
    is_claim,
    messages_for_effect,
    profile_key,
)

NAMES = Pseudonyms(("pseudonym-key-0123456",))
VICTIM = NAMES.of("ann@example.com")  # what a verified identify carries
NOW = 1_800_000_000_000


def update(kind: str, visitor: str, user: str | None, at: int, **traits: str) -> dict[str, Any]:
    return {"update_id": f"{visitor}-{at}", "kind": kind, "visitor_id": visitor,
            "user_id": user, "event_time": at, "traits": traits, "consent": None}


def profile_side(updates: list[dict[str, Any]]) -> tuple[dict[str, ProfileState],
                                                         list[VisitorMessage]]:
    """Every update applied in order: the table after, and every view fanned out."""
    table: dict[str, ProfileState] = {}
    fanned: list[VisitorMessage] = []
    for u in updates:
        key = profile_key(u)
        visitor = u["visitor_id"]
        effect = apply_profile_update(table.get(key), u,
                                      anonymous=table.get(visitor) if visitor != key else None)
        if effect.state is not None:
            table[key] = effect.state
        for gone in effect.absorbed_keys:
            table.pop(gone, None)
        fanned += messages_for_effect(effect)
    return table, fanned


def victims_profile() -> list[dict[str, Any]]:
    return [update("identify", "ann-laptop", VICTIM, NOW, loyalty_tier="platinum",
                   past_purchases="12", preferred_category="jewellery")]


def test_an_unverified_identify_of_someone_else_never_joins_nor_gets_their_view() -> None:
    claim = device_claim("attacker", "ann@example.com", NAMES)
    table, fanned = profile_side([
        *victims_profile(),
        update("traits", "attacker", None, NOW + 1, preferred_category="audio"),
        update("identify", "attacker", claim, NOW + 2)])
    # the person still has exactly her own device; the attacker's device stays its own
    assert table[VICTIM].visitor_ids == ["ann-laptop"]
    assert table["attacker"].user_id is None and table["attacker"].visitor_ids == []
    assert set(table) == {VICTIM, "attacker"}  # no profile under the claim either
    to_attacker = [m.view for m in fanned if m.visitor_id == "attacker"]
    assert to_attacker and all(v is not None for v in to_attacker)
    assert {(v.loyalty_tier, v.past_purchases, v.preferred_category, v.identified)
            for v in to_attacker if v is not None} == {(None, 0, "audio", False)}
    # and the victim's view went to her device only
    assert {m.visitor_id for m in fanned if m.view and m.view.loyalty_tier} == {"ann-laptop"}


def test_a_verified_identify_joins_the_device_and_delivers_the_persons_view() -> None:
    table, fanned = profile_side([*victims_profile(),
                                  update("identify", "ann-phone", VICTIM, NOW + 2)])
    assert table[VICTIM].visitor_ids == ["ann-laptop", "ann-phone"]
    phone = [m.view for m in fanned if m.visitor_id == "ann-phone"]
    assert [(v.loyalty_tier, v.past_purchases, v.identified) for v in phone if v] == [
        ("platinum", 12, True)]


def test_an_unverified_alias_of_a_persons_device_links_nothing() -> None:
    """Segment's alias(previousId=the victim's device, userId=a claim) from a browser."""
    claim = device_claim("ann-laptop", "mallory", NAMES)
    table, fanned = profile_side([*victims_profile(),
                                  update("identify", "ann-laptop", claim, NOW + 3)])
    assert table[VICTIM].visitor_ids == ["ann-laptop"] and set(table) == {VICTIM, "ann-laptop"}
    assert all(m.visitor_id == "ann-laptop" for m in fanned)


def test_a_claims_traits_land_on_the_devices_own_profile() -> None:
    claim = device_claim("v1", "u1", NAMES)
    effect = apply_profile_update(None, update("identify", "v1", claim, NOW, plan="pro"))
    assert (effect.key, effect.linked_visitor_ids, effect.state.plan) == ("v1", (), "pro")
    assert effect.state.user_id is None and is_claim(claim)


def test_a_purchase_with_a_claim_counts_for_the_device_not_the_person() -> None:
    claim = device_claim("attacker", "ann@example.com", NAMES)
    event = {"event_id": "e1", "event_type": "purchase", "visitor_id": "attacker",
             "user_id": claim, "event_time": NOW,
             "purchase": {"order_id": "o1", "value": 1.0, "currency": "EUR", "kind": "purchase"}}
    state = apply_conversion(None, event)
    assert state is not None and (state.key, state.user_id, state.visitor_ids) == (
        "attacker", None, [])

    nothing = EventResult(state=None)  # the engine's part plays no role in the routing
    routed = [o.key for o in event_outputs(nothing, event) if o.topic == CONVERSIONS]
    assert routed == ["attacker"]
    assert [o.key for o in event_outputs(nothing, {**event, "user_id": VICTIM})
            if o.topic == CONVERSIONS] == [VICTIM]
