"""The worker's own ``/metrics`` (prometheus_client): events, decisions (by arm, and by
action and arm), struggle signals by rule, dead letters, event→action latency and consumer
lag.

The decision path counts as it goes (:class:`WorkerMetrics` methods are called on the
loop's thread); lag comes from librdkafka's own
statistics (``stats_cb``, :meth:`WorkerMetrics.on_stats`, every few seconds).
:meth:`WorkerMetrics.serve` starts prometheus_client's own HTTP server on a
daemon thread (``RTP_WORKER_METRICS_PORT``; 0: none).

- ``rtp_worker_events_total``: clickstream records applied (bad ones included);
- ``rtp_worker_decisions_total{arm}``: decisions written to the decision log;
- ``rtp_worker_action_decisions_total{action,arm}``: the same, by the action decided
  (``no_action`` included; control decisions are logged, not served);
- ``rtp_worker_signals_total{rule}``: struggle signals written to ``signals.struggle``;
- ``rtp_worker_dead_letters_total{topic,reason}``: records dead-lettered, by source topic
  and reason (``DeadLetter.error_class``);
- ``rtp_worker_event_to_action_seconds``: from the triggering event's record timestamp
  (written by the SDK or the collector) to the worker handing the decision to its producer;
- ``rtp_worker_lag{topic}``: records behind on each input topic (end offset minus the
  committed offset, over the partitions this worker owns: librdkafka's ``consumer_lag``);
- ``rtp_worker_loop_turn_seconds``: how long each turn of the consumer loop held it (its
  wait for a first record left out): every record fetched meanwhile waits that long;
- ``rtp_worker_loop_phase_seconds_total{phase}``: the loop's time by phase (poll, consume,
  apply, the tick's steps, the commit's steps; :mod:`topologies.loop.turns`).

>>> import json
>>> metrics = WorkerMetrics()
>>> metrics.on_stats(json.dumps({"topics": {"clickstream.events": {"partitions": {
...     "0": {"consumer_lag": 2}, "1": {"consumer_lag": 1}, "-1": {"consumer_lag": -1}}}}}))
>>> metrics.event()
>>> metrics.decision("control", "cta_change")
>>> metrics.signal("rage_click")
>>> metrics.dead_letter("clickstream.events", "garbage")
>>> metrics.latency(0.02)
>>> r = metrics.registry
>>> r.get_sample_value("rtp_worker_events_total"), r.get_sample_value(
...     "rtp_worker_decisions_total", {"arm": "control"})
(1.0, 1.0)
>>> r.get_sample_value("rtp_worker_action_decisions_total",
...                    {"action": "cta_change", "arm": "control"})
1.0
>>> r.get_sample_value("rtp_worker_signals_total", {"rule": "rage_click"})
1.0
>>> r.get_sample_value("rtp_worker_lag", {"topic": "clickstream.events"})
3.0
>>> r.get_sample_value("rtp_worker_event_to_action_seconds_bucket", {"le": "0.025"})
1.0
>>> metrics.loop_turn(0.003); metrics.loop_phases({"apply": 1.5, "poll": 2.0})
>>> r.get_sample_value("rtp_worker_loop_turn_seconds_bucket", {"le": "0.005"})
1.0
>>> r.get_sample_value("rtp_worker_loop_phase_seconds_total", {"phase": "apply"})
1.5
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from pipeline.web.metrics import new_registry

__all__ = ["LATENCY_BUCKETS", "WorkerMetrics", "lag_from_stats"]

#: Seconds a turn of the consumer loop holds it: well under the latency goal when all is well.
TURN_BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

#: Seconds: the decision path's goal is tens of milliseconds; a backlog shows as seconds.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)


def lag_from_stats(stats: str) -> dict[str, int]:
    """Records behind per topic from librdkafka's statistics JSON (``consumer_lag`` of each
    partition the consumer holds; -1, unknown yet, counts 0; the internal partition -1 is
    skipped).

    >>> lag_from_stats('{"topics": {"t": {"partitions": {"0": {"consumer_lag": 4},'
    ...                '"1": {"consumer_lag": -1}, "-1": {"consumer_lag": 9}}}}}')
    {'t': 4}
    >>> lag_from_stats("{}")
    {}
    """
    lag: dict[str, int] = {}
    for topic, found in json.loads(stats).get("topics", {}).items():
        parts = found.get("partitions", {})
        lag[topic] = sum(max(0, int(p.get("consumer_lag", -1)))
                         for number, p in parts.items() if int(number) >= 0)
    return lag


class _Lag(Collector):
    def __init__(self, read: Callable[[], Mapping[str, int]]) -> None:
        self.read = read

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("rtp_worker_lag",
                                 "Records behind on each input topic (owned partitions).",
                                 labels=["topic"])

    def describe(self) -> Iterator[Metric]:
        # Registration asks for the names only: the loop may not exist yet.
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for topic, behind in sorted(self.read().items()):
            family.add_metric([topic], float(behind))
        yield family


class _Phases(Collector):
    """Seconds by loop phase, read from the loop's running totals at each scrape."""

    def __init__(self, read: Callable[[], Mapping[str, float]]) -> None:
        self.read = read

    @staticmethod
    def _family() -> CounterMetricFamily:
        return CounterMetricFamily("rtp_worker_loop_phase_seconds",
                                   "Consumer loop time by phase.", labels=["phase"])

    def describe(self) -> Iterator[Metric]:
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for phase, seconds in sorted(dict(self.read()).items()):
            family.add_metric([phase], seconds)
        yield family


class _Counts(Collector):
    """A counter family whose counts (by label values) are plain ints kept by the loop's
    thread, read when a scrape collects them: counting takes no lock and calls nothing
    (prometheus_client's ``inc`` takes a lock and checks its argument). The exposition is
    a ``Counter``'s: ``<name>_total`` by label values in the order they were first counted
    (tests/unit/topologies/test_metrics.py compares the two).

    >>> registry = new_registry()
    >>> counts = _Counts("rtp_things", "Things.", ("kind",), registry)
    >>> counts.counts[("a",)] = counts.counts.get(("a",), 0) + 1
    >>> registry.get_sample_value("rtp_things_total", {"kind": "a"})
    1.0
    """

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...],
                 registry: CollectorRegistry) -> None:
        self.name, self.documentation, self.labels = name, documentation, labels
        #: Label values -> how many (an unlabelled counter: the one key ``()``).
        self.counts: dict[tuple[str, ...], int] = {} if labels else {(): 0}
        registry.register(self)

    def describe(self) -> Iterator[Metric]:
        yield CounterMetricFamily(self.name, self.documentation, labels=self.labels)

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        # dict() copies in one step under the GIL: the loop's thread may add a key meanwhile.
        for values, count in dict(self.counts).items():
            family.add_metric(list(values), float(count))
        yield family


class _Latencies(Collector):
    """A histogram (no labels) whose bucket counts and sum are kept by the loop's thread,
    read when a scrape collects them; exposed as prometheus_client's ``Histogram`` is (each
    value counted in the first bucket whose bound is at least it, summed in order).

    >>> registry = new_registry()
    >>> latencies = _Latencies("rtp_wait_seconds", "Waits.", (0.1, 1.0), registry)
    >>> latencies.observe(0.5); latencies.observe(2.0)
    >>> [registry.get_sample_value("rtp_wait_seconds_bucket", {"le": le})
    ...  for le in ("0.1", "1.0", "+Inf")], registry.get_sample_value("rtp_wait_seconds_sum")
    ([0.0, 1.0, 2.0], 2.5)
    """

    def __init__(self, name: str, documentation: str, buckets: tuple[float, ...],
                 registry: CollectorRegistry) -> None:
        self.name, self.documentation = name, documentation
        self.bounds = [*(float(b) for b in buckets), math.inf]
        self._le = [repr(b) for b in self.bounds[:-1]] + ["+Inf"]
        self.counts = [0] * len(self.bounds)
        self.sum = 0.0
        registry.register(self)

    def observe(self, seconds: float) -> None:
        """One value (not NaN)."""
        self.sum += seconds
        self.counts[bisect_left(self.bounds, seconds)] += 1

    def describe(self) -> Iterator[Metric]:
        yield HistogramMetricFamily(self.name, self.documentation)

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation)
        total, buckets = 0, []
        for le, count in zip(self._le, list(self.counts), strict=True):
            total += count
            buckets.append((le, float(total)))
        family.add_metric([], buckets, self.sum)
        yield family


class WorkerMetrics:
    """One worker's metrics in a registry of its own. What is counted per event (events,
    decisions, signals, latencies) is kept in plain ints, read at each scrape (exact then);
    the rest (answers, dead letters) in prometheus_client's counters."""

    def __init__(self) -> None:
        self.registry = new_registry()
        self._lag: dict[str, int] = {}
        self._events = _Counts("rtp_worker_events", "Clickstream records applied.", (),
                               self.registry)
        self._decisions = _Counts("rtp_worker_decisions", "Decisions logged, by arm.",
                                  ("arm",), self.registry)
        self._actions = _Counts("rtp_worker_action_decisions",
                                "Decisions logged, by action and arm.", ("action", "arm"),
                                self.registry)
        self._signals = _Counts("rtp_worker_signals", "Struggle signals written, by rule.",
                                ("rule",), self.registry)
        self._answers = Counter("rtp_worker_answers",
                                "'Decided: nothing' answers written for awaited events.",
                                registry=self.registry)
        self._dead = Counter("rtp_worker_dead_letters",
                             "Records dead-lettered, by source topic and reason.",
                             ["topic", "reason"], registry=self.registry)
        self._latency = _Latencies("rtp_worker_event_to_action_seconds",
                                   "Triggering event's record timestamp to the decision sent.",
                                   LATENCY_BUCKETS, self.registry)
        self.registry.register(_Lag(lambda: self._lag))
        self._turns = _Latencies("rtp_worker_loop_turn_seconds",
                                 "How long each consumer loop turn held the loop (its wait "
                                 "for a first record left out).", TURN_BUCKETS, self.registry)
        self._phases: Mapping[str, float] = {}
        self.registry.register(_Phases(lambda: self._phases))
        self._server: WSGIServer | None = None
        self._thread: Thread | None = None

    def event(self) -> None:
        """One clickstream record applied."""
        self._events.counts[()] += 1

    def decision(self, arm: str, action: str | None = None) -> None:
        """One decision logged in ``arm`` (of ``action``, when given)."""
        decisions, key = self._decisions.counts, (arm,)
        decisions[key] = decisions.get(key, 0) + 1
        if action is not None:
            actions, pair = self._actions.counts, (action, arm)
            actions[pair] = actions.get(pair, 0) + 1

    def signal(self, rule: str) -> None:
        """One struggle signal of ``rule`` written."""
        counts, key = self._signals.counts, (rule,)
        counts[key] = counts.get(key, 0) + 1

    def answered(self) -> None:
        """One 'decided: nothing' answer written (an awaited event that delivered no action)."""
        self._answers.inc()

    def dead_letter(self, topic: str, reason: str) -> None:
        """One record of ``topic`` dead-lettered for ``reason``."""
        self._dead.labels(topic=topic, reason=reason).inc()

    def on_stats(self, stats: str) -> None:
        """librdkafka's ``stats_cb``: keep the lag it reports (replaced as a whole)."""
        self._lag = lag_from_stats(stats)

    def latency(self, seconds: float) -> None:
        """One event→action latency."""
        self._latency.observe(max(0.0, seconds))  # (max: a NaN counts 0.0)

    def loop_turn(self, seconds: float) -> None:
        """One turn of the consumer loop held it ``seconds``."""
        self._turns.observe(max(0.0, seconds))

    def loop_phases(self, totals: Mapping[str, float]) -> None:
        """Where the consumer loop's seconds by phase are kept (read at each scrape)."""
        self._phases = totals

    def serve(self, host: str, port: int) -> int:
        """Serve ``/metrics`` on ``host:port`` (0: a free port) on a daemon thread; the port.

        >>> metrics = WorkerMetrics()
        >>> port = metrics.serve("127.0.0.1", 0)
        >>> import urllib.request
        >>> with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as r:
        ...     b"rtp_worker_events_total 0.0" in r.read()
        True
        >>> metrics.close()
        """
        self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        return int(self._server.server_port)

    def close(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
