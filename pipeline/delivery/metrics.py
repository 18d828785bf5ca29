"""What the delivery service reports on ``/metrics``.

>>> from pipeline.delivery.store import DecisionStore
>>> from pipeline.delivery.feed import FeedStatus
>>> m = DeliveryMetrics.create(DecisionStore(), lambda: FeedStatus(lag=3), lambda: 0)
>>> "rtp_delivery_consumer_lag 3" in m.registry.render()
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipeline.delivery.feed import FeedStatus
from pipeline.delivery.store import DecisionStore
from pipeline.web.metrics import Counter, Gauge, Histogram, MetricsRegistry

__all__ = ["DeliveryMetrics"]


@dataclass(frozen=True)
class DeliveryMetrics:
    """The registry and the metrics handlers update directly.

    >>> m = DeliveryMetrics.create(DecisionStore(), FeedStatus, lambda: 2)
    >>> m.outcomes.inc(kind="shown"); m.outcomes.value(kind="shown")
    1.0
    >>> "rtp_delivery_sse_streams 2" in m.registry.render()
    True
    """

    registry: MetricsRegistry
    latency: Histogram
    requests: Counter
    decisions: Counter
    outcomes: Counter
    waits: Counter

    @classmethod
    def create(cls, store: DecisionStore, feed_status: Callable[[], FeedStatus],
               open_streams: Callable[[], int],
               held: Callable[[], int] = lambda: 0) -> DeliveryMetrics:
        """Metrics over ``store`` and the feed; gauges are read at scrape time.

        ``held``: requests held waiting for their trigger's decision.
        """
        r = MetricsRegistry()
        latency = r.add(Histogram("rtp_delivery_request_seconds",
                                  "Time to answer an HTTP request (streams excluded).",
                                  labels=("route", "method")))
        requests = r.add(Counter("rtp_delivery_requests_total", "HTTP requests answered.",
                                 labels=("route", "status")))
        r.add(Gauge("rtp_delivery_decisions_held", "Unexpired decisions held in memory.",
                    read=lambda: len(store)))
        r.add(Gauge("rtp_delivery_visitors_held", "Visitors with a decision held.",
                    read=lambda: store.visitors))
        r.add(Gauge("rtp_delivery_consumer_lag",
                    "Records on personalization.actions not yet read (all partitions).",
                    read=lambda: feed_status().lag))
        r.add(Gauge("rtp_delivery_caught_up", "1 once the start-up read-back is complete.",
                    read=lambda: 1 if feed_status().caught_up else 0))
        decisions = r.add(Counter("rtp_delivery_decisions_total",
                                  "Decisions consumed, by what the store did with them.",
                                  labels=("result",)))
        r.add(Counter("rtp_delivery_dead_letters_total",
                      "Messages on the actions topic sent to its dead-letter topic.",
                      read=lambda: feed_status().rejected))
        r.add(Gauge("rtp_delivery_sse_streams", "Open Server-Sent Events streams.",
                    read=open_streams))
        outcomes = r.add(Counter("rtp_delivery_outcomes_total", "Outcomes produced, by kind.",
                                 labels=("kind",)))
        r.add(Gauge("rtp_delivery_held_requests",
                    "Requests held waiting for the decision of their trigger event.",
                    read=held))
        waits = r.add(Counter("rtp_delivery_waits_total",
                              "Requests that asked for a trigger's decision, by how the wait "
                              "ended (arrived, seen, timeout, full, released).",
                              labels=("result",)))
        return cls(r, latency, requests, decisions, outcomes, waits)
