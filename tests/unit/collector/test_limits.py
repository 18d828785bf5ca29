"""Token buckets and the de-duplication window."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from pipeline.collector.limits import DedupWindow, TokenBuckets


def test_a_refused_request_takes_nothing() -> None:
    b = TokenBuckets(rate_per_s=1.0, burst=3)
    assert b.retry_after({"a": 2, "b": 1}, 0.0) == 0.0
    assert b.retry_after({"a": 2, "b": 1}, 0.0) == 1.0  # a has 1 token, needs 2
    assert b.retry_after({"b": 2}, 0.0) == 0.0  # b kept its tokens: the refusal took nothing


def test_more_than_the_burst_is_never_allowed() -> None:
    assert TokenBuckets(10.0, 5).retry_after({"a": 6}, 0.0) == math.inf


def test_buckets_refill_and_are_bounded_in_number() -> None:
    b = TokenBuckets(rate_per_s=2.0, burst=2, max_keys=2)
    b.retry_after({"a": 2}, 0.0)
    assert b.retry_after({"a": 1}, 0.25) == 0.25
    assert b.retry_after({"a": 1}, 0.5) == 0.0
    b.retry_after({"b": 1, "c": 1}, 0.5)
    assert len(b) == 2


@given(st.lists(st.tuples(st.floats(0, 5), st.integers(1, 4)), max_size=40),
       st.floats(0.5, 20), st.integers(1, 10))
def test_what_is_taken_never_exceeds_burst_plus_refill(requests: list[tuple[float, int]],
                                                       rate: float, burst: int) -> None:
    b = TokenBuckets(rate, burst)
    now = taken = 0.0
    for gap, cost in requests:
        now += gap
        if b.retry_after({"k": cost}, now) == 0.0:
            taken += cost
        assert taken <= burst + rate * now + 1e-6


def test_dedup_window_expires_and_is_bounded() -> None:
    w = DedupWindow(window_ms=100, max_entries=2)
    w.add("a", 0)
    w.add("b", 10)
    w.add("c", 20)
    assert not w.seen("a", 20) and w.seen("b", 20) and w.seen("c", 20)
    assert not w.seen("b", 110) and len(w) == 1


@given(st.lists(st.tuples(st.sampled_from("abc"), st.floats(0, 0.5)), max_size=60),
       st.floats(0.5, 20), st.integers(1, 4), st.integers(1, 3))
def test_take_one_is_retry_after_of_one_token(requests: list[tuple[str, float]], rate: float,
                                              burst: int, max_keys: int) -> None:
    # the per-request fast path must answer and leave the buckets exactly as the mapping did
    fast = TokenBuckets(rate, burst, max_keys)
    slow = TokenBuckets(rate, burst, max_keys)
    now = 0.0
    for key, step in requests:
        now += step
        assert fast.take_one(key, now) == slow.retry_after({key: 1}, now)
        assert len(fast) == len(slow)
        for other in "abc":
            assert fast.retry_after({other: 1}, now, take=False) == \
                slow.retry_after({other: 1}, now, take=False)
