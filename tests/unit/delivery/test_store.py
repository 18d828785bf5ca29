"""The decision store: latest unexpired decision per visitor and slot, bounded, served once."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import fastavro
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.delivery.store import DecisionStore, Offered, expires_at
from pipeline.serde import Codec
from tests.unit.delivery.factories import NOW_MS, decision


def test_factory_decisions_are_valid_records() -> None:
    schema = Codec.default().registry.current("Decision").schema
    assert fastavro.validation.validate(decision(), fastavro.parse_schema(schema))


def test_newer_decision_replaces_older_and_late_older_one_is_ignored() -> None:
    store = DecisionStore()
    first = decision(decision_id="d1", created_at=NOW_MS)
    second = decision(decision_id="d2", created_at=NOW_MS + 10)
    stale = decision(decision_id="d0", created_at=NOW_MS - 10)
    assert store.offer(first, NOW_MS) is Offered.STORED
    assert store.offer(second, NOW_MS) is Offered.STORED
    assert store.offer(stale, NOW_MS) is Offered.SUPERSEDED
    assert store.current("v1", NOW_MS)["hero"]["decision_id"] == "d2"
    assert len(store) == 1


def test_duplicate_id_is_served_once_even_after_it_expired_or_was_replaced() -> None:
    store = DecisionStore()
    d = decision(decision_id="d1", ttl_ms=100)
    assert store.offer(d, NOW_MS) is Offered.STORED
    store.offer(decision(decision_id="d2", created_at=NOW_MS + 1), NOW_MS)
    assert store.offer(d, NOW_MS) is Offered.DUPLICATE
    assert store.current("v1", NOW_MS)["hero"]["decision_id"] == "d2"
    assert store.stats.duplicates == 1


def test_expired_decisions_are_not_stored_nor_served() -> None:
    store = DecisionStore()
    assert store.offer(decision(ttl_ms=10), NOW_MS + 10) is Offered.EXPIRED
    store.offer(decision(decision_id="live", ttl_ms=50), NOW_MS)
    assert store.current("v1", NOW_MS + 49) != {}
    assert store.current("v1", NOW_MS + 50) == {}
    assert store.purge(NOW_MS + 50) == 1
    assert len(store) == 0 and store.visitors == 0


def test_control_arm_and_no_action_are_never_served() -> None:
    store = DecisionStore()
    assert store.offer(decision(arm="control"), NOW_MS) is Offered.NOT_SERVED
    assert store.offer(decision(decision_id="n", slot="none"), NOW_MS) is Offered.NOT_SERVED
    assert store.current("v1", NOW_MS) == {}


def test_slots_filter_and_unknown_visitor() -> None:
    store = DecisionStore()
    store.offer(decision(slot="hero"), NOW_MS)
    store.offer(decision(slot="overlay"), NOW_MS)
    assert sorted(store.current("v1", NOW_MS)) == ["hero", "overlay"]
    assert list(store.current("v1", NOW_MS, ["overlay", "grid"])) == ["overlay"]
    assert store.current("nobody", NOW_MS) == {}


def test_least_recently_used_visitor_is_evicted() -> None:
    store = DecisionStore(max_visitors=2)
    for v in ("a", "b"):
        store.offer(decision(v), NOW_MS)
    store.current("a", NOW_MS)  # a read counts as use: b is now the oldest
    store.offer(decision("c"), NOW_MS)
    assert store.current("b", NOW_MS) == {}
    assert store.current("a", NOW_MS) and store.current("c", NOW_MS)
    assert store.stats.evicted_visitors == 1 and len(store) == 2


def test_slot_cap_drops_the_decision_expiring_first() -> None:
    store = DecisionStore(max_slots_per_visitor=2)
    store.offer(decision(slot="hero", ttl_ms=1000), NOW_MS)
    store.offer(decision(slot="cta", ttl_ms=10), NOW_MS)
    store.offer(decision(slot="grid", ttl_ms=1000), NOW_MS)
    assert sorted(store.current("v1", NOW_MS)) == ["grid", "hero"]
    assert len(store) == 2


def test_remembered_ids_are_bounded() -> None:
    store = DecisionStore(remembered_ids=2)
    for i in range(3):
        store.offer(decision(decision_id=f"d{i}", created_at=NOW_MS + i), NOW_MS)
    assert not store.seen("d0") and store.seen("d1") and store.seen("d2")


def test_expiry_heap_stays_bounded_under_many_replacements() -> None:
    store = DecisionStore()
    for i in range(5000):
        store.offer(decision(decision_id=f"d{i}", created_at=NOW_MS + i), NOW_MS)
    assert len(store) == 1
    assert len(store._expiry) <= 2 * len(store) + 1024


offers = st.lists(st.tuples(
    st.sampled_from(["a", "b", "c", "d"]),              # visitor
    st.sampled_from(["hero", "overlay", "grid"]),       # slot
    st.integers(0, 30),                                 # decision id number (repeats = replays)
    st.integers(0, 1000),                               # created_at offset
    st.integers(0, 2000),                               # ttl
    st.integers(0, 3000),                               # now offset
), max_size=60)


@settings(max_examples=150, deadline=None)
@given(offers, st.integers(1, 4))
def test_store_agrees_with_a_simple_model(ops: list[tuple[Any, ...]], max_visitors: int) -> None:
    """Against a model (dicts + LRU order): what is stored, ignored and served."""
    store = DecisionStore(max_visitors=max_visitors)
    model: OrderedDict[str, dict[str, dict[str, Any]]] = OrderedDict()
    seen: set[str] = set()
    clock = NOW_MS
    for visitor, slot, n, created, ttl, advance in ops:
        clock = max(clock, NOW_MS + advance)
        d = decision(visitor, slot, decision_id=f"id{n}", created_at=NOW_MS + created,
                     ttl_ms=ttl)
        result = store.offer(d, clock)
        if d["decision_id"] in seen:
            assert result is Offered.DUPLICATE
            continue
        seen.add(d["decision_id"])
        held = model.get(visitor, {}).get(slot)
        if expires_at(d) <= clock:
            assert result is Offered.EXPIRED
            continue
        if held and expires_at(held) > clock and held["created_at"] > d["created_at"]:
            assert result is Offered.SUPERSEDED
        else:
            assert result is Offered.STORED
            model.setdefault(visitor, {})[slot] = d
        model.move_to_end(visitor)
        while len(model) > max_visitors:
            model.popitem(last=False)
        assert store.visitors == len(model) <= max_visitors
        assert len(store) == sum(len(slots) for slots in model.values())
    for visitor, slots in model.items():
        expected = {s: d for s, d in slots.items() if expires_at(d) > clock}
        assert store.current(visitor, clock) == expected
