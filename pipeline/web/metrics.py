"""Prometheus metrics through prometheus_client: one registry per service, on ``/metrics``.

Each service builds its metrics in a registry of its own (:func:`new_registry`, so that
several services or test instances in one process never clash) and answers
``/metrics`` with :func:`render`. Counters, gauges and histograms are
prometheus_client's; a gauge read at scrape time uses ``Gauge.set_function``, and a
counter kept elsewhere as a running total is a :class:`ReadCounter`. The ``_created``
series are switched off: the exposition holds the metrics rtp names, nothing else.

>>> from prometheus_client import Histogram
>>> registry = new_registry()
>>> latency = Histogram("rtp_request_seconds", "Request latency.", ["route"],
...                     buckets=(0.01, 0.1), registry=registry)
>>> latency.labels(route="/v1/decisions").observe(0.05)
>>> print(render(registry).decode())  # doctest: +NORMALIZE_WHITESPACE
# HELP rtp_request_seconds Request latency.
# TYPE rtp_request_seconds histogram
rtp_request_seconds_bucket{le="0.01",route="/v1/decisions"} 0.0
rtp_request_seconds_bucket{le="0.1",route="/v1/decisions"} 1.0
rtp_request_seconds_bucket{le="+Inf",route="/v1/decisions"} 1.0
rtp_request_seconds_count{route="/v1/decisions"} 1.0
rtp_request_seconds_sum{route="/v1/decisions"} 0.05
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE", "DEFAULT_LATENCY_BUCKETS", "ReadCounter", "new_registry", "render"]

disable_created_metrics()

#: The ``Content-Type`` of the text exposition format ``/metrics`` answers with.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

#: Seconds; fine-grained below 10 ms where an in-memory lookup should land.
DEFAULT_LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)


def new_registry() -> CollectorRegistry:
    """A registry of one service's metrics (not prometheus_client's global one).

    >>> new_registry().get_sample_value("nothing") is None
    True
    """
    return CollectorRegistry(auto_describe=True)


def render(registry: CollectorRegistry) -> bytes:
    """Every metric of ``registry`` in the text exposition format.

    >>> render(new_registry())
    b''
    """
    return bytes(generate_latest(registry))


class ReadCounter(Collector):
    """A counter whose running total is kept elsewhere, read at scrape time.

    >>> registry = new_registry()
    >>> total = [3]
    >>> _ = ReadCounter("rtp_things_total", "Things.", lambda: total[0], registry)
    >>> registry.get_sample_value("rtp_things_total")
    3.0
    """

    def __init__(self, name: str, documentation: str, read: Callable[[], float],
                 registry: CollectorRegistry) -> None:
        self.name = name
        self.documentation = documentation
        self.read = read
        registry.register(self)

    def collect(self) -> Iterator[Metric]:
        """The counter's one sample, read now."""
        yield CounterMetricFamily(self.name, self.documentation, value=float(self.read()))
