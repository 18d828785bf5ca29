"""Account traits (Segment ``group``): industry and plan reach the features rules use."""

from __future__ import annotations

import json

from pipeline.client import click_event
from pipeline.collector.segment import map_segment_message
from pipeline.decide.conditions import Condition, ConditionView
from pipeline.profiles import apply_profile_update, merge_profiles
from pipeline.profiles.state import ProfileState
from pipeline.sessions import Sessionizer, SessionState

T0 = 1_800_000_000_000


def test_a_group_call_reaches_the_categorical_features_and_the_rules() -> None:
    group = map_segment_message({"type": "group", "userId": "u1", "anonymousId": "a1",
                                 "groupId": "acme", "messageId": "g1",
                                 "traits": {"industry": "logistics", "plan": "enterprise"}},
                                received_ms=T0, sector="saas")
    assert group is not None
    state = apply_profile_update(None, group.record).state
    assert state is not None
    assert (state.industry, state.plan, state.traits) == ("logistics", "enterprise",
                                                          {"group_id": "acme"})
    view = state.view()
    assert (view.industry, view.plan) == ("logistics", "enterprise")

    step = Sessionizer().apply(None, click_event("a1", "page_view", T0, sector="saas"), view)
    features = step.state.features(T0)
    assert (features.categorical["industry"], features.categorical["plan"]) == (
        "logistics", "enterprise")
    enterprise = Condition.from_mapping({"equals": {"plan": "enterprise"}})
    assert enterprise.matches(ConditionView(features.numeric, features.categorical))
    starter = Condition.from_mapping({"equals": {"plan": "starter"}})
    assert not starter.matches(ConditionView(features.numeric, features.categorical))
    # Unknown without an account.
    plain = Sessionizer().apply(None, click_event("a2", "page_view", T0)).state.features(T0)
    assert plain.categorical["plan"] == "unknown"


def test_plan_is_kept_in_session_bytes_merged_and_scrubbed() -> None:
    step = Sessionizer().apply(None, click_event("a1", "page_view", T0),
                               ProfileState(key="u", user_id="u", plan="pro").view())
    back = SessionState.from_bytes(step.state.to_bytes())
    assert back.plan == "pro" and back == step.state
    # A state written before the plan existed (three traits) still reads.
    obj = json.loads(step.state.to_bytes())
    traits_at = next(i for i, v in enumerate(obj) if v == [None, None, None, "pro"])
    obj[traits_at] = [None, None, None]
    assert SessionState.from_bytes(json.dumps(obj).encode()).plan is None
    assert merge_profiles(ProfileState(key="u"), ProfileState(key="v", plan="pro")).plan == "pro"
    scrubbed = ProfileState(key="u", plan="pro")
    scrubbed.scrub()
    assert scrubbed.plan is None
