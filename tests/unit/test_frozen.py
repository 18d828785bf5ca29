"""pipeline.frozen: the hot path's positional makers build what the frozen classes build."""

from __future__ import annotations

import copy
import pickle
from dataclasses import FrozenInstanceError, dataclass, field, fields, replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.decide.bandit import ArmScore, BanditChoice
from pipeline.decide.catalog import Action
from pipeline.decide.conditions import ConditionView
from pipeline.decide.context import DecisionContext, DecisionOutcome
from pipeline.decide.guardrails import GuardrailVerdict
from pipeline.decide.history import DecisionHistory, DeliveredAction
from pipeline.decide.payload import PayloadContext
from pipeline.decide.vocabulary import SIGNAL_RULES
from pipeline.engine.routing import Output
from pipeline.engine.visitor import LabelSnapshot
from pipeline.feedback.rows import PendingDecision
from pipeline.feedback.update import RewardUpdate
from pipeline.frozen import maker
from pipeline.sessions.features import SessionFeatures
from pipeline.sessions.step import SessionStep

#: The classes the hot path builds with a maker (ConditionView is checked on its own: its
#: maker's caller computes what its __post_init__ would).
CLASSES = [ArmScore, BanditChoice, DecisionContext, DecisionOutcome, GuardrailVerdict,
           DecisionHistory, DeliveredAction, PayloadContext, Output, LabelSnapshot,
           PendingDecision, RewardUpdate, SessionFeatures, SessionStep]

#: Any value a field may hold (the maker never looks at them).
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8),
    st.tuples(st.integers()), st.frozensets(st.text(max_size=3), max_size=3),
)


def _same(made: Any, built: Any) -> None:
    """Both directions: the same type, fields, equality, hash, repr, and still frozen."""
    assert type(made) is type(built)
    if hasattr(built, "__dict__"):
        assert vars(made) == vars(built)
        assert list(vars(made)) == list(vars(built))  # the same fields, in the same order
    for f in fields(built):
        mine, theirs = getattr(made, f.name), getattr(built, f.name)
        assert mine is theirs or (type(mine) is type(theirs) and mine == theirs)
    assert made == built and built == made
    assert repr(made) == repr(built)
    try:
        expected_hash: int | None = hash(built)
    except TypeError:  # an unhashable field value: both refuse
        expected_hash = None
        with pytest.raises(TypeError):
            hash(made)
    if expected_hash is not None:
        assert hash(made) == expected_hash
    for f in fields(built):
        with pytest.raises(FrozenInstanceError):
            setattr(made, f.name, None)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), cls=st.sampled_from(CLASSES))
def test_a_maker_builds_what_the_class_builds(data: st.DataObject, cls: type) -> None:
    values = [data.draw(VALUES) for f in fields(cls) if f.init]  # no memo: it starts empty
    made = maker(cls)(*values)
    _same(made, cls(*values))
    assert pickle.loads(pickle.dumps(made)) == made
    assert copy.copy(made) == made
    assert replace(made) == made


@settings(max_examples=300, deadline=None)
@given(
    numeric=st.dictionaries(
        st.sampled_from([*(f"signal_{rule}" for rule in SIGNAL_RULES), "page_views"]),
        st.floats(allow_nan=True, allow_infinity=True), max_size=6),
    active=st.frozensets(st.sampled_from([*SIGNAL_RULES, "other"]))
    | st.sets(st.sampled_from([*SIGNAL_RULES, "other"])),
    probability=st.floats(allow_nan=False), intent=st.sampled_from(["browsing", "ready"]),
    page_type=st.sampled_from(["product", "home", None]),
)
def test_a_decision_contexts_views_are_what_the_classes_build(
        numeric: dict[str, float], active: frozenset[str] | set[str], probability: float,
        intent: str, page_type: str | None) -> None:
    categorical = {} if page_type is None else {"page_type": page_type}
    ctx = DecisionContext("v", "s", "e", "click", 7, numeric, categorical, True,
                          active_signals=active,  # type: ignore[arg-type]
                          intent_probability=probability, intent_class=intent,
                          extras={"rooms_left": "2"})
    _same(ctx.view(), ConditionView(numeric, categorical, active, probability, intent))
    _same(ctx.payload_context(), PayloadContext(numeric, categorical, {"rooms_left": "2"},
                                                intent, 7))


@settings(max_examples=200, deadline=None)
@given(
    session=st.sampled_from(["s1", "s2"]),
    visitor=st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 3)),
    deliveries=st.lists(st.tuples(st.sampled_from(["s1", "s2"]), st.sampled_from(["a", "b"]),
                                  st.sampled_from(["hero", "overlay"])), max_size=4),
)
def test_histories_are_what_the_class_builds(session: str, visitor: dict[str, int],
                                             deliveries: list[tuple[str, str, str]]) -> None:
    history = DecisionHistory(session_id="s1", shown_session={"a": 1}, shown_visitor=visitor)
    seen = history.for_session(session)
    _same(seen, history if session == "s1" else DecisionHistory(
        session_id=session, shown_visitor=dict(visitor)))
    for index, (in_session, action, slot) in enumerate(deliveries):
        base = history.for_session(in_session)
        shown_session = dict(base.shown_session)
        shown_session[action] = shown_session.get(action, 0) + 1
        shown_visitor = dict(base.shown_visitor)
        shown_visitor[action] = shown_visitor.get(action, 0) + 1
        expected = DecisionHistory(
            in_session, shown_session, shown_visitor, base.dismissed_session,
            base.overlays_session + (slot == "overlay"),
            False if slot == "overlay" else base.last_overlay_dismissed,
            (*base.delivered, DeliveredAction(f"d{index}", action, slot))[-32:])
        history = history.with_delivered(in_session, f"d{index}", action, slot)
        _same(history, expected)
        assert DecisionHistory.from_bytes(history.to_bytes()) == history


def test_the_bandit_guardrails_and_pending_rewards_build_what_the_classes_build() -> None:
    from pipeline.decide.bandit import LinUCB
    from pipeline.decide.guardrails import apply_guardrails
    from pipeline.feedback import PendingRewards

    choice = LinUCB(2).choose([1.0, 0.5], ["a", "b"], "d1")
    _same(choice, BanditChoice(choice.action_id, choice.propensity, tuple(
        ArmScore(a.action_id, a.probability, a.score) for a in choice.distribution)))
    verdict = apply_guardrails((), DecisionContext("v", "s", "e", "click", 0, {}, {}, True),
                               (Action(id="no_action", slot="none"),))
    _same(verdict, GuardrailVerdict((Action(id="no_action", slot="none"),), ()))
    pending = PendingRewards()
    pending.register({"decision_id": "d", "visitor_id": "v", "action_id": "a",
                      "propensity": 0.5, "created_at": 3}, (1.0, 2.0))
    _same(pending.get("d"), PendingDecision("d", "v", "a", (1.0, 2.0), 3, 0.5))
    update = pending.on_outcome({"decision_id": "d", "kind": "shown", "event_time": 4})
    assert update is not None
    _same(pending.get("d"), PendingDecision("d", "v", "a", (1.0, 2.0), 3, 0.5,
                                            frozenset({"shown"}), 0.0, True))
    _same(update, RewardUpdate("d", "a", (1.0, 2.0), update.reward, update.total_reward, True,
                               "shown", 0.5, 4))


def test_a_maker_refuses_what_it_cannot_build_and_builds_slotted_classes() -> None:
    @dataclass
    class Mutable:
        x: int

    @dataclass(frozen=True, slots=True)
    class Slotted:
        x: int

    @dataclass(frozen=True)
    class Defaults:
        x: int
        y: list[int] = field(default_factory=list)

    for cls in (Mutable, int):
        with pytest.raises(TypeError):
            maker(cls)
    with pytest.raises(TypeError):  # every field is positional and required
        maker(Defaults)(1)
    _same(maker(Defaults)(1, []), Defaults(1, []))
    _same(maker(Slotted)(3), Slotted(3))
