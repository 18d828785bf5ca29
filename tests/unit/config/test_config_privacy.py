"""The privacy settings the engine has, in the config file: the state TTL (worker, live)
and the trait settings (profile side: not live)."""

from __future__ import annotations

import pytest

from pipeline.config import ConfigError, engine_options, live_problems, load_config_text
from pipeline.engine import EngineOptions
from pipeline.profiles.privacy import sanitize_traits


def test_privacy_settings_reach_the_sessions_and_the_profile_side() -> None:
    config = load_config_text(
        "privacy:\n  state_ttl_ms: 3600000\n  denied_trait_keys: [shoe_size]\n"
        "  max_traits: 4\n  max_trait_chars: 20\n", env={})
    engine = engine_options(config)
    assert engine.sessions.state_ttl_ms == 3_600_000
    assert (engine.profiles.denied_trait_keys, engine.profiles.max_traits,
            engine.profiles.max_trait_chars) == (frozenset({"shoe_size"}), 4, 20)
    # Every other session and profile option keeps its default.
    default = EngineOptions()
    assert engine.sessions.inactivity_gap_ms == default.sessions.inactivity_gap_ms
    assert engine.profiles.recent_orders == default.profiles.recent_orders
    kept = sanitize_traits({"shoe_size": "42", "plan": "pro", "x" * 21: "y"}, engine.profiles)
    assert kept.kept == {"plan": "pro"}


@pytest.mark.parametrize("text, problem", [
    ("privacy:\n  state_ttl_ms: 1000\n",
     "line 2: field privacy.state_ttl_ms: must be at least the session inactivity gap"),
    ("privacy:\n  max_traits: -1\n",
     "line 2: field privacy.max_traits: must not be negative (got -1)"),
    ("privacy:\n  denied_trait_keys: shoe_size\n",
     "line 2: field privacy.denied_trait_keys: must be a list of names"),
    ("privacy:\n  pseudonym_keys: [a]\n", "line 2: field privacy.pseudonym_keys: unknown field"),
])
def test_each_privacy_problem_names_its_field_and_line(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, env={})
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(problem), caught.value.problems[0]


def test_the_profile_sides_settings_do_not_switch_live_the_state_ttl_does() -> None:
    running = engine_options(load_config_text("", env={}))
    traits = engine_options(load_config_text("privacy: {denied_trait_keys: [a]}\n", env={}))
    [problem] = live_problems(running, traits)
    assert problem.startswith("privacy.denied_trait_keys: cannot change live")
    ttl = engine_options(load_config_text("privacy: {state_ttl_ms: 3600000}\n", env={}))
    assert live_problems(running, ttl) == []


def test_the_environment_overrides_a_privacy_setting() -> None:
    config = load_config_text("", env={"RTP_CONFIG__PRIVACY__MAX_TRAITS": "8"})
    assert engine_options(config).profiles.max_traits == 8
