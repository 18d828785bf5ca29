"""rtp's own struggle detectors see each persona's struggle in the simulated streams."""

from __future__ import annotations

from collections import defaultdict

from pipeline.signals import SignalEngine, SignalState
from pipeline.sim import STRUGGLE_SIGNALS, SimulatorOptions, persona
from tests.unit.sim.driver import drive


def test_detectors_fire_for_every_struggler_and_not_the_loop_rules_for_browsers() -> None:
    run = drive(SimulatorOptions(seed=9, visitors_per_minute=40, rage_click_rate=0.0,
                                 dead_click_rate=0.0), 3, step_ms=10_000)
    engine = SignalEngine()
    fired: dict[str, set[str]] = defaultdict(set)
    for visitor in run.visitors():
        state = SignalState()
        for event in run.of(visitor):
            fired[visitor].update(s["rule"] for s in engine.observe(state, event, visitor,
                                                                    visitor))
    seen_personas = set()
    for visitor in run.visitors():
        profile = run.sim.profile(visitor)
        assert profile is not None
        who = persona(profile.persona.name)
        seen_personas.add(who.name)
        if who.struggle is not None and who.struggle != "feature_circling":
            assert STRUGGLE_SIGNALS[who.struggle] in fired[visitor], (who.name, fired[visitor])
        if who.struggle is None:
            assert not fired[visitor] & {"pogo_sticking", "calculator_fiddling",
                                         "search_refresh_loop", "rage_click", "dead_click"}
    assert len(seen_personas) == 9
