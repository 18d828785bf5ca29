"""Applying records again after a crash: the learner ends where an uninterrupted run ends.

The worker's commit (``topologies/committer.py``) writes the learner checkpoint before
the visitor states; killed between the two, it restarts with a learner that already
holds records whose states were not stored, and applies those records again. These
tests replay exactly that, without Kafka, and compare with one uninterrupted run.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.engine import Engine, EngineOptions, Learner, VisitorState
from tests.fault.workload import build_workload

NOW_MS = 1_800_000_000_000
WORKLOAD = build_workload("ra", visitors=12, steps=12, now_ms=NOW_MS)
EVENTS = [*WORKLOAD.events, *WORKLOAD.flush]
OPTIONS = EngineOptions()

States = dict[str, VisitorState]


def _apply(engine: Engine, states: States, events: list[dict[str, Any]]) -> None:
    for event in events:
        visitor = str(event["visitor_id"])
        result = engine.on_event(states.get(visitor), event, None)
        if result.duplicate or result.late_reason is not None:
            continue
        if result.state is None:
            states.pop(visitor, None)
        else:
            states[visitor] = result.state


def _copy(states: States) -> States:
    return {v: VisitorState.from_bytes(s.to_bytes()) for v, s in states.items()}


def _learned(engine: Engine) -> tuple[int, frozenset[str], int]:
    learner = engine.learner
    pending = frozenset(d for v in WORKLOAD.visitors for d in learner.rewards.for_visitor(v))
    return learner.updates, pending, len(learner.labels)


UNINTERRUPTED = Engine(OPTIONS)
_apply(UNINTERRUPTED, {}, EVENTS)


@settings(max_examples=12, deadline=None)
@given(stored=st.integers(0, len(WORKLOAD.events)), ahead=st.integers(0, 160))
def test_a_learner_ahead_of_the_stored_states_applies_the_gap_again_without_double_counting(
        stored: int, ahead: int) -> None:
    checkpointed = min(stored + ahead, len(WORKLOAD.events))
    # Any span of event time: a decision among the records applied again may have been
    # registered, expired and rewarded before the crash; the learner remembers it closed.
    first, states = Engine(OPTIONS), {}
    _apply(first, states, EVENTS[:stored])
    stored_states = _copy(states)  # what the commit wrote before the crash
    _apply(first, states, EVENTS[stored:checkpointed])
    checkpoint = first.learner.to_bytes()  # ...and the learner checkpoint, ahead of them

    restarted = Engine(OPTIONS, learner=Learner.from_bytes(checkpoint, OPTIONS))
    _apply(restarted, stored_states, EVENTS[stored:])  # redelivered from the stored offsets

    assert _learned(restarted) == _learned(UNINTERRUPTED)
    assert restarted.learner.updates > 0  # the flush expired every reward: the bandit learned
