"""Never store raw IP, e-mail or other identifiers: traits carrying them are dropped."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.profiles import (
    ProfileOptions,
    apply_profile_update,
    is_personal_data_key,
    looks_like_personal_value,
    sanitize_traits,
)

EMAIL = re.compile(rb"[^@\s\"]+@[^@\s\"]+\.[a-z]{2,}")


@pytest.mark.parametrize("key", [
    "email", "Email", "e-mail", "work_email", "workEmail", "emailAddress", "phone",
    "mobile_number", "ip", "ip_address", "ipAddress", "client_ipv6", "name", "first_name",
    "lastName", "full-name", "address", "street", "postcode", "password", "ssn", "dob"])
def test_personal_keys_are_denied(key):
    assert is_personal_data_key(key)


@pytest.mark.parametrize("key", [
    "loyalty_tier", "past_purchases", "preferred_category", "industry", "zip_code_area",
    "membership", "tip_jar", "plan", "newsletter", "shoe_size"])
def test_preference_keys_are_kept(key):
    assert not is_personal_data_key(key)


@pytest.mark.parametrize("value", [
    "jane@example.com", " a.b+c@sub.example.org ", "192.168.1.10", "2001:db8::8a2e:370:7334",
    "+31 20 555 0100"])
def test_personal_values_are_denied_whatever_the_key(value):
    assert looks_like_personal_value(value)
    assert sanitize_traits({"note": value}).kept == {}


def test_update_with_email_and_ip_stores_neither(make_update):
    update = make_update("traits", user_id="u1", traits={
        "email": "jane@example.com", "ip": "203.0.113.7", "ip_address": "203.0.113.7",
        "contact": "jane@example.com", "loyalty_tier": "gold", "industry": "203.0.113.7"})
    effect = apply_profile_update(None, update)
    stored = effect.state.to_bytes()
    assert b"jane@example.com" not in stored and b"203.0.113.7" not in stored
    assert effect.state.loyalty_tier == "gold" and effect.state.industry is None
    assert sorted(effect.dropped_traits) == ["contact", "email", "industry", "ip", "ip_address"]


def test_site_specific_deny_list(make_update):
    opts = ProfileOptions(denied_trait_keys=frozenset({"shoe_size"}))
    effect = apply_profile_update(None, make_update("traits", traits={"shoe_size": "42"}), opts)
    assert effect.state.traits == {} and effect.dropped_traits == ("shoe_size",)


def test_oversized_values_are_dropped_not_truncated(make_update):
    effect = apply_profile_update(None, make_update("traits", traits={"bio": "x" * 500}))
    assert effect.state.traits == {}


keys = st.one_of(st.sampled_from(["email", "ip", "phone", "name", "note", "tier", "industry"]),
                 st.text(max_size=12))
values = st.one_of(st.emails(), st.ip_addresses().map(str), st.text(max_size=20))


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(traits=st.dictionaries(keys, values, max_size=8))
def test_no_email_or_ip_is_ever_stored(make_update, traits):
    effect = apply_profile_update(None, {**make_update("traits", user_id="u1"),
                                         "traits": traits})
    for value in [*effect.state.traits.values(), effect.state.loyalty_tier,
                  effect.state.preferred_category, effect.state.industry]:
        if value is not None:
            assert not looks_like_personal_value(value)
    for key in effect.state.traits:
        assert not is_personal_data_key(key)
    first_class = {"loyalty_tier", "preferred_category", "industry", "past_purchases"}
    unset = {k for k, v in traits.items() if not v.strip()}  # an empty value unsets a trait
    accounted = set(effect.dropped_traits) | set(effect.state.traits) | first_class | unset
    assert accounted >= set(traits)
