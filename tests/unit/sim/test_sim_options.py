"""Options and the fixed tables: bad values fail with a clear message."""

from __future__ import annotations

import pytest

from pipeline.sim import (
    LATENT_INTENTS,
    PERSONAS,
    SCRIPTS,
    SECTORS,
    STRUGGLES,
    InvalidSimulationOptions,
    SimulatorOptions,
    personas_of,
)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"visitors_per_minute": -1.0}, "visitors_per_minute must be positive"),
    ({"sector_mix": (("casino", 1.0),)}, "sector_mix names unknown 'casino'"),
    ({"sector_mix": (("travel", -1.0),)}, "weight of 'travel' must be >= 0"),
    ({"sector_mix": (("travel", 0.0),)}, "at least one positive weight"),
    ({"persona_mix": (("nobody", 1.0),)}, "persona_mix names unknown 'nobody'"),
    ({"session_pages": (5, 2)}, "session_pages must be a range"),
    ({"response_strength": -0.1}, "response_strength must be >= 0"),
    ({"rage_click_rate": 1.5}, "rage_click_rate must be within 0..1"),
    ({"mouse_sample_ms": 10}, "mouse_sample_ms must be >= 500"),
    ({"reaction_delay_ms": (10, 5)}, "reaction_delay_ms must be a range"),
    ({"ignore_after_ms": -1}, "ignore_after_ms must be >= 0"),
    ({"id_prefix": " "}, "id_prefix must not be empty"),
])
def test_bad_options_are_refused_with_a_reason(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidSimulationOptions, match=message):
        SimulatorOptions(**kwargs)  # type: ignore[arg-type]


def test_options_are_frozen() -> None:
    opts = SimulatorOptions()
    with pytest.raises(AttributeError):
        opts.seed = 3  # type: ignore[misc]


def test_every_persona_has_a_script_a_valid_struggle_and_a_baseline_per_intent() -> None:
    assert {p.name for p in PERSONAS} == set(SCRIPTS)
    for p in PERSONAS:
        assert p.struggle is None or p.struggle in STRUGGLES
        assert tuple(i for i, _ in p.conversion) == LATENT_INTENTS
        assert all(0 < p.baseline(i) < 0.5 for i in LATENT_INTENTS)
        # more intent, more baseline conversion
        assert p.baseline("browsing") < p.baseline("researching") < p.baseline("high_intent")


def test_each_sector_has_a_struggler_and_a_browser() -> None:
    for sector in SECTORS:
        people = personas_of(sector)
        assert any(p.struggle for p in people) and any(p.struggle is None for p in people)


def test_the_oracles_default_weights_are_the_engines_reward() -> None:
    """``rtp demo`` and ``rtp simulate`` score against the oracle with the default weights:
    they must be what the engine learns from (a dismissal counted 0 here, -0.5 there)."""
    from pipeline.engine import EngineOptions
    from pipeline.sim import RewardWeights

    engine = EngineOptions().rewards
    sim = SimulatorOptions().weights
    assert sim == RewardWeights()
    assert (sim.clicked, sim.converted, sim.dismissed) == (
        engine.clicked, engine.converted, engine.dismissed)
    assert engine.weight("dismissed") == sim.reward(False, False, True)
