"""Synthetic logs (valid, seeded, with an exact truth) and the SVG chart primitives."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.replay.errors import InvalidOptions
from pipeline.replay.join import RewardWeights, join_records
from pipeline.replay.policies import always_policy, logged_policy, uniform_policy
from pipeline.replay.svg import Series, line_chart, nice_ticks, stacked_bars
from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
from tests.unit.replay.replay_helpers import assert_valid_log, assert_valid_outcome


def test_records_validate_and_are_seeded() -> None:
    opts = SyntheticOptions(n_visitors=80, control_share=0.4, decisions_per_visitor=(1, 3), seed=2)
    syn = generate_synthetic_log(opts)
    for rec in syn.logs:
        assert_valid_log(rec)
    for rec in syn.outcomes:
        assert_valid_outcome(rec)
    assert generate_synthetic_log(opts).logs == syn.logs
    assert generate_synthetic_log(SyntheticOptions(n_visitors=80, seed=3)).logs != syn.logs
    arms = {r["decision"]["experiment_arm"] for r in syn.logs}
    assert arms == {"personalized", "control"}
    assert all(r["served"] == (r["decision"]["experiment_arm"] == "personalized")
               for r in syn.logs)
    assert sum(syn.page_views.values()) == len(syn.logs)


def test_mobile_guardrail_removes_overlay() -> None:
    syn = generate_synthetic_log(SyntheticOptions(n_visitors=200, seed=1))
    for rec in syn.logs:
        eligible = {e["action_id"] for e in rec["eligible"]}
        assert ("overlay" in eligible) == (rec["categorical_features"]["device"] != "mobile")
        probs = sum(e["probability"] for e in rec["eligible"])
        assert probs == pytest.approx(1.0)


def test_true_value_of_the_logged_policy_matches_a_large_sample() -> None:
    syn = generate_synthetic_log(SyntheticOptions(n_visitors=8_000, seed=7))
    rows = join_records(syn.logs, syn.outcomes).rows
    observed = sum(r.reward for r in rows) / len(rows)
    se = math.sqrt(observed * (1 - observed) / len(rows))
    assert abs(observed - syn.true_value(logged_policy)) < 4 * se


def test_true_value_under_other_weights_and_policies() -> None:
    syn = generate_synthetic_log(SyntheticOptions(n_visitors=1, seed=0))
    weights = RewardWeights(clicked=1.0, converted=2.0, revenue=0.01)
    base = syn.true_value(uniform_policy)
    scaled = syn.true_value(uniform_policy, weights)
    o = syn.options
    assert scaled == pytest.approx(
        base * (1 + o.conversion_given_click * (2.0 + 0.01 * o.mean_order_value))
    )
    best_always = max(syn.true_value(always_policy(a, fallback=uniform_policy))
                      for a in o.actions)
    assert syn.true_value(always_policy("none")) < best_always


def test_invalid_options() -> None:
    for bad in (SyntheticOptions(default_action="x"), SyntheticOptions(control_share=1.0),
                SyntheticOptions(decisions_per_visitor=(2, 1)), SyntheticOptions(n_visitors=-1),
                SyntheticOptions(segments=(("a", 0.5),))):
        with pytest.raises(InvalidOptions):
            generate_synthetic_log(bad)


def test_line_chart_draws_series_band_and_escapes() -> None:
    svg = line_chart("<lift>", [
        Series("a&b", ((0.0, 0.1), (1.0, 0.3), (2.0, float("nan"))),
               band=((0.0, 0.0, 0.2), (1.0, 0.2, 0.4))),
        Series("single", ((1.0, 0.2),)),
    ], zero_line=True)
    assert "&lt;lift&gt;" in svg and "a&amp;b" in svg
    assert svg.count("<polyline") == 1 and svg.count("<polygon") == 1
    assert "<circle" in svg
    assert "nan" not in svg


def test_stacked_bars_shares() -> None:
    svg = stacked_bars("mix", [("p", [("a", 1.0), ("b", 3.0)]), ("c", [("b", 0.0)])])
    assert "75%" in svg and "25%" in svg
    assert svg.count("<title>") == 2


@settings(max_examples=80, deadline=None)
@given(low=st.floats(-1e6, 1e6), span=st.floats(1e-6, 1e6))
def test_property_ticks_cover_the_range_in_order(low: float, span: float) -> None:
    high = low + span
    ticks = nice_ticks(low, high)
    assert ticks == sorted(ticks)
    assert 2 <= len(ticks) <= 12
    step = ticks[1] - ticks[0]
    assert ticks[0] <= low + 1e-9 * max(1.0, abs(low)) + step * 1e-6
    assert ticks[-1] >= high - 1e-9 * max(1.0, abs(high)) - step * 1e-6
