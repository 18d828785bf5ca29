"""Reward joins: the wait, the default reward, negative dismissals, corrections, bounds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.validation import validate
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.decide import LinUCB
from pipeline.feedback import (
    OUTCOME_KINDS,
    PendingRewards,
    PendingRewardsError,
    RewardInputError,
    RewardOptions,
    RewardOptionsError,
    RewardUpdate,
    UnknownOutcomeKind,
)

ROOT = Path(__file__).parents[3]
OUTCOME_SCHEMA = fastavro.parse_schema(json.loads((ROOT / "schemas/Outcome.avsc").read_text()))
T0 = 1_800_000_000_000
WAIT = RewardOptions().reward_wait_ms


def _decision(decision_id: str = "d1", at: int = T0, action: str = "cta_change") -> dict[str, Any]:
    return {
        "decision_id": decision_id,
        "visitor_id": "v1",
        "action_id": action,
        "propensity": 0.4,
        "created_at": at,
    }


def _outcome(kind: str, at: int, decision_id: str = "d1", value: float = 0.0) -> dict[str, Any]:
    outcome = {
        "outcome_id": f"{decision_id}:{kind}:{at}",
        "decision_id": decision_id,
        "visitor_id": "v1",
        "kind": kind,
        "value": value,
        "event_time": at,
    }
    assert validate(outcome, OUTCOME_SCHEMA, raise_errors=True)
    return outcome


def test_reward_wait_is_ten_minutes_of_event_time() -> None:
    assert WAIT == 600_000


def test_no_outcome_within_the_wait_gets_the_default_reward() -> None:
    pending = PendingRewards(RewardOptions(default_reward=0.0))
    pending.register(_decision(), (1.0, 0.5))
    assert pending.expire(T0 + WAIT - 1) == []
    (update,) = pending.expire(T0 + WAIT)
    assert update == RewardUpdate(
        decision_id="d1",
        action_id="cta_change",
        context=(1.0, 0.5),
        reward=0.0,
        total_reward=0.0,
        new_observation=True,
        reason="expired",
        propensity=0.4,
        event_time_ms=T0 + WAIT,
    )
    assert len(pending) == 0 and pending.expire(T0 + 10 * WAIT) == []


def test_default_reward_is_configurable() -> None:
    pending = PendingRewards(RewardOptions(default_reward=-0.1))
    pending.register(_decision(), (1.0,))
    assert [u.reward for u in pending.expire(T0 + WAIT)] == [-0.1]


def test_dismissal_is_a_negative_reward() -> None:
    pending = PendingRewards()
    pending.register(_decision(), (1.0,))
    update = pending.on_outcome(_outcome("dismissed", T0 + 1_000))
    assert update is not None
    assert update.reward == -0.5 and update.new_observation and update.reason == "dismissed"


def test_shown_then_clicked_then_converted_adds_up_with_corrections() -> None:
    pending = PendingRewards(RewardOptions(revenue_weight=0.01))
    pending.register(_decision(), (1.0,))
    shown = pending.on_outcome(_outcome("shown", T0 + 100))
    clicked = pending.on_outcome(_outcome("clicked", T0 + 200))
    converted = pending.on_outcome(_outcome("converted", T0 + 300, value=150.0))
    assert shown is not None and clicked is not None and converted is not None
    assert (shown.reward, shown.new_observation) == (0.0, True)
    assert (clicked.reward, clicked.new_observation, clicked.total_reward) == (1.0, False, 1.0)
    assert converted.reward == pytest.approx(2.5) and converted.total_reward == pytest.approx(3.5)
    assert pending.expire(T0 + WAIT) == []  # already learned: closes silently


def test_duplicate_late_and_unknown_outcomes_are_ignored() -> None:
    pending = PendingRewards()
    pending.register(_decision(), (1.0,))
    assert pending.on_outcome(_outcome("clicked", T0 + 1)) is not None
    assert pending.on_outcome(_outcome("clicked", T0 + 2)) is None  # re-delivered
    assert pending.on_outcome(_outcome("ignored", T0 + 3)) is None  # weight 0: nothing to learn
    assert pending.on_outcome(_outcome("converted", T0 + WAIT + 1)) is None  # past the wait
    assert pending.on_outcome(_outcome("clicked", T0, decision_id="unknown")) is None
    with pytest.raises(UnknownOutcomeKind, match="unknown outcome kind"):
        pending.on_outcome({"decision_id": "d1", "kind": "liked", "event_time": T0})


def test_registration_is_idempotent() -> None:
    pending = PendingRewards()
    assert pending.register(_decision(), (1.0,)) == []
    assert pending.register(_decision(), (9.0,)) == []
    pending_entry = pending.get("d1")
    assert pending_entry is not None and pending_entry.context == (1.0,)


def test_bounded_pending_evicts_the_oldest_with_the_default_reward() -> None:
    pending = PendingRewards(RewardOptions(max_pending=2))
    pending.register(_decision("a", T0), (1.0,))
    pending.register(_decision("b", T0 + 1), (1.0,))
    pending.on_outcome(_outcome("clicked", T0 + 2, decision_id="a"))
    assert pending.register(_decision("c", T0 + 3), (1.0,)) == []  # "a" already learned
    evicted = pending.register(_decision("d", T0 + 4), (1.0,))
    assert [(u.decision_id, u.reason, u.reward) for u in evicted] == [("b", "evicted", 0.0)]
    assert len(pending) == 2


def test_expiry_only_touches_due_decisions_in_time_order() -> None:
    pending = PendingRewards()
    for i, at in enumerate((T0 + 50, T0, T0 + WAIT)):
        pending.register(_decision(f"d{i}", at), (1.0,))
    due = pending.expire(T0 + WAIT + 50)
    assert [u.decision_id for u in due] == ["d1", "d0"]
    assert "d2" in pending


def test_erasure_forgets_a_visitors_pending_decisions() -> None:
    pending = PendingRewards()
    pending.register(_decision("a"), (1.0,))
    other = {**_decision("b"), "visitor_id": "v2"}
    pending.register(other, (1.0,))
    assert pending.discard_visitor("v1") == 1
    assert "a" not in pending and "b" in pending


def test_updates_feed_the_bandit_immediately_and_exactly() -> None:
    x = (1.0, 0.25)
    pending = PendingRewards()
    bandit = LinUCB(2)
    pending.register(_decision(), x)
    for kind in ("shown", "clicked", "dismissed"):
        update = pending.on_outcome(_outcome(kind, T0 + 10))
        assert update is not None
        bandit.apply(update)
    reference = LinUCB(2)
    reference.update(x, "cta_change", 0.5)  # 0 + 1 - 0.5, one observation
    assert bandit.scores(x, ["cta_change"]) == pytest.approx(reference.scores(x, ["cta_change"]))
    assert bandit.observations("cta_change") == 1


def test_reward_options_reject_unknown_kinds_and_bad_bounds() -> None:
    with pytest.raises(UnknownOutcomeKind, match="unknown outcome kind"):
        RewardOptions().weight("liked")
    with pytest.raises(RewardOptionsError, match="reward_wait_ms"):
        RewardOptions(reward_wait_ms=-1)
    with pytest.raises(RewardOptionsError, match="max_pending"):
        RewardOptions(max_pending=0)


def test_non_finite_context_vectors_are_refused() -> None:
    with pytest.raises(RewardInputError, match="non-finite"):
        PendingRewards().register(_decision(), (float("nan"),))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b'{"v": 2, "pending": []}',
        b'{"v": 1, "pending": [["d"]]}',
        b'{"v":1,"pending":[["d","v","a","!!",0,1.0,[],0.0,false]]}',
        b'{"v":1,"pending":[["d","v","a","AAAAAAAA8D8=",0,1.0,["liked"],0.0,false]]}',
    ],
)
def test_bad_bytes_raise_pending_rewards_error(data: bytes) -> None:
    with pytest.raises(PendingRewardsError):
        PendingRewards.from_bytes(data)


_vectors = st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=5)


@settings(max_examples=60, deadline=None)
@given(
    decisions=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 2 * WAIT), _vectors),
        max_size=6,
    ),
    outcomes=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d"]),
            st.sampled_from(OUTCOME_KINDS),
            st.integers(0, 2 * WAIT),
            st.floats(0, 1e4),
        ),
        max_size=8,
    ),
    clock=st.integers(0, 3 * WAIT),
)
def test_serialization_round_trips_and_behaves_the_same(
    decisions: list[tuple[str, int, list[float]]],
    outcomes: list[tuple[str, str, int, float]],
    clock: int,
) -> None:
    pending = PendingRewards(RewardOptions(max_pending=3))
    for decision_id, at, vector in decisions:
        pending.register(_decision(decision_id, T0 + at), vector)
    half = len(outcomes) // 2
    for decision_id, kind, at, value in outcomes[:half]:
        pending.on_outcome(_outcome(kind, T0 + at, decision_id, value))
    restored = PendingRewards.from_bytes(pending.to_bytes(), RewardOptions(max_pending=3))
    assert restored.to_bytes() == pending.to_bytes()
    for decision_id, kind, at, value in outcomes[half:]:
        outcome = _outcome(kind, T0 + at, decision_id, value)
        assert restored.on_outcome(outcome) == pending.on_outcome(outcome)
    assert restored.expire(T0 + clock) == pending.expire(T0 + clock)
    assert restored.to_bytes() == pending.to_bytes()
