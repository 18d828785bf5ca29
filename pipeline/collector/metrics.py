"""What the collector reports on ``/metrics``.

>>> m = CollectorMetrics.create()
>>> m.messages.inc(result="produced", record="ClickEvent")
>>> 'rtp_collector_messages_total{result="produced",record="ClickEvent"} 1' in m.registry.render()
True
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.web.metrics import Counter, Histogram, MetricsRegistry

__all__ = ["CollectorMetrics"]


@dataclass(frozen=True)
class CollectorMetrics:
    """The registry and its metrics.

    >>> m = CollectorMetrics.create(); m.refused.inc(status="401"); m.refused.value(status="401")
    1.0
    """

    registry: MetricsRegistry
    latency: Histogram
    requests: Counter
    messages: Counter
    refused: Counter

    @classmethod
    def create(cls) -> CollectorMetrics:
        """A fresh set of collector metrics."""
        r = MetricsRegistry()
        return cls(
            registry=r,
            latency=r.add(Histogram("rtp_collector_request_seconds",
                                    "Time to answer an HTTP request.",
                                    labels=("route", "method"))),
            requests=r.add(Counter("rtp_collector_requests_total", "HTTP requests answered.",
                                   labels=("route", "status"))),
            messages=r.add(Counter("rtp_collector_messages_total",
                                   "Messages by outcome: produced, duplicate, ignored.",
                                   labels=("result", "record"))),
            refused=r.add(Counter("rtp_collector_refused_total",
                                  "Requests refused, by HTTP status.", labels=("status",))),
        )
