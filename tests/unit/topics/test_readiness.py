"""Readiness counts the owned input partitions only, and compares with the max lag."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.topics.readiness import Readiness, owned_inputs

_topics = st.sampled_from(["in.a", "in.b", "g-visitors-changelog", "g-learners-changelog"])
_pairs = st.lists(st.tuples(_topics, st.integers(0, 7)), max_size=40)


def test_changelog_partitions_are_never_counted() -> None:
    assigned = [("in.a", 0), ("g-visitors-changelog", 0), ("in.b", 0), ("in.a", 1)]
    assert owned_inputs(assigned, ["in.a", "in.b"]) == [("in.a", 0), ("in.a", 1), ("in.b", 0)]
    assert owned_inputs([("g-visitors-changelog", 0)], ["in.a"]) == []


@given(_pairs)
def test_owned_inputs_keeps_exactly_the_input_pairs(assigned: list[tuple[str, int]]) -> None:
    inputs = ["in.a", "in.b"]
    owned = owned_inputs(assigned, inputs)
    assert set(owned) == {pair for pair in assigned if pair[0] in inputs}
    assert owned == sorted(set(owned))


@given(st.dictionaries(st.tuples(_topics, st.integers(0, 7)), st.integers(-5, 10_000)),
       st.integers(0, 20_000))
def test_ready_exactly_when_the_summed_lag_is_within_the_max(
        lag: dict[tuple[str, int], int], max_lag: int) -> None:
    verdict = Readiness.of(lag, max_lag)
    total = sum(max(0, n) for n in lag.values())
    assert verdict.lag == total
    assert verdict.ready == (total <= max_lag)
    assert verdict.describe().startswith("ready: " if verdict.ready else "not ready: ")
    assert f" {total} messages behind" in verdict.describe()


def test_describe_names_each_topic_with_its_lag() -> None:
    verdict = Readiness.of({("in.a", 0): 4, ("in.a", 1): 6, ("in.b", 0): 0}, max_lag=5)
    assert not verdict.ready
    assert verdict.describe() == "not ready: 10 messages behind (max 5; in.a 10, in.b 0)"
    assert Readiness.of({("in.b", 2): 5}, 5).describe() == "ready: 5 messages behind (in.b 5)"
