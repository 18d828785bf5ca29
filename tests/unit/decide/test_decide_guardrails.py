"""Each guardrail, alone and in the default chain."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.decide import (
    Action,
    ComplianceZone,
    ComplianceZoneGuardrail,
    ConsentGuardrail,
    DecisionContext,
    DecisionHistory,
    DismissedGuardrail,
    FrequencyCapGuardrail,
    FrequencyCaps,
    GuardrailOptions,
    OverlayGuardrail,
    PurchaseSuppressionGuardrail,
    apply_guardrails,
    default_guardrails,
)

NO_ACTION = Action(id="no_action", slot="none")
SHIPPING = Action(id="free_express_shipping", slot="hero", ttl_seconds=1200, offer=True)
WELCOME = Action(
    id="first_time_buyer_discount",
    slot="overlay",
    ttl_seconds=1800,
    offer=True,
    first_time_buyer_offer=True,
    caps=FrequencyCaps(per_session=1, per_visitor=2),
)
VIDEO = Action(id="walkthrough_video_nudge", slot="overlay", ttl_seconds=600)
CHECK = Action(id="one_click_eligibility_check", slot="inline", ttl_seconds=900)
CTA = Action(id="cta_change", slot="cta", ttl_seconds=900, caps=FrequencyCaps(per_session=3))
ALL = (NO_ACTION, SHIPPING, WELCOME, VIDEO, CHECK, CTA)


def _ctx(**overrides: Any) -> DecisionContext:
    fields: dict[str, Any] = {
        "visitor_id": "v",
        "session_id": "s1",
        "trigger_event_id": "e",
        "trigger_event_type": "page_view",
        "event_time_ms": 0,
        "numeric": {},
        "categorical": {"sector": "ecommerce", "page_type": "product", "category": "audio"},
        "consent": True,
    }
    fields.update(overrides)
    return DecisionContext(**fields)


def test_consent_opt_out_halts_everything() -> None:
    verdict = apply_guardrails(default_guardrails(GuardrailOptions()), _ctx(consent=False), ALL)
    assert verdict.halted and verdict.halted_by == "consent" and verdict.kept == ()
    assert not ConsentGuardrail().apply(_ctx(), ALL).halt


def test_compliance_zone_removes_offers_but_keeps_assistance() -> None:
    ctx = _ctx(categorical={"sector": "finance", "page_type": "eligibility"})
    result = ComplianceZoneGuardrail(GuardrailOptions().compliance_zones).apply(ctx, ALL)
    assert result.removed == {"free_express_shipping", "first_time_buyer_discount"}


def test_compliance_zone_by_category_and_block_all() -> None:
    zones = (ComplianceZone("health", categories=frozenset({"pharmacy"})),)
    ctx = _ctx(categorical={"sector": "ecommerce", "page_type": "product", "category": "pharmacy"})
    assert ComplianceZoneGuardrail(zones, blocks_all=True).apply(ctx, ALL).removed == {
        a.id for a in ALL if not a.is_no_action
    }
    outside = _ctx(categorical={"sector": "ecommerce", "page_type": "product", "category": "tv"})
    assert ComplianceZoneGuardrail(zones, blocks_all=True).apply(outside, ALL).removed == set()


def test_empty_zone_contains_nothing() -> None:
    assert not ComplianceZone("nothing").contains({"sector": "finance"})


@pytest.mark.parametrize(
    ("purchased_ever", "numeric"),
    [(True, {}), (False, {"past_purchases": 2.0}), (False, {"converted": 1.0})],
)
def test_no_first_time_buyer_offer_after_any_purchase(
    purchased_ever: bool, numeric: dict[str, float]
) -> None:
    ctx = _ctx(purchased_ever=purchased_ever, numeric=numeric)
    assert PurchaseSuppressionGuardrail().apply(ctx, ALL).removed == {"first_time_buyer_discount"}


def test_first_time_buyer_offer_stays_for_new_buyers() -> None:
    assert PurchaseSuppressionGuardrail().apply(_ctx(), ALL).removed == set()


def test_per_action_caps_per_session_and_visitor() -> None:
    history = DecisionHistory()
    for i in range(3):
        history = history.with_delivered("s1", f"d{i}", "cta_change", "cta")
    assert FrequencyCapGuardrail().apply(_ctx(history=history), ALL).removed == {"cta_change"}
    # a new session resets the session cap
    assert FrequencyCapGuardrail().apply(_ctx(history=history, session_id="s2"), ALL).removed == (
        set()
    )
    welcome = DecisionHistory()
    for session in ("a", "b"):
        welcome = welcome.with_delivered(session, f"w{session}", WELCOME.id, "overlay")
    ctx = _ctx(history=welcome, session_id="c")
    assert FrequencyCapGuardrail().apply(ctx, ALL).removed == {WELCOME.id}


def test_global_caps_remove_everything_but_no_action() -> None:
    history = DecisionHistory().with_delivered("s1", "d1", "cta_change", "cta")
    per_session = FrequencyCapGuardrail(max_per_session=1).apply(_ctx(history=history), ALL)
    assert per_session.removed == {a.id for a in ALL if not a.is_no_action}
    per_visitor = FrequencyCapGuardrail(max_per_visitor=1).apply(
        _ctx(history=history, session_id="s9"), ALL
    )
    assert per_visitor.removed == {a.id for a in ALL if not a.is_no_action}


def test_dismissed_action_never_reshown_in_the_session() -> None:
    history = DecisionHistory().with_delivered("s1", "d1", "cta_change", "cta")
    history = history.with_outcome("d1", "dismissed")
    assert DismissedGuardrail().apply(_ctx(history=history), ALL).removed == {"cta_change"}
    assert DismissedGuardrail().apply(_ctx(history=history, session_id="s2"), ALL).removed == set()


def test_one_overlay_per_session_unless_dismissed() -> None:
    shown = DecisionHistory().with_delivered("s1", "d1", VIDEO.id, "overlay")
    assert OverlayGuardrail().apply(_ctx(history=shown), ALL).removed == {VIDEO.id, WELCOME.id}
    dismissed = shown.with_outcome("d1", "dismissed")
    assert OverlayGuardrail().apply(_ctx(history=dismissed), ALL).removed == set()
    # after the dismissal, a second overlay is shown: again at most one
    again = dismissed.with_delivered("s1", "d2", WELCOME.id, "overlay")
    assert OverlayGuardrail().apply(_ctx(history=again), ALL).removed == {VIDEO.id, WELCOME.id}
    # a non-overlay dismissal does not unlock overlays
    cta = shown.with_delivered("s1", "d3", "cta_change", "cta").with_outcome("d3", "dismissed")
    assert OverlayGuardrail().apply(_ctx(history=cta), ALL).removed == {VIDEO.id, WELCOME.id}
    assert OverlayGuardrail().apply(_ctx(history=shown, session_id="s2"), ALL).removed == set()


def test_chain_logs_each_removal_and_never_removes_no_action() -> None:
    history = DecisionHistory().with_delivered("s1", "d1", VIDEO.id, "overlay")
    ctx = _ctx(purchased_ever=True, history=history)
    verdict = apply_guardrails(default_guardrails(GuardrailOptions()), ctx, ALL)
    assert [a.id for a in verdict.kept] == [
        "no_action",
        "free_express_shipping",
        "one_click_eligibility_check",
        "cta_change",
    ]
    assert verdict.fired == (
        "purchase_suppression:first_time_buyer_discount",
        "one_overlay_per_session:walkthrough_video_nudge",
    )


def test_custom_guardrail_order_and_no_action_protection() -> None:
    class RemoveEverything:
        name = "remove_everything"

        def apply(self, ctx: DecisionContext, candidates: Any) -> Any:
            from pipeline.decide import GuardrailResult

            return GuardrailResult(self.name, frozenset(a.id for a in candidates))

    verdict = apply_guardrails([RemoveEverything()], _ctx(), ALL)
    assert [a.id for a in verdict.kept] == ["no_action"]
    assert len(verdict.fired) == len(ALL) - 1
