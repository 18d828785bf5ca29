"""The pre-encoded decisions answer: byte for byte what json.dumps wrote, and never stale."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.delivery.answers import (
    AnswerCache,
    _json_string,
    decisions_answer,
    parse_slots,
    slots_of,
)
from pipeline.delivery.errors import BadRequest
from pipeline.delivery.store import DecisionStore
from tests.unit.delivery.factories import NOW_MS, decision

SLOT_NAMES = st.text(st.sampled_from("abcdefghxyz_-0123456789"), min_size=1, max_size=8)
TEXT = st.text(max_size=40)  # any unicode, quotes, backslashes and control characters


@st.composite
def answers(draw: st.DrawFn) -> tuple[str, dict[str, Any], tuple[str, ...] | None, int]:
    visitor = draw(TEXT.filter(str.strip))
    held_slots = draw(st.lists(SLOT_NAMES, unique=True, max_size=4))
    held = {slot: decision(visitor, slot,
                           decision_id=draw(TEXT),
                           action_id=draw(TEXT),
                           created_at=draw(st.integers(0, 2**53)),
                           ttl_ms=draw(st.integers(1, 10**9)),
                           payload=draw(st.dictionaries(TEXT, TEXT, max_size=3)))
            for slot in held_slots}
    for slot in held:
        held[slot]["policy"] = draw(st.none() | TEXT)
    asked = draw(st.none() | st.lists(SLOT_NAMES, unique=True, max_size=5).map(tuple))
    return visitor, held, asked, draw(st.integers(0, 2**53))


@settings(max_examples=300, deadline=None)
@given(answers())
def test_cached_body_is_exactly_what_json_dumps_writes(
        case: tuple[str, dict[str, Any], tuple[str, ...] | None, int]) -> None:
    visitor, held, slots, now = case
    cache = AnswerCache(capacity=4)
    expected = json.dumps(decisions_answer(visitor, held, slots, now)).encode()
    assert cache.body(visitor, held, slots, now) == expected  # encoded
    assert cache.body(visitor, dict(held), slots, now) == expected  # reused
    assert cache.body(visitor, held, slots, now + 1) == json.dumps(
        decisions_answer(visitor, held, slots, now + 1)).encode()  # served_at is per request
    assert cache.hits == 2 and cache.misses == 1


def test_a_new_decision_for_the_visitor_is_served_at_once() -> None:
    store, cache = DecisionStore(), AnswerCache()
    store.offer(decision("v1", decision_id="first"), NOW_MS)
    slots = ("hero", "overlay")

    def answer(now: int) -> dict[str, Any]:
        return json.loads(cache.body("v1", store.current("v1", now, slots), slots, now))

    assert answer(NOW_MS)["decisions"]["hero"]["decision_id"] == "first"
    store.offer(decision("v1", decision_id="second", created_at=NOW_MS + 1), NOW_MS + 1)
    assert answer(NOW_MS + 1)["decisions"]["hero"]["decision_id"] == "second"
    store.offer(decision("v1", slot="overlay", decision_id="third"), NOW_MS + 1)
    assert answer(NOW_MS + 2)["decisions"]["overlay"]["decision_id"] == "third"
    assert cache.hits == 0 and cache.misses == 3


def test_an_expired_decision_is_not_served_from_the_cache() -> None:
    store, cache = DecisionStore(), AnswerCache()
    store.offer(decision("v1", ttl_ms=100), NOW_MS)
    slots = ("hero",)
    before = cache.body("v1", store.current("v1", NOW_MS + 99, slots), slots, NOW_MS + 99)
    after = cache.body("v1", store.current("v1", NOW_MS + 100, slots), slots, NOW_MS + 100)
    assert json.loads(before)["decisions"]["hero"] is not None
    assert json.loads(after)["decisions"] == {"hero": None}


def test_an_equal_but_different_decision_is_encoded_again() -> None:
    cache = AnswerCache()
    shown = decision("v1")
    shown["payload"] = {"flag": 1}
    cache.body("v1", {"hero": shown}, None, 0)
    changed = {**shown, "payload": {"flag": True}}  # == calls it equal to {"flag": 1}
    body = cache.body("v1", {"hero": changed}, None, 0)
    assert json.loads(body)["decisions"]["hero"]["payload"] == {"flag": True}
    assert cache.misses == 2


def test_the_same_decision_under_another_slot_or_query_is_not_confused() -> None:
    cache = AnswerCache()
    shown = decision("v1")
    for held, slots in [({"hero": shown}, None), ({"grid": shown}, None),
                        ({"hero": shown}, ("hero",)), ({"hero": shown}, ("hero", "grid")),
                        ({}, ()), ({}, None)]:
        assert cache.body("v1", held, slots, 3) == json.dumps(
            decisions_answer("v1", held, slots, 3)).encode()
    assert cache.hits == 0 and len(cache) == 4  # one entry per visitor and slot query
    for visitor in ("v1\0hero", "*\0v1", "v1,hero"):  # ids may hold anything but blanks
        assert json.loads(cache.body(visitor, {}, ("hero",), 3))["visitor_id"] == visitor
    assert cache.hits == 0


def test_the_cache_is_bounded_and_can_be_off() -> None:
    cache = AnswerCache(capacity=3)
    for i in range(10):
        cache.body(f"v{i}", {}, ("hero",), 0)
    assert len(cache) == 3
    off = AnswerCache(capacity=0)
    for _ in range(3):
        assert off.body("v", {}, None, 5) == b'{"visitor_id": "v", "decisions": {}, "served_at": 5}'
    assert len(off) == 0 and off.hits == 0
    with pytest.raises(ValueError, match="negative"):
        AnswerCache(capacity=-1)


@settings(max_examples=300, deadline=None)
@given(st.none() | st.text(max_size=80) | st.lists(SLOT_NAMES, max_size=20).map(",".join))
def test_remembered_slot_parsing_agrees_with_parse_slots(raw: str | None) -> None:
    try:
        expected = parse_slots(raw)
    except BadRequest as exc:
        with pytest.raises(BadRequest, match="slot"):
            slots_of(raw)
        assert str(exc)
        return
    assert slots_of(raw) == (tuple(expected) if expected is not None else None)


# -- each decision's JSON, kept by identity -------------------------------------------------

@st.composite
def sequences(draw: st.DrawFn) -> list[tuple[str, dict[str, Any], tuple[str, ...] | None]]:
    """Answers asked one after another over a few shared decision objects, some of them
    equal in value (same id, other payload), so kept JSON is reused and evicted."""
    pool = [decision(draw(st.sampled_from(["v1", "v2"])), draw(SLOT_NAMES),
                     decision_id=draw(st.sampled_from(["d1", "d2", "d3"])),
                     payload=draw(st.dictionaries(TEXT, TEXT, max_size=2)))
            for _ in range(draw(st.integers(1, 6)))]
    steps = []
    for _ in range(draw(st.integers(1, 25))):
        chosen = draw(st.lists(st.sampled_from(pool), max_size=3))
        held = {d["slot"]: d for d in chosen}
        slots = draw(st.none() | st.lists(SLOT_NAMES, unique=True, max_size=4).map(tuple))
        steps.append((draw(st.sampled_from(["v1", "v2"])), held, slots))
    return steps


@settings(max_examples=300, deadline=None)
@given(sequences(), st.integers(0, 3), st.lists(st.sampled_from(["v1", "v2"]), max_size=2))
def test_answers_made_from_kept_json_are_what_json_dumps_writes(
        steps: list[tuple[str, dict[str, Any], tuple[str, ...] | None]], capacity: int,
        forgotten: list[str]) -> None:
    cache = AnswerCache(capacity=capacity)
    for i, (visitor, held, slots) in enumerate(steps):
        if i == len(steps) // 2:
            for gone in forgotten:
                cache.forget(gone)
        assert cache.body(visitor, held, slots, i) == json.dumps(
            decisions_answer(visitor, held, slots, i)).encode()


def test_a_decision_is_encoded_once_for_every_answer_that_shows_it() -> None:
    cache = AnswerCache(capacity=1)  # room for one answer: the others fall out
    hero, overlay = decision("v1"), decision("v1", "overlay")
    cache.body("v1", {"hero": hero, "overlay": overlay}, ("hero", "overlay"), 1)
    cache.body("v1", {"hero": hero}, ("hero",), 2)
    cache.body("v1", {"hero": hero, "overlay": overlay}, None, 3)
    assert (cache.misses, cache.views_encoded) == (3, 2)
    newer = decision("v1", created_at=NOW_MS + 1)  # handed over for the hero slot only
    body = cache.body("v1", {"hero": newer, "overlay": overlay}, ("hero", "overlay"), 4)
    assert json.loads(body)["decisions"]["hero"]["decision_id"] == newer["decision_id"]
    assert cache.views_encoded == 3


def test_kept_json_follows_the_object_not_the_decision_id() -> None:
    cache = AnswerCache(capacity=1)
    first = decision("v1", decision_id="d1", payload={"headline": "old"})
    cache.body("v1", {"hero": first}, ("hero",), 1)
    cache.body("v2", {}, ("hero",), 1)  # the only answer kept is now v2's
    again = {**first, "payload": {"headline": "new"}}  # same id, not the same record
    body = json.loads(cache.body("v1", {"hero": again}, ("hero",), 2))
    assert body["decisions"]["hero"]["payload"] == {"headline": "new"}
    assert cache.views_encoded == 2


def test_kept_json_is_bounded_and_dropped_with_its_visitor() -> None:
    cache = AnswerCache(capacity=1)  # JSON of at most two decisions
    shown = [decision("v1", decision_id=f"d{i}") for i in range(3)]
    for d in shown:
        cache.body("v1", {"hero": d}, ("hero",), 1)
    cache.body("v1", {"hero": shown[0]}, ("hero",), 1)  # the oldest went: encoded again
    assert cache.views_encoded == 4
    cache.body("v1", {"hero": shown[2]}, ("hero",), 1)  # still kept
    assert cache.views_encoded == 4
    other = decision("v2")
    cache.body("v2", {"hero": other}, ("hero",), 1)
    cache.forget("v1")
    cache.body("v1", {"hero": shown[0]}, ("hero",), 1)  # erased: nothing of v1 kept
    cache.body("v2", {"hero": other}, ("hero",), 1)  # another visitor's JSON stays
    assert cache.views_encoded == 6


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40) | st.text(st.characters(max_codepoint=130), max_size=40))
def test_ids_are_written_as_json_dumps_writes_them(text: str) -> None:
    assert _json_string(text) == json.dumps(text).encode()
