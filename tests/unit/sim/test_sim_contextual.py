"""The contextual world: the oracle's best action depends on the visitor's device and traffic
source (what the engine sees), so no static rule over the eligible set matches it; in the
classic world the same visitors get the same best action."""

from __future__ import annotations

import doctest
import itertools
from dataclasses import replace

import pytest

import pipeline.sim.contextual
from pipeline.sim import (
    InvalidSimulationOptions,
    ResponseContext,
    ResponseModel,
    RewardWeights,
    Simulator,
    SimulatorOptions,
)

#: The bench's oracle weights (the engine's reward: a dismissal costs 0.5).
BENCH = RewardWeights(dismissed=-0.5)
DEVICES = ("desktop", "mobile", "tablet")
SOURCES = ("direct", "search", "social", "email", "ads", "referral")
INTENTS = ("browsing", "researching", "high_intent")

#: (persona, sector, struggle visible?, eligible set as the catalog offers it).
CASES = [
    ("hesitant_headphones_shopper", "ecommerce", "delivery_doubt",
     ("no_action", "free_express_shipping", "first_time_buyer_discount")),
    ("comparison_shopper", "ecommerce", "comparison",
     ("no_action", "comparison_guide", "reorder_grid_by_interest")),
    ("feature_circler", "saas", "feature_circling",
     ("no_action", "cta_change", "walkthrough_video_nudge")),
    ("hotel_refresher", "travel", "search_refresh",
     ("no_action", "rooms_left_cue", "reorder_by_availability")),
    ("shop_browser", "ecommerce", None, ("no_action", "hero_by_traffic_source")),
]


def _visitors(persona: str, sector: str, struggle: str | None) -> list[ResponseContext]:
    base = ResponseContext(persona, sector, struggle, struggle is not None, "researching",
                           0.05, industry="retail" if sector == "saas" else None)
    return [replace(base, device=d, traffic_source=s, intent=i)
            for d, s, i in itertools.product(DEVICES, SOURCES, INTENTS)]


def _best_by_visitor(model: ResponseModel, case: tuple) -> dict[tuple[str, str, str], str]:
    persona, sector, struggle, eligible = case
    return {(c.device, c.traffic_source, c.intent): model.best_action(c, eligible)[0]
            for c in _visitors(persona, sector, struggle)}


def test_doctests() -> None:
    result = doctest.testmod(pipeline.sim.contextual)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_no_static_rule_matches_the_oracle_in_the_contextual_world(case: tuple) -> None:
    best = _best_by_visitor(ResponseModel(weights=BENCH, world="contextual"), case)
    # Every eligible action, as a rule "always this one", loses to the oracle somewhere...
    for action in case[3]:
        assert any(b != action for b in best.values()), action
    # ... because the best action differs between visitors the rule cannot tell apart.
    assert len(set(best.values())) >= 2


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_device_and_source_do_not_matter_in_the_classic_world(case: tuple) -> None:
    best = _best_by_visitor(ResponseModel(weights=BENCH), case)
    for intent in INTENTS:
        assert len({b for (_, _, i), b in best.items() if i == intent}) == 1


def test_who_is_helped_by_what() -> None:
    model = ResponseModel(weights=BENCH, world="contextual")
    shopper = ResponseContext("hesitant_headphones_shopper", "ecommerce", "delivery_doubt",
                              True, "researching", 0.08)
    offers = ("no_action", "free_express_shipping", "first_time_buyer_discount")
    assert model.best_action(replace(shopper, traffic_source="ads"), offers)[0] == \
        "first_time_buyer_discount"
    assert model.best_action(replace(shopper, traffic_source="direct"), offers)[0] == \
        "free_express_shipping"
    # The discount annoys a visitor who did not come for a deal: below doing nothing.
    direct = replace(shopper, traffic_source="direct")
    assert model.respond("first_time_buyer_discount", direct).conversion < direct.baseline
    traveller = ResponseContext("hotel_refresher", "travel", "search_refresh", True,
                                "high_intent", 0.2)
    cues = ("no_action", "rooms_left_cue", "reorder_by_availability")
    assert model.best_action(replace(traveller, device="mobile"), cues)[0] == "rooms_left_cue"
    assert model.best_action(replace(traveller, traffic_source="email"), cues)[0] == \
        "reorder_by_availability"
    trial = ResponseContext("feature_circler", "saas", "feature_circling", True, "researching",
                            0.07, industry="retail")
    nudges = ("no_action", "cta_change", "walkthrough_video_nudge")
    assert model.best_action(trial, nudges)[0] == "walkthrough_video_nudge"
    assert model.best_action(replace(trial, device="mobile"), nudges)[0] == "cta_change"
    # The classic world answers the same for every one of them.
    classic = ResponseModel(weights=BENCH)
    assert classic.best_action(replace(shopper, traffic_source="ads"), offers) == \
        classic.best_action(replace(shopper, traffic_source="direct"), offers)


def test_simulator_uses_the_visitors_device_and_source() -> None:
    sim = Simulator(SimulatorOptions(seed=4, world="contextual"))
    sim.start(1_700_000_000_000)
    event = sim.next_events(1_700_000_000_000 + 300_000)[-1]
    context = sim.context_of(event["visitor_id"], event["event_time"])
    assert context is not None
    assert (context.device, context.traffic_source) == (
        event["context"]["device"], event["context"]["traffic_source"])
    assert sim.model.world == "contextual"


def test_unknown_world_is_refused() -> None:
    with pytest.raises(InvalidSimulationOptions, match="world"):
        SimulatorOptions(world="flat")
    with pytest.raises(ValueError, match="unknown world"):
        ResponseModel(world="flat")


def test_after_the_drift_deal_seekers_want_express_shipping_not_the_discount() -> None:
    model = ResponseModel(weights=BENCH, world="contextual")
    offers = ("no_action", "free_express_shipping", "first_time_buyer_discount")
    seeker = ResponseContext("hesitant_headphones_shopper", "ecommerce", "delivery_doubt",
                             True, "researching", 0.05, traffic_source="ads")
    assert model.best_action(seeker, offers)[0] == "first_time_buyer_discount"
    drifted = replace(seeker, drifted=True)
    assert model.best_action(drifted, offers)[0] == "free_express_shipping"
    assert model.respond("first_time_buyer_discount", drifted).lift < 0
    # The others are as before: a direct visitor answers the same before and after.
    direct = replace(seeker, traffic_source="direct")
    assert model.expected_rewards(direct, offers) == model.expected_rewards(
        replace(direct, drifted=True), offers)


def test_the_simulator_drifts_at_drift_after_ms_and_never_without_it() -> None:
    start, drift = 1_700_000_000_000, 120_000
    sim = Simulator(SimulatorOptions(seed=4, world="contextual", drift_after_ms=drift))
    steady = Simulator(SimulatorOptions(seed=4, world="contextual"))
    sim.start(start)
    steady.start(start)
    events = sim.next_events(start + 300_000)
    steady.next_events(start + 300_000)
    seen = set()
    for event in events:
        visitor, at = event["visitor_id"], event["event_time"]
        context = sim.context_of(visitor, at)
        if context is None:
            continue
        seen.add(context.drifted)
        assert context.drifted == (at >= start + drift)
        unchanged = steady.context_of(visitor, at)
        assert unchanged is not None and not unchanged.drifted
    assert seen == {False, True}


def test_drift_needs_the_contextual_world() -> None:
    with pytest.raises(InvalidSimulationOptions, match="drift_after_ms"):
        SimulatorOptions(drift_after_ms=60_000)
    with pytest.raises(InvalidSimulationOptions, match="drift_after_ms"):
        SimulatorOptions(world="contextual", drift_after_ms=-1)
