"""TokenBuckets.take_one is retry_after({key: 1}) inlined: the same answers, the same buckets."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.web.rate_limits import TokenBuckets

steps = st.lists(st.tuples(st.sampled_from("abcde"),
                           st.floats(min_value=-2.0, max_value=3.0, allow_nan=False)),
                 max_size=60)


@given(steps, st.floats(min_value=0.01, max_value=50.0), st.integers(1, 5),
       st.integers(1, 4))
def test_take_one_answers_and_keeps_exactly_what_retry_after_does(
        sequence: list[tuple[str, float]], rate: float, burst: int, max_keys: int) -> None:
    inlined, general = TokenBuckets(rate, burst, max_keys), TokenBuckets(rate, burst, max_keys)
    now = 100.0
    for key, step in sequence:
        now += step  # the clock may even step back: no token is then added
        assert inlined.take_one(key, now) == general.retry_after({key: 1}, now)
        # the same buckets, in the same order (least recently used first)
        assert list(inlined._buckets.items()) == list(general._buckets.items())
