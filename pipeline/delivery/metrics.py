"""What the delivery service reports on ``/metrics`` (prometheus_client, a registry of its
own; gauges read the store and the feed at scrape time).

>>> from pipeline.delivery.store import DecisionStore
>>> from pipeline.delivery.feed import FeedStatus
>>> m = DeliveryMetrics.create(DecisionStore(), lambda: FeedStatus(lag=3), lambda: 0)
>>> m.registry.get_sample_value("rtp_delivery_consumer_lag")
3.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from pipeline.delivery.feed import FeedStatus
from pipeline.delivery.store import DecisionStore
from pipeline.web.metrics import DEFAULT_LATENCY_BUCKETS, ReadCounter, new_registry

__all__ = ["DeliveryMetrics"]


def _gauge(name: str, documentation: str, read: Callable[[], float],
           registry: CollectorRegistry) -> Gauge:
    gauge = Gauge(name, documentation, registry=registry)
    gauge.set_function(read)
    return gauge


@dataclass(frozen=True)
class DeliveryMetrics:
    """The registry and the metrics handlers update directly.

    >>> m = DeliveryMetrics.create(DecisionStore(), FeedStatus, lambda: 2)
    >>> m.outcomes.labels(kind="shown").inc()
    >>> m.registry.get_sample_value("rtp_delivery_outcomes_total", {"kind": "shown"})
    1.0
    >>> m.registry.get_sample_value("rtp_delivery_sse_streams")
    2.0
    """

    registry: CollectorRegistry
    latency: Histogram
    requests: Counter
    decisions: Counter
    outcomes: Counter
    waits: Counter
    #: labelled children of ``decisions`` and ``waits`` by result, kept (see :meth:`count`)
    _kept: dict[tuple[str, str], Any] = field(default_factory=dict, compare=False, repr=False)

    def count(self, counter: str, result: str) -> None:
        """Add one to ``decisions`` or ``waits`` (``counter``) for ``result``, keeping the
        labelled child: these count every consumed decision and every held request, and
        ``labels()`` takes a lock and builds a key on each call. Results are a few enum
        values, so what is kept stays small.

        >>> m = DeliveryMetrics.create(DecisionStore(), FeedStatus, lambda: 0)
        >>> m.count("waits", "timeout"); m.count("waits", "timeout")
        >>> m.registry.get_sample_value("rtp_delivery_waits_total", {"result": "timeout"})
        2.0
        """
        child = self._kept.get((counter, result))
        if child is None:
            metric: Counter = getattr(self, counter)
            child = self._kept[(counter, result)] = metric.labels(result=result)
        child.inc()

    @classmethod
    def create(cls, store: DecisionStore, feed_status: Callable[[], FeedStatus],
               open_streams: Callable[[], int],
               held: Callable[[], int] = lambda: 0) -> DeliveryMetrics:
        """Metrics over ``store`` and the feed; gauges are read at scrape time.

        ``held``: requests held waiting for their trigger's decision.
        """
        r = new_registry()
        latency = Histogram("rtp_delivery_request_seconds",
                            "Time to answer an HTTP request (streams excluded).",
                            ["route", "method"], buckets=DEFAULT_LATENCY_BUCKETS, registry=r)
        requests = Counter("rtp_delivery_requests_total", "HTTP requests answered.",
                           ["route", "status"], registry=r)
        _gauge("rtp_delivery_decisions_held", "Unexpired decisions held in memory.",
               lambda: len(store), r)
        _gauge("rtp_delivery_visitors_held", "Visitors with a decision held.",
               lambda: store.visitors, r)
        _gauge("rtp_delivery_consumer_lag",
               "Records on personalization.actions not yet read (all partitions).",
               lambda: feed_status().lag, r)
        _gauge("rtp_delivery_caught_up", "1 once the start-up read-back is complete.",
               lambda: 1 if feed_status().caught_up else 0, r)
        decisions = Counter("rtp_delivery_decisions_total",
                            "Decisions consumed, by what the store did with them.",
                            ["result"], registry=r)
        ReadCounter("rtp_delivery_dead_letters_total",
                    "Messages on the actions topic sent to its dead-letter topic.",
                    lambda: feed_status().rejected, r)
        _gauge("rtp_delivery_sse_streams", "Open Server-Sent Events streams.", open_streams, r)
        outcomes = Counter("rtp_delivery_outcomes_total", "Outcomes produced, by kind.",
                           ["kind"], registry=r)
        _gauge("rtp_delivery_held_requests",
               "Requests held waiting for the decision of their trigger event.", held, r)
        waits = Counter("rtp_delivery_waits_total",
                        "Requests that asked for a trigger's decision, by how the wait ended "
                        "(arrived, seen, nothing, timeout, full, released).", ["result"],
                        registry=r)
        return cls(r, latency, requests, decisions, outcomes, waits)
