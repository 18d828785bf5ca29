"""Same seed, same run; the step size of the clock does not matter."""

from __future__ import annotations

import itertools
import random
from typing import Any

from pipeline.sim import Simulator, SimulatorOptions
from tests.unit.sim.driver import T0, decision, drive


def _random_policy(seed: int) -> Any:
    rng = random.Random(seed)
    counter = iter(range(1, 10**9))

    def policy(sim: Simulator, event: dict[str, Any], now: int) -> dict[str, Any] | None:
        if event["event_type"] != "page_view" or rng.random() > 0.3:
            return None
        action = rng.choice(["free_express_shipping", "comparison_guide", "cta_change",
                             "rooms_left_cue", "one_click_eligibility_check", "no_action"])
        return decision(f"d{next(counter)}", event["visitor_id"], action)

    return policy


def test_same_seed_same_events_outcomes_and_summary() -> None:
    opts = SimulatorOptions(seed=11, visitors_per_minute=12)
    a = drive(opts, 3, _random_policy(1))
    b = drive(opts, 3, _random_policy(1))
    assert a.events == b.events
    assert a.outcomes == b.outcomes
    assert a.sim.summary() == b.sim.summary()
    assert len(a.events) > 100 and len(a.outcomes) > 0


def test_different_seeds_differ() -> None:
    a = drive(SimulatorOptions(seed=1, visitors_per_minute=12), 2, step_ms=5_000)
    b = drive(SimulatorOptions(seed=2, visitors_per_minute=12), 2, step_ms=5_000)
    assert [e["event_time"] for e in a.events] != [e["event_time"] for e in b.events]


def test_clock_step_size_does_not_change_the_stream() -> None:
    opts = SimulatorOptions(seed=5, visitors_per_minute=15)
    fine, coarse = Simulator(opts), Simulator(opts)
    fine.start(T0)
    coarse.start(T0)
    small = [e for t in range(1, 241) for e in fine.next_events(T0 + t * 1_000)]
    big = coarse.next_events(T0 + 120_000) + coarse.next_events(T0 + 240_000)
    assert small == big
    assert fine.next_events(T0 + 100_000) == []  # the clock never goes back


def test_events_come_in_event_time_order_across_concurrent_visitors() -> None:
    run = drive(SimulatorOptions(seed=8, visitors_per_minute=30), 3, step_ms=7_000)
    times = [e["event_time"] for e in run.events]
    assert times == sorted(times)
    # visitors overlap in time (concurrency), each with its own session
    spans: dict[str, tuple[int, int]] = {}
    for e in run.events:
        first, last = spans.get(e["visitor_id"], (e["event_time"], e["event_time"]))
        spans[e["visitor_id"]] = (min(first, e["event_time"]), max(last, e["event_time"]))
    ordered = sorted(spans.values())
    assert any(b[0] < a[1] for a, b in itertools.pairwise(ordered))
    assert len({e["event_id"] for e in run.events}) == len(run.events)


def test_arrival_rate_is_respected_roughly() -> None:
    run = drive(SimulatorOptions(seed=3, visitors_per_minute=20), 10, step_ms=10_000)
    arrived = run.sim.summary().visitors_arrived
    assert 140 <= arrived <= 260  # Poisson(200): +-4 sd
