"""The decider's per-catalog caches and loop shortcuts give exactly what the plain
computations give, and a cache follows the catalog it was built from."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.decide import (
    Action,
    Catalog,
    Decider,
    DecisionContext,
    DecisionHistory,
    FrequencyCapGuardrail,
    FrequencyCaps,
)
from pipeline.decide.catalog import load_catalog
from pipeline.decide.conditions import ConditionView
from pipeline.decide.decider import _MAX_PAGES
from pipeline.decide.payload import PayloadContext, render_payload
from pipeline.decide.vocabulary import INTENT_CLASSES, PAGE_TYPES, SECTORS, SIGNAL_RULES

NO_ACTION = Action(id="no_action", slot="none")
IDS = ("a", "b", "c")
CAP = st.none() | st.integers(0, 3)


def reference_capped(guardrail: FrequencyCapGuardrail, ctx: DecisionContext,
                     candidates: Sequence[Action]) -> frozenset[str]:
    """What the frequency cap removed before its loop (one closure per decision)."""
    history = ctx.history.for_session(ctx.session_id)
    session_full = (guardrail.max_per_session is not None
                    and history.total_session >= guardrail.max_per_session)
    visitor_full = (guardrail.max_per_visitor is not None
                    and history.total_visitor >= guardrail.max_per_visitor)

    def capped(action: Action) -> bool:
        caps = action.caps
        return (session_full or visitor_full
                or (caps.per_session is not None
                    and history.shown_in_session(action.id) >= caps.per_session)
                or (caps.per_visitor is not None
                    and history.shown_to_visitor(action.id) >= caps.per_visitor))

    return frozenset(a.id for a in candidates if not a.is_no_action and capped(a))


@settings(max_examples=300, deadline=None)
@given(
    caps=st.lists(st.tuples(CAP, CAP), min_size=3, max_size=3),
    deliveries=st.lists(st.tuples(st.sampled_from(["s1", "s2"]), st.sampled_from(IDS)),
                        max_size=8),
    session=st.sampled_from(["s1", "s2", "s3"]),
    max_per_session=CAP,
    max_per_visitor=CAP,
)
def test_the_frequency_cap_removes_what_the_reference_removes(
        caps: list[tuple[int | None, int | None]], deliveries: list[tuple[str, str]],
        session: str, max_per_session: int | None, max_per_visitor: int | None) -> None:
    candidates = [NO_ACTION] + [
        Action(id=action_id, slot="hero", caps=FrequencyCaps(per_session, per_visitor))
        for action_id, (per_session, per_visitor) in zip(IDS, caps, strict=True)]
    history = DecisionHistory()
    for index, (delivered_in, action_id) in enumerate(deliveries):
        history = history.with_delivered(delivered_in, f"d{index}", action_id, "hero")
    ctx = DecisionContext("v", session, "e", "page_view", 0, {}, {}, consent=True,
                          history=history)
    guardrail = FrequencyCapGuardrail(max_per_session, max_per_visitor)
    result = guardrail.apply(ctx, candidates)
    assert result.removed == reference_capped(guardrail, ctx, candidates)
    assert (result.name, result.halt) == ("frequency_cap", False)


@settings(max_examples=200, deadline=None)
@given(flags=st.dictionaries(st.sampled_from([f"signal_{r}" for r in SIGNAL_RULES]),
                             st.sampled_from([0.0, 1.0, -1.0, 2.0])),
       active=st.frozensets(st.sampled_from([*SIGNAL_RULES, "other"]))
       | st.sets(st.sampled_from(SIGNAL_RULES)))
def test_a_views_signals_are_the_active_ones_and_the_flags_set(
        flags: dict[str, float], active: frozenset[str] | set[str]) -> None:
    view = ConditionView(flags, {}, active)
    expected = frozenset(active) | {rule for rule in SIGNAL_RULES
                                    if flags.get(f"signal_{rule}", 0.0) > 0.0}
    assert view.signals == expected
    assert type(view.signals) is frozenset


def _catalog(headline: str, fingerprint: str) -> Catalog:
    return Catalog(actions=(NO_ACTION, Action(id="hero", slot="hero", ttl_seconds=60,
                                              payload={"headline": headline, "x": "{{y}}"})),
                   fingerprint=fingerprint)


def _ctx(event_id: str) -> DecisionContext:
    return DecisionContext("v", "s", event_id, "page_view", 0, {}, {}, consent=True)


def _payloads(decider: Decider, event_id: str) -> dict[str, dict[str, str]]:
    outcome = decider.decide(_ctx(event_id))
    assert outcome is not None
    # every candidate's payload is in the decision of the one chosen: decide for each
    return {outcome.action.id: outcome.decision["payload"]}


def test_a_static_payload_is_rendered_as_render_payload_does_and_never_shared() -> None:
    decider = Decider(_catalog("Hello {{you}}", "one"))
    seen: dict[str, dict[str, str]] = {}
    for index in range(40):  # both arms get chosen among 40 seeded draws
        seen.update(_payloads(decider, f"e{index}"))
    assert set(seen) == {"no_action", "hero"}
    hero = decider.catalog["hero"]
    assert seen["hero"] == render_payload(hero, PayloadContext()) == {
        "headline": "Hello {you}", "x": "{y}"}
    assert seen["no_action"] == {}
    first = decider.decide(_ctx("e1"))
    again = decider.decide(_ctx("e1"))
    assert first is not None and again is not None
    first.decision["payload"]["headline"] = "changed"  # one decision's dict is its own
    assert again.decision["payload"] != first.decision["payload"]
    assert decider.decide(_ctx("e1")).decision["payload"] == again.decision["payload"]


def test_the_static_payloads_follow_a_new_catalog() -> None:
    decider = Decider(_catalog("Old", "one"))
    chosen = {}
    for index in range(40):
        outcome = decider.decide(_ctx(f"e{index}"))
        assert outcome is not None
        chosen[outcome.action.id] = f"e{index}"
    hero_event = chosen["hero"]
    assert decider.decide(_ctx(hero_event)).decision["payload"]["headline"] == "Old"
    decider.catalog = _catalog("New", "two")  # the catalog published live
    outcome = decider.decide(_ctx(hero_event))
    assert outcome.decision["payload"]["headline"] == "New"
    assert outcome.decision["policy_version"] == "catalog-v1-two"


DEPLOYED = load_catalog(Path(__file__).parents[3] / "deploy/catalog/actions.yaml")


@settings(max_examples=300, deadline=None)
@given(
    sector=st.sampled_from([*SECTORS, "unknown", "odd"]),
    page_type=st.sampled_from([*PAGE_TYPES, "unknown"]),
    numeric=st.dictionaries(st.sampled_from(
        ["product_views", "max_views_same_product", "cart_value", "searches",
         *(f"signal_{r}" for r in SIGNAL_RULES)]), st.sampled_from([0.0, 1.0, 2.0, 3.0, 50.0])),
    intent=st.sampled_from(INTENT_CLASSES),
    probability=st.floats(0.0, 1.0),
)
def test_eligibility_by_page_is_what_each_action_says(
        sector: str, page_type: str, numeric: dict[str, float], intent: str,
        probability: float) -> None:
    decider = Decider(DEPLOYED)
    view = ConditionView(numeric, {"sector": sector, "page_type": page_type}, frozenset(),
                         probability, intent)
    want = tuple(a for a in DEPLOYED if a.applies_to(view))
    assert decider._eligible(view) == want
    assert decider._eligible(view) == want  # the page's screens remembered


def test_the_pages_screens_follow_a_new_catalog_and_stay_bounded() -> None:
    home = Action(id="hero", slot="hero", page_types=frozenset({"home"}))
    elsewhere = Action(id="hero", slot="hero", page_types=frozenset({"product"}))
    decider = Decider(Catalog(actions=(NO_ACTION, home), fingerprint="one"))
    view = ConditionView({}, {"sector": "ecommerce", "page_type": "home"})
    assert [a.id for a in decider._eligible(view)] == ["no_action", "hero"]
    decider.catalog = Catalog(actions=(NO_ACTION, elsewhere), fingerprint="two")
    assert [a.id for a in decider._eligible(view)] == ["no_action"]
    for index in range(3 * _MAX_PAGES):  # sectors come from events: any text
        decider._eligible(ConditionView({}, {"sector": f"s{index}", "page_type": "home"}))
    assert len(decider._pages) <= _MAX_PAGES
    assert [a.id for a in decider._eligible(view)] == ["no_action"]
