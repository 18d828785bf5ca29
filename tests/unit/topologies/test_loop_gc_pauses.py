"""The worker's garbage-collection policy: no automatic full collection while it runs, the
start-up frozen out of later walks, a timed safety-net collection that does free cycles,
and Python's own policy back afterwards."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from topologies.loop.gc_pauses import NO_AUTOMATIC_FULL, GcOptions, GcPolicy
from topologies.loop.loop import ConsumerLoop


@pytest.fixture(autouse=True)
def _python_policy_restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


class _Node:
    """A cycle (it refers to itself) only the cycle collector frees."""

    def __init__(self) -> None:
        self.me = self


def _old_garbage_cycle() -> weakref.ref[_Node]:
    """A cycle that lived long enough to reach the oldest generation, then died there:
    young collections do not see it, only a full one frees it."""
    node = _Node()
    gc.collect(1)  # survivors of the middle generation move to the oldest
    ref = weakref.ref(node)
    del node
    gc.collect(1)
    assert ref() is not None, "freed by a young collection: the test proves nothing"
    return ref


def test_start_turns_automatic_full_collections_off_and_freezes_the_start_up() -> None:
    before = gc.get_threshold()
    policy = GcPolicy(GcOptions(), clock=lambda: 0.0)
    policy.start()
    assert gc.get_threshold() == (before[0], NO_AUTOMATIC_FULL, NO_AUTOMATIC_FULL)
    assert gc.get_freeze_count() > 0
    policy.stop()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    kept = GcPolicy(GcOptions(middle_collections=True), clock=lambda: 0.0)
    kept.start()
    assert gc.get_threshold() == (before[0], before[1], NO_AUTOMATIC_FULL)
    kept.stop()
    assert gc.get_threshold() == before


def _young_survivor_cycle() -> weakref.ref[_Node]:
    """A cycle that lived through a young collection (so it is in the middle generation),
    then died: only a collection of the middle generation (or a full one) frees it."""
    node = _Node()
    gc.collect(0)
    ref = weakref.ref(node)
    del node
    gc.collect(0)
    assert ref() is not None, "freed by a young collection: the test proves nothing"
    return ref


def _allocate_a_lot() -> None:
    """Container allocations, the automatic collections' clock: ~140 young collections'
    worth (at Python's 700), so ~14 middle ones where they are on."""
    for _ in range(100):
        kept = [[] for _ in range(1000)]
        del kept


@pytest.mark.parametrize("middle", [False, True])
def test_survivors_of_young_collections_wait_for_the_safety_net_unless_kept(
        middle: bool) -> None:
    gc.set_threshold(700, 10, 10)
    policy = GcPolicy(GcOptions(full_every_s=600.0, middle_collections=middle),
                      clock=lambda: 0.0)
    policy.start()
    ref = _young_survivor_cycle()
    _allocate_a_lot()
    # Automatic collections ran (young ones always): the cycle is freed only by middle ones.
    assert (ref() is None) is middle
    policy.tick(600.0)  # the safety net frees it in any case
    assert ref() is None and policy.full_collections == 1
    policy.stop()


def test_the_safety_net_collects_when_due_and_frees_old_cycles() -> None:
    now = [0.0]
    policy = GcPolicy(GcOptions(full_every_s=600.0), clock=lambda: now[0])
    policy.start()
    ref = _old_garbage_cycle()
    policy.tick(599.0)
    assert policy.full_collections == 0 and ref() is not None
    policy.tick(600.0)
    assert policy.full_collections == 1 and ref() is None
    policy.tick(1199.0)
    assert policy.full_collections == 1
    policy.tick(1200.0)
    assert policy.full_collections == 2
    policy.stop()


def test_the_full_collection_can_be_turned_off_and_python_s_policy_kept() -> None:
    never = GcPolicy(GcOptions(full_every_s=0.0), clock=lambda: 0.0)
    never.start()
    never.tick(10**9)
    assert never.full_collections == 0
    never.stop()
    before = gc.get_threshold()
    python = GcPolicy(GcOptions(python_default=True), clock=lambda: 0.0)
    python.start()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    python.tick(10**9)
    assert python.full_collections == 0
    python.stop()
    assert gc.get_threshold() == before


class _Counting(GcPolicy):
    def __init__(self) -> None:
        super().__init__(GcOptions(), clock=lambda: 0.0)
        self.calls: list[str] = []

    def start(self) -> None:
        self.calls.append("start")

    def tick(self, now: float) -> None:
        self.calls.append("tick")

    def stop(self) -> None:
        self.calls.append("stop")


class _OneTurn:
    """A consumer whose first poll stops the loop (so run() makes exactly one turn)."""

    def __init__(self) -> None:
        self.loop: ConsumerLoop | None = None

    def subscribe(self, topics: list[str], **_: Any) -> None:
        pass

    def poll(self, timeout: float) -> None:
        assert self.loop is not None
        self.loop.stop()

    def commit(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass


class _Idle:
    def tick(self, now: float) -> None:
        pass

    def start_write(self) -> bool:
        return True

    def written(self, budget_s: float | None = None) -> bool:
        return True

    def write(self) -> bool:
        return True


def test_the_loop_starts_ticks_and_stops_its_policy() -> None:
    consumer = _OneTurn()
    policy = _Counting()
    loop = ConsumerLoop("unused:1", "g", ["e"], _Idle(), 10.0,  # type: ignore[arg-type]
                        consumer=consumer, gc_policy=policy)
    consumer.loop = loop
    loop.run()
    assert policy.calls == ["start", "tick", "stop"]
