"""apply_profile_update: identify/stitching, traits, consent, erasure, purity, errors."""

from __future__ import annotations

import copy

import pytest

from pipeline.profiles import (
    ProfileOptions,
    ProfileState,
    ProfileUpdateError,
    apply_profile_update,
    may_personalize,
    profile_key,
)


def test_identify_stitches_devices_to_one_user(make_update):
    first = apply_profile_update(None, make_update("identify", visitor_id="phone", user_id="u1"))
    assert first.key == "u1" and first.linked_visitor_ids == ("phone",)
    second = apply_profile_update(first.state,
                                  make_update("identify", visitor_id="laptop", user_id="u1"))
    assert second.linked_visitor_ids == ("phone", "laptop")
    assert second.state.visitor_ids == ["phone", "laptop"]
    assert second.state.view().returning  # seen on more than one device
    again = apply_profile_update(second.state,
                                 make_update("identify", visitor_id="laptop", user_id="u1"))
    assert again.state == second.state  # idempotent


def test_identify_merges_the_anonymous_profile(make_update):
    anon = apply_profile_update(None, make_update(
        "traits", visitor_id="v9", traits={"preferred_category": "audio", "shoe": "42"})).state
    user = ProfileState(key="u1", user_id="u1", loyalty_tier="gold", traits={"shoe": "44"})
    effect = apply_profile_update(user, make_update("identify", visitor_id="v9", user_id="u1"),
                                  anonymous=anon)
    assert effect.absorbed_keys == ("v9",)
    assert effect.state.preferred_category == "audio" and effect.state.loyalty_tier == "gold"
    assert effect.state.traits == {"shoe": "44"}  # the identified profile wins
    assert effect.state.visitor_ids == ["v9"]


def test_traits_merge_first_class_and_free_form(make_update):
    effect = apply_profile_update(None, make_update("traits", traits={
        "loyalty_tier": "silver", "past_purchases": "3", "preferred_category": "tv",
        "industry": "retail", "newsletter": "weekly"}))
    s = effect.state
    assert (s.loyalty_tier, s.past_purchases, s.preferred_category, s.industry) == (
        "silver", 3, "tv", "retail")
    assert s.traits == {"newsletter": "weekly"} and effect.key == "v1"
    assert effect.linked_visitor_ids == ()  # no user id: nothing stitched
    unset = apply_profile_update(s, make_update("traits", traits={"loyalty_tier": "",
                                                                  "newsletter": ""}))
    assert unset.state.loyalty_tier is None and unset.state.traits == {}


def test_non_numeric_past_purchases_is_dropped(make_update):
    effect = apply_profile_update(None, make_update("traits", traits={"past_purchases": "many"}))
    assert effect.state.past_purchases == 0 and effect.dropped_traits == ("past_purchases",)


def test_free_form_traits_are_bounded(make_update):
    opts = ProfileOptions(max_traits=2)
    effect = apply_profile_update(None, make_update("traits", traits={
        "a": "1", "b": "2", "c": "3"}), opts)
    assert effect.state.traits == {"a": "1", "b": "2"} and effect.dropped_traits == ("c",)


def test_opt_out_scrubs_and_blocks_traits(make_update):
    s = apply_profile_update(None, make_update("traits", user_id="u1",
                                               traits={"loyalty_tier": "gold"})).state
    out = apply_profile_update(s, make_update("consent", user_id="u1", personalization=False,
                                              at=1_700_000_000_001))
    assert not out.personalization_allowed
    assert out.state.loyalty_tier is None and out.state.visitor_ids == ["v1"]
    assert not may_personalize(out.state.view())
    blocked = apply_profile_update(out.state, make_update("traits", user_id="u1",
                                                          traits={"industry": "retail"}))
    assert blocked.state.industry is None and blocked.dropped_traits == ("industry",)
    assert blocked.ignored_reason is not None


def test_consent_required_means_nothing_stored_before_consent(make_update):
    opts = ProfileOptions(consent_required=True)
    before = apply_profile_update(None, make_update("traits", traits={"industry": "saas"}), opts)
    assert before.state.industry is None and not before.personalization_allowed
    granted = apply_profile_update(before.state, make_update("consent", personalization=True),
                                   opts)
    after = apply_profile_update(granted.state, make_update("traits",
                                                            traits={"industry": "saas"}), opts)
    assert after.state.industry == "saas" and may_personalize(after.state.view(opts), opts)


def test_stale_consent_is_ignored(make_update):
    s = apply_profile_update(None, make_update("consent", personalization=False, at=2_000)).state
    stale = apply_profile_update(s, make_update("consent", personalization=True, at=1_000))
    assert stale.ignored_reason and "older" in stale.ignored_reason
    assert stale.state.consent_personalization is False


def test_erasure_lists_every_key_of_the_person(make_update):
    s = apply_profile_update(None, make_update("identify", visitor_id="phone",
                                               user_id="u1")).state
    s = apply_profile_update(s, make_update("identify", visitor_id="laptop", user_id="u1")).state
    anon = ProfileState(key="tablet")
    effect = apply_profile_update(s, make_update("erasure", visitor_id="tablet", user_id="u1"),
                                  anonymous=anon)
    assert effect.state is None
    assert effect.erase_keys == ("laptop", "phone", "tablet", "u1")


def test_erasure_of_an_anonymous_visitor(make_update):
    effect = apply_profile_update(ProfileState(key="v1"), make_update("erasure"))
    assert effect.key == "v1" and effect.erase_keys == ("v1",) and effect.state is None


def test_inputs_are_not_mutated(make_update):
    state = ProfileState(key="u1", user_id="u1", visitor_ids=["a"], traits={"x": "1"})
    anon = ProfileState(key="b", traits={"y": "2"})
    snapshot = (copy.deepcopy(state), copy.deepcopy(anon))
    apply_profile_update(state, make_update("identify", visitor_id="b", user_id="u1"),
                         anonymous=anon)
    apply_profile_update(state, make_update("traits", user_id="u1", traits={"x": "9"}))
    apply_profile_update(state, make_update("consent", user_id="u1", personalization=False))
    assert (state, anon) == snapshot


def test_state_of_another_key_is_refused(make_update):
    with pytest.raises(ProfileUpdateError, match="keyed 'u2'"):
        apply_profile_update(ProfileState(key="u2"), make_update("traits", user_id="u1"))


@pytest.mark.parametrize(("change", "message"), [
    ({"kind": "merge"}, "kind must be one of"),
    ({"visitor_id": ""}, "visitor_id"),
    ({"event_time": "now"}, "event_time"),
    ({"kind": "identify", "user_id": None}, "must carry a user_id"),
    ({"kind": "consent", "consent": None}, "consent record"),
    ({"traits": ["a"]}, "traits must be a map"),
])
def test_invalid_updates_raise_a_clear_error(make_update, change, message):
    update = {**make_update("traits"), **change}
    with pytest.raises(ProfileUpdateError, match=message):
        apply_profile_update(None, update)


def test_profile_key():
    assert profile_key({"visitor_id": "v", "user_id": "u"}) == "u"
    assert profile_key({"visitor_id": "v", "user_id": None}) == "v"
    with pytest.raises(ProfileUpdateError):
        profile_key({"user_id": None})


def test_identify_traits_reach_the_profile(make_update):
    # Segment's identify carries traits: they were stored only for kind "traits" before.
    effect = apply_profile_update(None, make_update(
        "identify", visitor_id="v1", user_id="u1",
        traits={"loyalty_tier": "gold", "email": "a@b.example", "colour": "teal"}))
    assert effect.state is not None
    assert (effect.state.loyalty_tier, effect.state.traits) == ("gold", {"colour": "teal"})
    assert effect.state.view().loyalty_tier == "gold"
    assert effect.dropped_traits == ("email",)
