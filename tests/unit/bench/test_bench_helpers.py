"""Pure helpers of the benchmarks: scale, ratios, percentiles, verdicts, policies (no timing)."""

from __future__ import annotations

import doctest
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bench.common
import bench.decision_quality
import bench.latency
import bench.pending_rewards
import bench.rate_limits
import bench.state_size
import bench.throughput
from bench.common import BenchError, bench_scale, latency_summary, percentile, ratio, scaled
from bench.decision_quality import (
    ChoiceRequest,
    RulesOnly,
    UniformRandom,
    share_after,
    vw_shared_line,
)
from bench.latency import kept_up
from bench.state_size import per_hundred_thousand, read_states, write_states
from pipeline.sim import RewardLedger


@pytest.mark.parametrize("module", [bench.common, bench.latency, bench.state_size,
                                    bench.decision_quality, bench.throughput,
                                    bench.pending_rewards, bench.rate_limits])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("raw", ["-1", "abc", "11", "nan", "0"])
def test_bad_scale_is_refused_with_the_variable_name(raw: str) -> None:
    with pytest.raises(BenchError, match="RTP_BENCH_SCALE"):
        bench_scale({"RTP_BENCH_SCALE": raw})


def test_scale_defaults_to_one_and_scaled_respects_the_minimum() -> None:
    assert bench_scale({"RTP_BENCH_SCALE": " "}) == 1.0
    assert scaled(100, 0.01, 10) == 10
    assert scaled(100, 2.0, 10) == 200.0


def test_ratio_of_nothing_is_nan() -> None:
    assert math.isnan(ratio(3.0, 0.0))
    assert math.isnan(ratio(3.0, float("nan")))
    assert ratio(3.0, 2.0) == 1.5


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=200))
def test_latency_percentiles_are_ordered_and_observed(values: list[float]) -> None:
    summary = latency_summary(values)
    assert summary["n"] == len(values)
    assert min(values) <= summary["p50_ms"] <= summary["p95_ms"] <= summary["p99_ms"]
    assert summary["p99_ms"] <= summary["max_ms"] == max(values)
    assert {summary["p50_ms"], summary["p95_ms"], summary["p99_ms"]} <= set(values)


def test_a_growing_queue_or_a_drain_timeout_is_falling_behind() -> None:
    steady = [20.0 + (i % 5) for i in range(100)]
    assert kept_up(steady, drained=True)
    assert not kept_up(steady, drained=False)
    assert not kept_up([20.0 + 5 * i for i in range(100)], drained=True)
    assert not kept_up([2_000.0] * 100, drained=True)  # steady but over a second
    assert not kept_up([], drained=True)


def test_rss_extrapolation_is_linear() -> None:
    assert per_hundred_thousand(1_000.0, 1_000) == 100_000.0
    assert per_hundred_thousand(600.0, 200_000) == 300.0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=30))
def test_states_file_round_trips(states: list[bytes]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "states"
        write_states(path, states)
        assert read_states(path) == states


def test_share_after_is_over_the_ledgers_own_decisions() -> None:
    window = RewardLedger(decisions=200, oracle_matches=180, expected=40.0, oracle=40.0,
                          obtained=20.0)
    assert share_after(window) == {"decisions": 200, "expected_share": 1.0,
                                   "obtained_share": 0.5, "match_rate": 0.9}
    assert math.isnan(share_after(RewardLedger())["expected_share"])


def _request(*ids: str) -> ChoiceRequest:
    return ChoiceRequest("d", ids, {"page_views": 2.0}, {"sector": "saas"}, 0.1, "browsing", 0)


def test_rules_pick_the_first_real_action_in_catalog_order() -> None:
    assert RulesOnly().probabilities(_request("cta_change", "no_action", "hero")) == [
        1.0, 0.0, 0.0]
    assert RulesOnly().probabilities(_request("no_action", "hero")) == [0.0, 1.0]


@given(st.integers(min_value=1, max_value=12))
def test_uniform_sums_to_one(n: int) -> None:
    probabilities = UniformRandom().probabilities(_request(*[f"a{i}" for i in range(n)]))
    assert len(probabilities) == n
    assert math.isclose(sum(probabilities), 1.0)


def test_vw_features_have_no_separators_in_names_or_values() -> None:
    request = ChoiceRequest("d", ("a",), {"odd name:x": 1.5, "zero": 0.0},
                            {"page|type": "pricing page"}, 0.5, "high intent", 0)
    line = vw_shared_line(request)
    assert line == ("shared |U odd_name_x:1.5 page_type=pricing_page "
                    "intent_probability:0.5 intent=high_intent")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=1, max_size=100),
       st.floats(min_value=0, max_value=100))
def test_percentile_is_the_nearest_rank(values: list[float], q: float) -> None:
    p = percentile(values, q)
    assert p in values
    assert sum(v <= p for v in values) >= q * len(values) / 100 - 1e-6
    assert percentile(values, min(100.0, q + 10)) >= p


def test_pyspy_samples_are_charged_to_the_innermost_frame() -> None:
    raw = "\n".join([
        "run (topologies/loop/loop.py:1);Engine.on_event (pipeline/engine/engine.py:2);"
        "dumps (json/__init__.py:3) 6",
        "run (topologies/loop/loop.py:1);send (topologies/loop/outputs.py:4) 2",
        "run (topologies/loop/loop.py:1) 2",
        "garbage",
    ])
    lines = bench.throughput.summarize_pyspy(raw)
    assert lines[:3] == ["60.0%  other (stdlib, libraries)",
                         "20.0%  producing (librdkafka, delivery reports)",
                         "20.0%  the consumer loop, tables and recovery (topologies/loop/)"]
    assert "60.0%  inside Engine.on_event (inclusive)" in lines
    assert "60.0%  json/__init__.py:dumps" in lines
    assert bench.throughput.summarize_pyspy("") == []


def test_pending_rewards_baseline_is_the_scanning_code() -> None:
    baseline = bench.pending_rewards.baseline_module()
    if baseline is None:
        pytest.skip("no git history here")
    assert not hasattr(baseline.PendingRewards(), "_heap")
    assert hasattr(bench.pending_rewards.PendingRewards(), "_heap")


def test_the_latency_window_starts_when_the_first_event_is_due_not_before_encoding(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The CPU of a load was measured from before its events were encoded (0.5 s + 0.2 ms
    per event ahead of the schedule: 8.5 s before a 5,000/s load), which halved the worker's
    and the machine's busy share there. ``on_start`` comes after every event is encoded and
    before the first is sent."""
    from pipeline.serde import Codec
    from pipeline.settings import Settings

    seen: dict[str, int] = {}
    codec = Codec.default()
    encoded = [0]

    class Counting:
        def encode(self, *args: object, **kwargs: object) -> bytes:
            encoded[0] += 1
            return codec.encode(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Codec, "default", classmethod(lambda cls: Counting()))

    class Producer:
        sent = 0

        def produce_raw(self, topic: str, value: bytes, key: bytes) -> None:
            self.sent += 1

        def flush(self, timeout: float) -> None:
            pass

    producer = Producer()

    def started() -> None:
        seen.update(sent_at_start=producer.sent, encoded_at_start=encoded[0])

    visitors = [f"v{i}" for i in range(40)]
    sent, _ = bench.latency._offer(Settings(), producer, visitors, 2000.0, started)
    assert seen == {"sent_at_start": 0, "encoded_at_start": 40}
    assert producer.sent == len(sent) == 40
