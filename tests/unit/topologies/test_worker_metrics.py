"""The worker's metrics counted per event in plain ints (topologies/metrics.py) are exposed
exactly as prometheus_client's Counter and Histogram expose the same calls: the rendered
``/metrics`` of any sequence of calls is the same text, read at any point of it."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import Counter, Histogram

from pipeline.web.metrics import new_registry, render
from topologies.metrics import LATENCY_BUCKETS, TURN_BUCKETS, WorkerMetrics


class _Reference:
    """The same metrics in prometheus_client's own counters and histogram."""

    def __init__(self) -> None:
        self.registry = r = new_registry()
        self.events = Counter("rtp_worker_events", "Clickstream records applied.", registry=r)
        self.decisions = Counter("rtp_worker_decisions", "Decisions logged, by arm.", ["arm"],
                                 registry=r)
        self.actions = Counter("rtp_worker_action_decisions",
                               "Decisions logged, by action and arm.", ["action", "arm"],
                               registry=r)
        self.signals = Counter("rtp_worker_signals", "Struggle signals written, by rule.",
                               ["rule"], registry=r)
        self.answers = Counter("rtp_worker_answers",
                               "'Decided: nothing' answers written for awaited events.",
                               registry=r)
        self.dead = Counter("rtp_worker_dead_letters",
                            "Records dead-lettered, by source topic and reason.",
                            ["topic", "reason"], registry=r)
        self.latency = Histogram("rtp_worker_event_to_action_seconds",
                                 "Triggering event's record timestamp to the decision sent.",
                                 buckets=LATENCY_BUCKETS, registry=r)

    def after_lag(self) -> None:
        """The loop's families, registered after the lag gauge as in the worker."""
        self.turns = Histogram("rtp_worker_loop_turn_seconds",
                               "How long each consumer loop turn held the loop (its wait "
                               "for a first record left out).", buckets=TURN_BUCKETS,
                               registry=self.registry)
        self.registry.register(_PhasesLike())

    def apply(self, call: tuple[Any, ...]) -> None:
        kind, *args = call
        if kind == "loop_turn":
            self.turns.observe(max(0.0, args[0]))
        elif kind == "event":
            self.events.inc()
        elif kind == "decision":
            self.decisions.labels(args[0]).inc()
            if args[1] is not None:
                self.actions.labels(args[1], args[0]).inc()
        elif kind == "signal":
            self.signals.labels(args[0]).inc()
        elif kind == "answered":
            self.answers.inc()
        elif kind == "dead_letter":
            self.dead.labels(topic=args[0], reason=args[1]).inc()
        else:
            self.latency.observe(max(0.0, args[0]))


def _apply(metrics: WorkerMetrics, call: tuple[Any, ...]) -> None:
    kind, *args = call
    getattr(metrics, kind)(*args)


_names = st.sampled_from(["personalized", "control", "no_action", "cta_change", "é"])
_calls = st.one_of(
    st.tuples(st.just("event")),
    st.tuples(st.just("decision"), _names, st.none() | _names),
    st.tuples(st.just("signal"), _names),
    st.tuples(st.just("answered")),
    st.tuples(st.just("dead_letter"), _names, _names),
    st.tuples(st.just("latency"), st.floats(allow_nan=True) | st.sampled_from(
        [*LATENCY_BUCKETS, 0.0, -1.0, 1e9]) | st.integers(-5, 50)),
    st.tuples(st.just("loop_turn"), st.floats(allow_nan=True) | st.sampled_from(
        [*TURN_BUCKETS, 0.0, -1.0, 1e9])),
)


@settings(max_examples=200, deadline=None)
@given(calls=st.lists(_calls, max_size=60), scrapes=st.sets(st.integers(0, 60), max_size=3))
def test_the_exposition_is_prometheus_client_s(calls: list[tuple[Any, ...]],
                                               scrapes: set[int]) -> None:
    metrics, reference = WorkerMetrics(), _Reference()
    reference.registry.register(_LagLike())
    reference.after_lag()
    for i, call in enumerate(calls):
        if i in scrapes:
            assert render(metrics.registry) == render(reference.registry)
        _apply(metrics, call)
        reference.apply(call)
    assert render(metrics.registry) == render(reference.registry)


class _LagLike:
    """The lag gauge family (no topic yet), as the worker's registry ends with it."""

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Any:
        from prometheus_client.core import GaugeMetricFamily

        yield GaugeMetricFamily("rtp_worker_lag",
                                "Records behind on each input topic (owned partitions).",
                                labels=["topic"])


class _PhasesLike:
    """The loop's phase counter family (no phase timed yet)."""

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily

        yield CounterMetricFamily("rtp_worker_loop_phase_seconds",
                                  "Consumer loop time by phase.", labels=["phase"])
