"""Pending rewards with a heap behave exactly as the scanning code they replaced.

The reference below is the scanning implementation (register: ``min()`` over every pending
decision, then a rescan for the next deadline; expire: a scan, a sort and a rescan;
discard_visitor: a rescan), kept here only as the model. Random sequences of register,
on_outcome, expire, for_visitor, discard_visitor and checkpoint round trips (sometimes
restored with other options, e.g. a smaller ``max_pending``, so that one registration
evicts several) must return the same updates in the same order and leave the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.feedback import (
    OUTCOME_KINDS,
    PendingDecision,
    PendingRewards,
    RewardInputError,
    RewardOptions,
    RewardUpdate,
)


class ScanningPendingRewards(PendingRewards):
    """The scanning implementation (before the heap) of everything the heap changed.

    on_outcome, to_bytes, _close and the decoding are inherited: the heap did not touch
    them. The inherited ``_heap`` is never read here.
    """

    def __init__(self, options: RewardOptions | None = None) -> None:
        super().__init__(options)
        self._next_deadline: int | None = None

    def register(self, decision: Mapping[str, Any], context: Sequence[float]) -> list[RewardUpdate]:
        decision_id = str(decision["decision_id"])
        if decision_id in self._pending or decision_id in self._closed:
            return []
        vector = tuple(float(v) for v in context)
        if not all(math.isfinite(v) for v in vector):
            raise RewardInputError(f"decision {decision_id}: context vector has non-finite values")
        entry = PendingDecision(
            decision_id=decision_id,
            visitor_id=str(decision["visitor_id"]),
            action_id=str(decision["action_id"]),
            context=vector,
            decided_at_ms=int(decision["created_at"]),
            propensity=float(decision["propensity"]),
        )
        self._pending[decision_id] = entry
        deadline = entry.deadline_ms(self.options.reward_wait_ms)
        if self._next_deadline is None or deadline < self._next_deadline:
            self._next_deadline = deadline
        evicted: list[RewardUpdate] = []
        while len(self._pending) > self.options.max_pending:
            oldest = min(self._pending.values(), key=lambda e: e.decided_at_ms)
            self._close(oldest.decision_id)
            if not oldest.observed:
                evicted.append(self._default_update(oldest, "evicted", entry.decided_at_ms))
        if evicted:
            self._recompute_deadline()
        return evicted

    def expire(self, now_ms: int) -> list[RewardUpdate]:
        if self._next_deadline is None or now_ms < self._next_deadline:
            return []
        wait = self.options.reward_wait_ms
        due = sorted(
            (e for e in self._pending.values() if e.deadline_ms(wait) <= now_ms),
            key=lambda e: (e.decided_at_ms, e.decision_id),
        )
        updates: list[RewardUpdate] = []
        for entry in due:
            self._close(entry.decision_id)
            if not entry.observed:
                updates.append(self._default_update(entry, "expired", entry.deadline_ms(wait)))
        self._recompute_deadline()
        return updates

    def discard_visitor(self, visitor_id: str) -> int:
        doomed = [d for d, e in self._pending.items() if e.visitor_id == visitor_id]
        for decision_id in doomed:
            self._close(decision_id)
        self._recompute_deadline()
        return len(doomed)

    def _recompute_deadline(self) -> None:
        wait = self.options.reward_wait_ms
        self._next_deadline = min(
            (e.deadline_ms(wait) for e in self._pending.values()), default=None
        )

    @classmethod
    def from_bytes(cls, data: bytes,
                   options: RewardOptions | None = None) -> ScanningPendingRewards:
        restored = super().from_bytes(data, options)
        assert isinstance(restored, ScanningPendingRewards)
        restored._recompute_deadline()
        return restored


IDS = ("a", "b", "c", "d", "e", "f", "g", "h", "i", "j")
VISITORS = ("v1", "v2", "v3")
_options = st.builds(
    RewardOptions,
    default_reward=st.sampled_from([0.0, -0.25]),
    reward_wait_ms=st.integers(0, 6),
    max_pending=st.integers(1, 5),
    closed_memory=st.integers(0, 4),
)
_times = st.integers(0, 10)  # few distinct times: ties in eviction and expiry are common
_vectors = st.lists(st.floats(-3.0, 3.0, allow_nan=False), max_size=3)
_register = st.tuples(st.just("register"), st.sampled_from(IDS), st.sampled_from(VISITORS),
                      _times, _vectors)
_outcome = st.tuples(st.just("outcome"), st.sampled_from(IDS), st.sampled_from(OUTCOME_KINDS),
                     _times, st.floats(-100.0, 100.0))
_expire = st.tuples(st.just("expire"), _times)
_operations = st.lists(
    st.one_of(  # registrations most often, so that the set fills and evicts
        _register, _register, _register, _register, _outcome, _outcome, _expire, _expire,
        st.tuples(st.just("register-nan"), st.sampled_from(IDS)),
        st.tuples(st.just("for_visitor"), st.sampled_from(VISITORS)),
        st.tuples(st.just("discard"), st.sampled_from(VISITORS)),
        st.tuples(st.just("round trip"), st.none() | _options),
    ),
    min_size=20,
    max_size=100,
)


def _apply(pending: PendingRewards, operation: tuple[Any, ...]) -> Any:
    """What the operation returns (an exception's type and text if it raises)."""
    name, *args = operation
    try:
        if name == "register":
            decision_id, visitor, created_at, vector = args
            return pending.register({"decision_id": decision_id, "visitor_id": visitor,
                                     "action_id": f"x-{decision_id}", "propensity": 0.5,
                                     "created_at": created_at}, vector)
        if name == "register-nan":
            return pending.register({"decision_id": args[0], "visitor_id": "v1",
                                     "action_id": "x", "propensity": 1.0, "created_at": 0},
                                    (float("nan"),))
        if name == "outcome":
            decision_id, kind, at, value = args
            return pending.on_outcome({"decision_id": decision_id, "kind": kind,
                                       "value": value, "event_time": at})
        if name == "expire":
            return pending.expire(args[0])
        if name == "for_visitor":
            return pending.for_visitor(args[0])
        if name == "discard":
            return pending.discard_visitor(args[0])
    except RewardInputError as error:
        return (type(error), str(error))
    raise AssertionError(f"unknown operation {name}")


def _heap_holds_exactly_the_pending(pending: PendingRewards) -> bool:
    ids = [item[2] for item in pending._heap]
    return len(ids) == len(pending) and set(ids) == set(pending._pending)


@settings(max_examples=400, deadline=None)
@given(options=_options, operations=_operations)
def test_the_heap_returns_what_the_scans_returned(
    options: RewardOptions, operations: list[tuple[Any, ...]]
) -> None:
    heap, scans = PendingRewards(options), ScanningPendingRewards(options)
    for operation in operations:
        if operation[0] == "round trip":
            data = heap.to_bytes()
            assert data == scans.to_bytes()
            options = operation[1] or options
            heap = PendingRewards.from_bytes(data, options)
            scans = ScanningPendingRewards.from_bytes(data, options)
        else:
            # repr: exact floats (-0.0 is not 0.0) and NaN equal to itself
            assert repr(_apply(heap, operation)) == repr(_apply(scans, operation)), operation
        assert len(heap) == len(scans)
        assert _heap_holds_exactly_the_pending(heap)
    assert heap.to_bytes() == scans.to_bytes()
    assert repr(heap.expire(10**6)) == repr(scans.expire(10**6))
    assert heap.to_bytes() == scans.to_bytes()


def _decision(decision_id: str, at: int, visitor: str = "v") -> dict[str, Any]:
    return {"decision_id": decision_id, "visitor_id": visitor, "action_id": "a",
            "propensity": 1.0, "created_at": at}


def test_eviction_ties_go_to_the_first_registered_and_expiry_ties_to_the_smaller_id() -> None:
    pending = PendingRewards(RewardOptions(max_pending=2, reward_wait_ms=10))
    pending.register(_decision("b", 5), (1.0,))
    pending.register(_decision("a", 5), (1.0,))
    evicted = pending.register(_decision("c", 5), (1.0,))
    assert [u.decision_id for u in evicted] == ["b"]  # registered first, not the smaller id
    assert [u.decision_id for u in pending.expire(15)] == ["a", "c"]


def test_a_restored_checkpoint_evicts_in_its_stored_order() -> None:
    pending = PendingRewards(RewardOptions(max_pending=3))
    for decision_id in ("z", "y", "x"):
        pending.register(_decision(decision_id, 7), (1.0,))
    restored = PendingRewards.from_bytes(pending.to_bytes(), RewardOptions(max_pending=1))
    evicted = restored.register(_decision("w", 8), (1.0,))  # 4 pending, 3 go at once
    assert [u.decision_id for u in evicted] == ["z", "y", "x"]
    assert list(restored._pending) == ["w"] and _heap_holds_exactly_the_pending(restored)


@pytest.mark.parametrize("closed_memory", [0, 1])
def test_an_id_registered_again_after_it_was_forgotten_is_awaited_once(
    closed_memory: int,
) -> None:
    pending = PendingRewards(RewardOptions(max_pending=1, closed_memory=closed_memory))
    pending.register(_decision("a", 0), (1.0,))
    pending.register(_decision("b", 1), (1.0,))  # evicts "a"
    pending.register(_decision("c", 2), (1.0,))  # evicts "b"; "a" forgotten either way
    assert pending.register(_decision("a", 0), (1.0,))[0].decision_id == "a"  # itself oldest
    assert list(pending._pending) == ["c"] and _heap_holds_exactly_the_pending(pending)


def test_discarding_a_visitor_leaves_the_heap_exact() -> None:
    pending = PendingRewards(RewardOptions(reward_wait_ms=10))
    for i in range(6):
        pending.register(_decision(f"d{i}", i, visitor=f"v{i % 2}"), (1.0,))
    assert pending.discard_visitor("v0") == 3 and _heap_holds_exactly_the_pending(pending)
    assert [u.decision_id for u in pending.expire(100)] == ["d1", "d3", "d5"]
