"""The response model: the seed's right action wins for its persona, the oracle knows it."""

from __future__ import annotations

import pytest

from pipeline.sim import (
    ACTION_IDS,
    LATENT_INTENTS,
    PERSONAS,
    ResponseContext,
    ResponseModel,
    RewardWeights,
    persona,
)

RIGHT_ACTION = {
    "hesitant_headphones_shopper": "free_express_shipping",
    "comparison_shopper": "comparison_guide",
    "feature_circler": "walkthrough_video_nudge",
    "hotel_refresher": "rooms_left_cue",
    "mortgage_fiddler": "one_click_eligibility_check",
}
MODEL = ResponseModel()


def context(name: str, intent: str = "researching", active: bool = True,
            industry: str | None = None) -> ResponseContext:
    p = persona(name)
    return ResponseContext(p.name, p.sector, p.struggle, active, intent, p.baseline(intent),
                           industry)


@pytest.mark.parametrize("name", sorted(RIGHT_ACTION))
@pytest.mark.parametrize("intent", LATENT_INTENTS)
def test_right_action_beats_no_action_and_the_oracle_picks_it(name: str, intent: str) -> None:
    ctx = context(name, intent)
    right = MODEL.respond(RIGHT_ACTION[name], ctx)
    baseline = MODEL.respond("no_action", ctx)
    assert right.conversion > baseline.conversion == ctx.baseline
    assert MODEL.expected_reward(RIGHT_ACTION[name], ctx) > MODEL.expected_reward("no_action", ctx)
    assert MODEL.best_action(ctx)[0] == RIGHT_ACTION[name]
    # also when the decider can only choose between it and doing nothing
    assert MODEL.best_action(ctx, ["no_action", RIGHT_ACTION[name]])[0] == RIGHT_ACTION[name]


@pytest.mark.parametrize("name", sorted(RIGHT_ACTION))
def test_the_right_action_works_much_better_once_the_struggle_shows(name: str) -> None:
    before = MODEL.respond(RIGHT_ACTION[name], context(name, active=False))
    after = MODEL.respond(RIGHT_ACTION[name], context(name, active=True))
    assert after.lift >= 0.3 > before.lift
    assert after.click > 2 * before.click


def test_free_express_shipping_lifts_the_hesitant_shopper_but_not_browsers() -> None:
    shopper = context("hesitant_headphones_shopper")
    assert MODEL.respond("free_express_shipping", shopper).lift >= 0.4
    for intent in LATENT_INTENTS:
        browser = context("shop_browser", intent)
        response = MODEL.respond("free_express_shipping", browser)
        assert response.lift <= 0 and response.conversion <= browser.baseline


def test_an_irrelevant_action_annoys_a_little() -> None:
    ctx = context("mortgage_fiddler")
    annoying = MODEL.respond("free_express_shipping", ctx)
    assert annoying.conversion < ctx.baseline
    assert annoying.dismiss > MODEL.respond("one_click_eligibility_check", ctx).dismiss
    assert annoying.lift > -0.5  # slightly


def test_unknown_action_ids_get_the_baseline() -> None:
    ctx = context("hotel_refresher")
    made_up = MODEL.respond("teleport_offer", ctx)
    assert (made_up.click, made_up.dismiss, made_up.conversion) == (0.0, 0.0, ctx.baseline)


def test_strength_zero_means_no_action_changes_conversion() -> None:
    flat = ResponseModel(strength=0.0)
    for p in PERSONAS:
        ctx = ResponseContext(p.name, p.sector, p.struggle, True, "researching",
                              p.baseline("researching"))
        assert {round(flat.respond(a, ctx).conversion, 12) for a in ACTION_IDS} == {ctx.baseline}


def test_stronger_response_lifts_more() -> None:
    ctx = context("comparison_shopper")
    weak = ResponseModel(strength=0.5).respond("comparison_guide", ctx).conversion
    strong = ResponseModel(strength=1.5).respond("comparison_guide", ctx).conversion
    assert ctx.baseline < weak < strong <= 1.0


def test_walkthrough_tailored_to_the_visitors_industry_works_best() -> None:
    ctx = context("feature_circler", industry="healthcare")
    lift = {i: MODEL.respond("walkthrough_video_nudge", ctx, {"industry": i}).lift
            for i in ("healthcare", "general", "retail")}
    assert lift["healthcare"] > lift["general"] > lift["retail"] > 0


def test_probabilities_are_probabilities_everywhere() -> None:
    for p in PERSONAS:
        for intent in LATENT_INTENTS:
            for active in (False, True):
                ctx = context(p.name, intent, active)
                for action in ACTION_IDS:
                    r = MODEL.respond(action, ctx)
                    assert 0 <= r.click <= 1 and 0 <= r.dismiss <= 1
                    assert r.click + r.dismiss <= 1
                    assert 0 <= r.conversion <= 1 and -1 <= r.lift <= 1


def test_expected_reward_uses_the_feedback_weights() -> None:
    ctx = context("hotel_refresher")
    r = MODEL.respond("rooms_left_cue", ctx)
    assert MODEL.expected_reward("rooms_left_cue", ctx) == pytest.approx(
        r.click + r.conversion - 0.5 * r.dismiss)  # the engine's weights by default
    clicks_only = ResponseModel(weights=RewardWeights(converted=0.0, dismissed=0.0))
    assert clicks_only.expected_reward("rooms_left_cue", ctx) == pytest.approx(r.click)
