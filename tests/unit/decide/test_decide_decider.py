"""The decider end to end (pure): the seed's stories, schema-valid records, arms, replays."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.validation import validate

from pipeline.decide import (
    Action,
    BanditStateError,
    Catalog,
    Decider,
    DeciderOptions,
    DecisionContext,
    DecisionHistory,
    LinUCB,
    assign_arm,
    decision_id_for,
    load_catalog,
)

ROOT = Path(__file__).parents[3]
CATALOG = load_catalog(ROOT / "deploy/catalog/actions.yaml")
NOW = 1_800_000_000_000


def _schemas() -> tuple[Any, Any]:
    named: dict[str, Any] = {}
    decision = fastavro.parse_schema(
        json.loads((ROOT / "schemas/Decision.avsc").read_text()), named_schemas=named
    )
    log = fastavro.parse_schema(
        json.loads((ROOT / "schemas/DecisionLog.avsc").read_text()), named_schemas=named
    )
    return decision, log


DECISION_SCHEMA, LOG_SCHEMA = _schemas()


def _visitor(arm: str, prefix: str = "visitor") -> str:
    return next(f"{prefix}-{i}" for i in range(1000) if assign_arm(f"{prefix}-{i}") == arm)


PERSONALIZED = _visitor("personalized")
CONTROL = _visitor("control")


def _ctx(numeric: dict[str, float], categorical: dict[str, str], **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "visitor_id": PERSONALIZED,
        "session_id": "s-1",
        "trigger_event_id": "evt-1",
        "trigger_event_type": "page_view",
        "event_time_ms": NOW,
        "numeric": numeric,
        "categorical": categorical,
        "consent": True,
    }
    fields.update(overrides)
    return DecisionContext(**fields)


def _eligible(outcome: Any) -> set[str]:
    return {e["action_id"] for e in outcome.log["eligible"]}


def _valid(outcome: Any) -> None:
    assert validate(outcome.decision, DECISION_SCHEMA, raise_errors=True)
    assert validate(outcome.log, LOG_SCHEMA, raise_errors=True)


SHIPPING_CTX: dict[str, Any] = {
    "numeric": {"max_views_same_product": 3.0, "product_views": 4.0, "signal_hesitation": 1.0},
    "categorical": {"sector": "ecommerce", "page_type": "shipping_returns", "category": "none"},
}


def test_ecommerce_hesitation_gets_free_express_shipping() -> None:
    outcome = Decider(CATALOG).decide(_ctx(**SHIPPING_CTX))
    assert outcome is not None
    _valid(outcome)
    assert _eligible(outcome) == {"no_action", "free_express_shipping"}
    not_enough = {**SHIPPING_CTX["numeric"], "max_views_same_product": 2.0}
    fewer = Decider(CATALOG).decide(_ctx(not_enough, SHIPPING_CTX["categorical"]))
    assert fewer is not None and _eligible(fewer) == {"no_action"}


@pytest.mark.parametrize(
    ("numeric", "categorical", "extras", "expected"),
    [
        (  # SaaS trial user circling a premium feature
            {"max_views_same_product": 3.0, "page_views": 6.0},
            {"sector": "saas", "page_type": "feature", "industry": "logistics"},
            {},
            "walkthrough_video_nudge",
        ),
        (  # travel: refreshing hotel search, with live inventory
            {"signal_search_refresh_loop": 1.0, "searches": 4.0, "page_views": 6.0},
            {"sector": "travel", "page_type": "search", "category": "montmartre"},
            {"rooms_left": "2"},
            "rooms_left_cue",
        ),
        (
            {"signal_search_refresh_loop": 1.0, "searches": 4.0, "page_views": 6.0},
            {"sector": "travel", "page_type": "search"},
            {},
            "reorder_by_availability",
        ),
        (  # finance: calculator fiddling then the eligibility tab
            {"signal_calculator_fiddling": 1.0, "calculator_changes": 7.0, "page_views": 5.0},
            {"sector": "finance", "page_type": "eligibility"},
            {},
            "one_click_eligibility_check",
        ),
        (  # indecision between two similar products
            {"signal_pogo_sticking": 1.0, "page_views": 7.0},
            {"sector": "ecommerce", "page_type": "product", "category": "headphones"},
            {},
            "comparison_guide",
        ),
        (
            {"page_views": 1.0},
            {"sector": "ecommerce", "page_type": "home", "traffic_source": "ads"},
            {},
            "hero_by_traffic_source",
        ),
    ],
)
def test_seed_stories_make_their_action_eligible(
    numeric: dict[str, float], categorical: dict[str, str], extras: dict[str, str], expected: str
) -> None:
    outcome = Decider(CATALOG).decide(_ctx(numeric, categorical, extras=extras))
    assert outcome is not None
    _valid(outcome)
    assert expected in _eligible(outcome)


def test_walkthrough_payload_is_tailored_to_the_industry() -> None:
    only_video = Catalog(actions=(CATALOG.no_action, CATALOG["walkthrough_video_nudge"]))
    decider = Decider(only_video, DeciderOptions(control_share=0.0))
    ctx = _ctx(
        {"max_views_same_product": 2.0},
        {"sector": "saas", "page_type": "feature", "industry": "healthcare"},
    )
    for i in range(20):  # find a decision that picked the video
        outcome = decider.decide(_ctx(ctx.numeric, ctx.categorical, trigger_event_id=f"e{i}"))
        assert outcome is not None
        if outcome.action.id == "walkthrough_video_nudge":
            assert outcome.decision["payload"]["video_id"] == "walkthrough-healthcare"
            assert outcome.deliver and outcome.decision["slot"] == "overlay"
            return
    pytest.fail("the video was never chosen in 20 decisions")


def test_rooms_left_cue_needs_live_inventory() -> None:
    numeric = {"signal_search_refresh_loop": 1.0}
    categorical = {"sector": "travel", "page_type": "search"}
    outcome = Decider(CATALOG).decide(_ctx(numeric, categorical))
    assert outcome is not None
    assert "rooms_left_cue" not in _eligible(outcome)
    assert "payload_unresolved:rooms_left_cue" in outcome.log["guardrails_fired"]


def test_first_time_buyer_discount_suppressed_after_a_purchase_on_another_device() -> None:
    numeric = {"product_views": 3.0}
    categorical = {"sector": "ecommerce", "page_type": "product"}
    fresh = Decider(CATALOG).decide(_ctx(numeric, categorical, intent_class="researching"))
    assert fresh is not None and "first_time_buyer_discount" in _eligible(fresh)
    bought = Decider(CATALOG).decide(
        _ctx(numeric, categorical, intent_class="researching", purchased_ever=True)
    )
    assert bought is not None
    assert "first_time_buyer_discount" not in _eligible(bought)
    assert "purchase_suppression:first_time_buyer_discount" in bought.log["guardrails_fired"]


def test_no_offers_in_compliance_zones() -> None:
    one_offer = Catalog(
        actions=(
            CATALOG.no_action,
            Action(id="cashback", slot="hero", ttl_seconds=60, offer=True),
            CATALOG["one_click_eligibility_check"],
        )
    )
    ctx = _ctx(
        {"signal_calculator_fiddling": 1.0},
        {"sector": "finance", "page_type": "eligibility"},
    )
    outcome = Decider(one_offer).decide(ctx)
    assert outcome is not None
    assert _eligible(outcome) == {"no_action", "one_click_eligibility_check"}
    assert outcome.log["guardrails_fired"] == ["compliance_zone:cashback"]


def test_opted_out_visitor_gets_no_decision_at_all() -> None:
    assert Decider(CATALOG).decide(_ctx(**SHIPPING_CTX, consent=False)) is None


@pytest.mark.parametrize(
    ("event_type", "new_signals", "changed", "decides"),
    [
        ("page_view", frozenset(), False, True),
        ("mouse_move", frozenset(), False, False),
        ("scroll", frozenset(), False, False),
        ("click", frozenset(), False, False),
        ("mouse_move", frozenset({"rage_click"}), False, True),
        ("click", frozenset(), True, True),
    ],
)
def test_only_triggers_that_matter_decide(
    event_type: str, new_signals: frozenset[str], changed: bool, decides: bool
) -> None:
    decider = Decider(CATALOG)
    assert decider.should_decide(event_type, new_signals, changed) is decides
    ctx = _ctx(
        **SHIPPING_CTX,
        trigger_event_type=event_type,
        new_signals=new_signals,
        intent_class_changed=changed,
    )
    assert (decider.decide(ctx) is not None) is decides


def test_decision_ids_are_deterministic_and_replays_are_identical() -> None:
    ctx = _ctx(**SHIPPING_CTX, trigger_event_id="evt-42")
    first = Decider(CATALOG).decide(ctx)
    again = Decider(CATALOG).decide(ctx)  # a restarted worker, same state
    assert first is not None and again is not None
    assert first.decision == again.decision and first.log == again.log
    assert first.decision["decision_id"] == decision_id_for("evt-42")
    other = Decider(CATALOG).decide(_ctx(**SHIPPING_CTX, trigger_event_id="evt-43"))
    assert other is not None and other.decision["decision_id"] != first.decision["decision_id"]


def test_logged_propensity_is_exact_and_sums_to_one() -> None:
    for i in range(30):
        outcome = Decider(CATALOG).decide(_ctx(**SHIPPING_CTX, trigger_event_id=f"e{i}"))
        assert outcome is not None
        probabilities = {e["action_id"]: e["probability"] for e in outcome.log["eligible"]}
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-12)
        assert outcome.decision["propensity"] == probabilities[outcome.action.id]
        assert outcome.propensity == outcome.decision["propensity"]


def test_control_arm_is_computed_and_logged_but_not_served() -> None:
    outcome = Decider(CATALOG).decide(_ctx(**SHIPPING_CTX, visitor_id=CONTROL))
    assert outcome is not None
    _valid(outcome)
    assert outcome.experiment_arm == "control" == outcome.decision["experiment_arm"]
    assert outcome.log["served"] is False and not outcome.served and not outcome.deliver
    assert outcome.history == DecisionHistory(session_id="s-1")  # nothing was shown


def test_no_action_is_logged_not_sent() -> None:
    only_nothing = Catalog(actions=(CATALOG.no_action,))
    outcome = Decider(only_nothing).decide(_ctx(**SHIPPING_CTX))
    assert outcome is not None
    _valid(outcome)
    assert outcome.action.id == "no_action" and outcome.propensity == 1.0
    assert outcome.served and not outcome.deliver
    assert outcome.decision["slot"] == "none" and outcome.decision["ttl_ms"] == 0


def test_delivered_action_updates_history_and_caps_apply_next_time() -> None:
    only_shipping = Catalog(actions=(CATALOG.no_action, CATALOG["free_express_shipping"]))
    decider = Decider(only_shipping, DeciderOptions(control_share=0.0))
    history = DecisionHistory()
    delivered = 0
    for i in range(40):
        outcome = decider.decide(_ctx(**SHIPPING_CTX, trigger_event_id=f"e{i}", history=history))
        assert outcome is not None
        history = outcome.history
        delivered += outcome.deliver
        if delivered:
            break
    assert delivered == 1
    assert history.shown_in_session("free_express_shipping") == 1
    capped = decider.decide(_ctx(**SHIPPING_CTX, trigger_event_id="next", history=history))
    assert capped is not None and _eligible(capped) == {"no_action"}
    assert capped.log["guardrails_fired"] == ["frequency_cap:free_express_shipping"]


def test_decision_fields_carry_versions_time_and_intent() -> None:
    decider = Decider(CATALOG)
    outcome = decider.decide(_ctx(**SHIPPING_CTX, intent_probability=0.3, intent_class="at_risk"))
    assert outcome is not None
    decision = outcome.decision
    assert decision["created_at"] == NOW
    assert decision["policy"] == "linucb"
    assert decision["policy_version"] == decider.policy_version
    assert decision["model_version"] == decider.bandit.version
    assert outcome.log["intent_probability"] == 0.3
    assert outcome.log["intent_class"] == "at_risk"
    assert len(outcome.context_vector) == decider.featurizer.dimension


def test_learning_from_rewards_changes_the_choice() -> None:
    two = Catalog(actions=(CATALOG.no_action, CATALOG["free_express_shipping"]))
    decider = Decider(two, DeciderOptions(control_share=0.0))
    for i in range(60):
        outcome = decider.decide(_ctx(**SHIPPING_CTX, trigger_event_id=f"train{i}"))
        assert outcome is not None
        reward = 1.0 if outcome.action.id == "free_express_shipping" else 0.0
        decider.learn(outcome.context_vector, outcome.action.id, reward)
    picks = [decider.decide(_ctx(**SHIPPING_CTX, trigger_event_id=f"eval{i}")) for i in range(200)]
    share = sum(p is not None and p.action.id == "free_express_shipping" for p in picks) / 200
    assert share >= 0.85


def test_resumed_bandit_must_match_the_featurizer() -> None:
    with pytest.raises(BanditStateError, match="does not match the featurizer"):
        Decider(CATALOG, bandit=LinUCB(3))
    decider = Decider(CATALOG)
    resumed = LinUCB.from_bytes(
        decider.bandit.to_bytes(),
        dimension=decider.featurizer.dimension,
        fingerprint=decider.featurizer.fingerprint,
    )
    assert Decider(CATALOG, bandit=resumed).bandit is resumed
