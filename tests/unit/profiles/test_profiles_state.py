"""ProfileState serialization, version refusal, views and merge."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.profiles import (
    ProfileOptions,
    ProfileState,
    ProfileStateFormatError,
    ProfileStateVersionError,
    ProfileView,
    may_personalize,
    merge_profiles,
)

text = st.text(max_size=10)
states = st.builds(
    ProfileState, key=st.text(min_size=1, max_size=10), user_id=st.none() | text,
    visitor_ids=st.lists(text, max_size=3), loyalty_tier=st.none() | text,
    past_purchases=st.integers(0, 10**6), traits=st.dictionaries(text, text, max_size=3),
    consent_personalization=st.none() | st.booleans(), consent_ms=st.none() | st.integers(0),
    purchased_ever=st.booleans(), recent_order_ids=st.lists(text, max_size=3),
    sessions=st.integers(0, 100), last_session_id=st.none() | text,
)


@settings(max_examples=60, deadline=None)
@given(state=states)
def test_round_trip(state):
    assert ProfileState.from_bytes(state.to_bytes()) == state


def test_other_versions_are_refused():
    body = json.loads(ProfileState(key="v1").to_bytes())
    body["version"] = 2
    with pytest.raises(ProfileStateVersionError, match="version 2 is not supported"):
        ProfileState.from_bytes(json.dumps(body).encode())


@pytest.mark.parametrize("data", [b"", b"[]", b"nope", b'{"version":1,"key":"v","colour":1}'])
def test_malformed_bytes_are_refused(data):
    with pytest.raises(ProfileStateFormatError):
        ProfileState.from_bytes(data)


def test_view_hides_everything_when_not_allowed():
    s = ProfileState(key="u1", user_id="u1", loyalty_tier="gold", past_purchases=2,
                     purchased_ever=True, consent_personalization=False)
    assert s.view() == ProfileView(personalization_allowed=False, identified=True)


def test_may_personalize_defaults_follow_the_site_policy():
    assert may_personalize(None)
    assert not may_personalize(None, ProfileOptions(consent_required=True))
    assert may_personalize(ProfileState(key="v").view())
    assert not may_personalize(ProfileState(key="v").view(ProfileOptions(consent_required=True)),
                               ProfileOptions(consent_required=True))


def test_merge_takes_the_most_restrictive_consent_and_unites_history():
    a = ProfileState(key="u1", user_id="u1", consent_personalization=True, past_purchases=1,
                     recent_order_ids=["o1"], sessions=2)
    b = ProfileState(key="v2", past_purchases=3, purchased_ever=True, recent_order_ids=["o2"],
                     sessions=1)
    m = merge_profiles(a, b)
    assert (m.past_purchases, m.purchased_ever, m.sessions) == (3, True, 3)
    assert m.recent_order_ids == ["o1", "o2"] and m.visitor_ids == ["v2"]
    refused = merge_profiles(a, ProfileState(key="v3", consent_personalization=False))
    assert refused.consent_personalization is False and refused.sessions == 0
