"""Decision reasons: true (the rule, the signal or intent that triggered it), marked as
personalized, short, and free of personal data, for every action of the shipped catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pipeline.decide import Decider, DecisionContext, assign_arm, load_catalog
from pipeline.decide.conditions import ConditionView
from pipeline.decide.reason import (
    INTENT_WORDS,
    MAX_REASON_CHARS,
    SIGNAL_WORDS,
    decision_reason,
    triggering_signals,
)
from pipeline.intent.options import INTENT_CLASSES
from pipeline.signals.rules import STRUGGLE_RULES

ROOT = Path(__file__).parents[3]
CATALOG = load_catalog(ROOT / "deploy/catalog/actions.yaml")
NOW = 1_800_000_000_000
EMAIL, NAME = "jane.doe@example.com", "Jane Doe"


def _visitor(arm: str) -> str:
    return next(f"{EMAIL}-{i}" for i in range(1000) if assign_arm(f"{EMAIL}-{i}") == arm)


def _ctx(visitor: str, **overrides: Any) -> DecisionContext:
    fields: dict[str, Any] = {
        "visitor_id": visitor, "session_id": NAME, "trigger_event_id": "evt-1",
        "trigger_event_type": "page_view", "event_time_ms": NOW,
        "numeric": {"max_views_same_product": 3.0, "product_views": 4.0,
                    "signal_hesitation": 1.0},
        "categorical": {"sector": "ecommerce", "page_type": "shipping_returns",
                        "category": NAME, "traffic_source": EMAIL},
        "consent": True,
    }
    fields.update(overrides)
    return DecisionContext(**fields)


def test_every_signal_and_intent_class_has_words() -> None:
    assert set(SIGNAL_WORDS) == set(STRUGGLE_RULES)
    assert set(INTENT_WORDS) == set(INTENT_CLASSES)


def test_the_decider_names_the_signal_and_the_rule_for_a_served_decision() -> None:
    decider = Decider(CATALOG)
    shown = None
    for i in range(200):  # the bandit may pick no_action: find a draw that shows the banner
        outcome = decider.decide(_ctx(_visitor("personalized"), trigger_event_id=f"evt-{i}"))
        assert outcome is not None
        if outcome.action.id == "free_express_shipping":
            shown = outcome
            break
    assert shown is not None
    reason = shown.decision["reason"]
    assert reason.startswith("Personalized for you: time-limited free express shipping banner")
    assert "Why: you paused on this page for a while." in reason
    assert shown.log["decision"]["reason"] == reason


def test_a_control_decision_has_a_reason_too_and_says_it_was_not_shown() -> None:
    outcome = Decider(CATALOG).decide(_ctx(_visitor("control")))
    assert outcome is not None and not outcome.served
    assert outcome.decision["reason"].startswith("Control group: ")
    assert "not personalized" in outcome.decision["reason"]


def test_every_catalog_action_gets_a_sentence_without_the_visitors_data() -> None:
    view = ConditionView({"signal_hesitation": 1.0}, {"category": NAME, "traffic_source": EMAIL},
                         {"hesitation", "pogo_sticking"}, intent_class="researching")
    for action in CATALOG:
        for control in (False, True):
            reason = decision_reason(action, view, control=control)
            assert reason and len(reason) <= MAX_REASON_CHARS, (action.id, reason)
            assert EMAIL not in reason and NAME not in reason and "Jane" not in reason
            if not control and not action.is_no_action:
                assert reason.startswith("Personalized for you: ")


def test_a_signal_not_in_the_rule_is_not_named() -> None:
    comparison = CATALOG["comparison_guide"]
    both = ConditionView({}, {}, {"pogo_sticking", "rage_click"})
    assert triggering_signals(comparison, both) == ["pogo_sticking"]
    reason = decision_reason(comparison, both)
    assert SIGNAL_WORDS["pogo_sticking"] in reason and SIGNAL_WORDS["rage_click"] not in reason


def test_intent_is_named_only_when_the_rule_asks_for_it() -> None:
    cta = CATALOG["cta_change"]
    assert decision_reason(cta, ConditionView({}, {}, intent_class="high_intent")).endswith(
        "Why: you seem ready to decide.")
    hero = CATALOG["hero_by_traffic_source"]
    assert "Why:" not in decision_reason(hero, ConditionView({}, {}, intent_class="high_intent"))


@given(description=st.text(max_size=600), signals=st.sets(st.sampled_from(STRUGGLE_RULES)),
       intent=st.sampled_from(INTENT_CLASSES), control=st.booleans())
def test_any_description_gives_a_bounded_reason(description: str, signals: set[str],
                                                intent: str, control: bool) -> None:
    from pipeline.decide.catalog import Action
    from pipeline.decide.conditions import Condition

    action = Action(id="some_action", slot="hero", description=description,
                    when=Condition(signals_any=frozenset(STRUGGLE_RULES)))
    reason = decision_reason(action, ConditionView({}, {}, signals, intent_class=intent),
                             control=control)
    assert 0 < len(reason) <= MAX_REASON_CHARS
    assert reason.startswith("Control group: " if control else "Personalized for you: ")
