"""What the collector reports on ``/metrics`` (prometheus_client, a registry of its own).

>>> from pipeline.web.metrics import render
>>> m = CollectorMetrics.create()
>>> m.messages.labels(result="produced", record="ClickEvent").inc()
>>> b'rtp_collector_messages_total{record="ClickEvent",result="produced"} 1.0' in render(m.registry)
True
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from pipeline.web.metrics import DEFAULT_LATENCY_BUCKETS, new_registry

__all__ = ["CollectorMetrics"]


@dataclass(frozen=True)
class CollectorMetrics:
    """The registry and its metrics.

    >>> m = CollectorMetrics.create(); m.refused.labels(status="401").inc()
    >>> m.registry.get_sample_value("rtp_collector_refused_total", {"status": "401"})
    1.0
    """

    registry: CollectorRegistry
    latency: Histogram
    requests: Counter
    messages: Counter
    refused: Counter

    @classmethod
    def create(cls) -> CollectorMetrics:
        """A fresh set of collector metrics."""
        r = new_registry()
        return cls(
            registry=r,
            latency=Histogram("rtp_collector_request_seconds", "Time to answer an HTTP request.",
                              ["route", "method"], buckets=DEFAULT_LATENCY_BUCKETS, registry=r),
            requests=Counter("rtp_collector_requests_total", "HTTP requests answered.",
                             ["route", "status"], registry=r),
            messages=Counter("rtp_collector_messages_total",
                             "Messages by outcome: produced, duplicate, ignored.",
                             ["result", "record"], registry=r),
            refused=Counter("rtp_collector_refused_total", "Requests refused, by HTTP status.",
                            ["status"], registry=r),
        )
