"""The story override (test only): forces the arm and the story's action for the run's own
visitors, and nothing else; a worker configured for production has none."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import build_parser
from pipeline.client.samples import click_event
from pipeline.commands.worker import story_override_of
from pipeline.decide import (
    STORY_POLICY,
    DecideOptionsError,
    Decider,
    DecisionContext,
    StoryOverride,
    assign_arm,
    load_catalog,
)
from pipeline.engine import Engine, EngineOptions

ROOT = Path(__file__).parents[3]
CATALOG = load_catalog(ROOT / "deploy/catalog/actions.yaml")
PREFIX = "story-t3st-"
STORY = StoryOverride(PREFIX, ("free_express_shipping",))


def _visitor(arm: str, prefix: str) -> str:
    return next(f"{prefix}{i}" for i in range(1000) if assign_arm(f"{prefix}{i}") == arm)


CONTROL_STORY_VISITOR = _visitor("control", PREFIX)


def _hesitating(visitor: str, event: str = "evt-1") -> DecisionContext:
    """The headphone buyer on Shipping & Returns: free express shipping is eligible."""
    return DecisionContext(
        visitor_id=visitor, session_id="s-1", trigger_event_id=event,
        trigger_event_type="page_view", event_time_ms=1_800_000_000_000,
        numeric={"max_views_same_product": 3.0, "product_views": 3.0},
        categorical={"sector": "ecommerce", "page_type": "shipping_returns"},
        consent=True, active_signals=frozenset({"hesitation"}))


def test_a_story_visitor_in_the_control_group_is_personalized_with_the_story_action() -> None:
    plain = Decider(CATALOG).decide(_hesitating(CONTROL_STORY_VISITOR))
    assert plain is not None and plain.experiment_arm == "control" and not plain.deliver
    # draws over many triggers: without the override the bandit picks either arm of the tie
    chosen = {Decider(CATALOG).decide(_hesitating(CONTROL_STORY_VISITOR, f"e{i}"))
              .action.id for i in range(40)}  # type: ignore[union-attr]
    assert chosen == {"free_express_shipping", "no_action"}

    forced = Decider(CATALOG, story=STORY).decide(_hesitating(CONTROL_STORY_VISITOR))
    assert forced is not None
    assert (forced.experiment_arm, forced.action.id, forced.deliver) == (
        "personalized", "free_express_shipping", True)
    assert forced.decision["policy"] == STORY_POLICY and forced.propensity == 1.0
    # every eligible action is still logged with the bandit's distribution
    assert {e["action_id"] for e in forced.log["eligible"]} == {
        "free_express_shipping", "no_action"}


def test_the_override_never_makes_an_action_eligible() -> None:
    ctx = _hesitating(CONTROL_STORY_VISITOR)
    not_hesitating = DecisionContext(**{**ctx.__dict__, "active_signals": frozenset()})
    outcome = Decider(CATALOG, story=STORY).decide(not_hesitating)
    assert outcome is not None
    assert outcome.action.id == "no_action" and outcome.decision["policy"] == "linucb"
    assert outcome.experiment_arm == "personalized"  # the arm is still forced


def test_other_visitors_are_decided_as_without_the_override() -> None:
    other = _visitor("control", "story-other-")
    for event in ("e1", "e2", "e3"):
        with_story = Decider(CATALOG, story=STORY).decide(_hesitating(other, event))
        without = Decider(CATALOG).decide(_hesitating(other, event))
        assert with_story is not None and without is not None
        assert with_story.decision == without.decision


def test_a_production_configured_worker_has_no_override_whatever_the_visitor_id() -> None:
    args = build_parser().parse_args(["worker"])
    assert story_override_of(args) is None
    assert "--story-override" not in build_parser().format_help()
    # the engine as such a worker builds it decides a story-looking control visitor as control
    engine = Engine(EngineOptions(), learn_inline=False, story=story_override_of(args))
    t = 1_800_000_000_000
    state = None
    for i in range(3):
        state = engine.on_event(state, click_event(
            CONTROL_STORY_VISITOR, "page_view", t + i * 1000, page_type="product",
            product_id="nc700", event_id=f"pv{i}")).state
    result = engine.on_event(state, click_event(
        CONTROL_STORY_VISITOR, "page_view", t + 5000, page_type="shipping_returns",
        event_id="pv-shipping"))
    assert result.decision is not None
    assert result.decision.experiment_arm == "control" and not result.decision.deliver
    assert result.decision.decision["policy"] == "linucb"


def test_the_worker_flag_is_parsed_into_the_override() -> None:
    args = build_parser().parse_args(["worker", f"--story-override={STORY.flag()}"])
    assert story_override_of(args) == STORY


@pytest.mark.parametrize("flag", ["story", "short=x", "story-long-prefix=", "story-long-=a,,b"])
def test_a_bad_override_is_refused(flag: str) -> None:
    with pytest.raises(DecideOptionsError):
        StoryOverride.parse(flag)
