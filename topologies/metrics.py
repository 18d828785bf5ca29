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
  committed offset, over the partitions this worker owns: librdkafka's ``consumer_lag``).

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
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from threading import Thread
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pipeline.web.metrics import new_registry

__all__ = ["LATENCY_BUCKETS", "WorkerMetrics", "lag_from_stats"]

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


class WorkerMetrics:
    """One worker's metrics in a registry of its own."""

    def __init__(self) -> None:
        self.registry = new_registry()
        self._lag: dict[str, int] = {}
        self._events = Counter("rtp_worker_events", "Clickstream records applied.",
                               registry=self.registry)
        self._decisions = Counter("rtp_worker_decisions", "Decisions logged, by arm.", ["arm"],
                                  registry=self.registry)
        self._actions = Counter("rtp_worker_action_decisions",
                                "Decisions logged, by action and arm.", ["action", "arm"],
                                registry=self.registry)
        self._signals = Counter("rtp_worker_signals", "Struggle signals written, by rule.",
                                ["rule"], registry=self.registry)
        self._answers = Counter("rtp_worker_answers",
                                "'Decided: nothing' answers written for awaited events.",
                                registry=self.registry)
        self._dead = Counter("rtp_worker_dead_letters",
                             "Records dead-lettered, by source topic and reason.",
                             ["topic", "reason"], registry=self.registry)
        self._latency = Histogram("rtp_worker_event_to_action_seconds",
                                  "Triggering event's record timestamp to the decision sent.",
                                  buckets=LATENCY_BUCKETS, registry=self.registry)
        self.registry.register(_Lag(lambda: self._lag))
        #: Labelled children by label values, looked up once (``labels()`` checks its
        #: arguments and takes a lock at every call: once per decision otherwise).
        self._children: dict[tuple[str, ...], Any] = {}
        self._server: WSGIServer | None = None
        self._thread: Thread | None = None

    def event(self) -> None:
        """One clickstream record applied."""
        self._events.inc()

    def decision(self, arm: str, action: str | None = None) -> None:
        """One decision logged in ``arm`` (of ``action``, when given)."""
        self._child(self._decisions, "decisions", arm).inc()
        if action is not None:
            self._child(self._actions, "actions", action, arm).inc()

    def signal(self, rule: str) -> None:
        """One struggle signal of ``rule`` written."""
        self._child(self._signals, "signals", rule).inc()

    def _child(self, metric: Counter, name: str, *values: str) -> Any:
        """``metric.labels(*values)``, kept (``name`` tells the metrics apart)."""
        key = (name, *values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

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
        self._latency.observe(max(0.0, seconds))

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
