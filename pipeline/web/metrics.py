"""Prometheus text exposition (format 0.0.4) without a client library.

Three metric kinds cover what the services report: a :class:`Counter`, a
:class:`Gauge` (set, or read from a callback at scrape time) and a
:class:`Histogram` with fixed buckets. A :class:`MetricsRegistry` renders them.

>>> registry = MetricsRegistry()
>>> latency = registry.add(Histogram("rtp_request_seconds", "Request latency.",
...                                  buckets=(0.01, 0.1), labels=("route",)))
>>> latency.observe(0.05, route="/v1/decisions")
>>> print(registry.render())  # doctest: +NORMALIZE_WHITESPACE
# HELP rtp_request_seconds Request latency.
# TYPE rtp_request_seconds histogram
rtp_request_seconds_bucket{route="/v1/decisions",le="0.01"} 0
rtp_request_seconds_bucket{route="/v1/decisions",le="0.1"} 1
rtp_request_seconds_bucket{route="/v1/decisions",le="+Inf"} 1
rtp_request_seconds_sum{route="/v1/decisions"} 0.05
rtp_request_seconds_count{route="/v1/decisions"} 1
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_LATENCY_BUCKETS",
    "Counter",
    "Gauge",
    "Histogram",
    "MetricsRegistry",
    "format_value",
]

#: The ``Content-Type`` of the text exposition format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Seconds; fine-grained below 10 ms where an in-memory lookup should land.
DEFAULT_LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)

LabelKey = tuple[str, ...]


def format_value(value: float) -> str:
    """A sample value as Prometheus writes it.

    >>> format_value(3.0), format_value(0.25), format_value(float("inf"))
    ('3', '0.25', '+Inf')
    """
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.label_names = tuple(labels)

    def _key(self, labels: dict[str, str]) -> LabelKey:
        if set(labels) != set(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}, got {tuple(labels)}")
        return tuple(str(labels[n]) for n in self.label_names)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> list[str]:
        raise NotImplementedError


class Counter(_Metric):
    """A value that only goes up (or read from ``read``, a running total kept elsewhere).

    >>> c = Counter("rtp_things_total", "Things.", labels=("kind",))
    >>> c.inc(kind="a"); c.inc(2, kind="a"); c.value(kind="a")
    3.0
    """

    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = (),
                 read: Callable[[], float] | None = None) -> None:
        super().__init__(name, help_text, labels)
        if read is not None and self.label_names:
            raise ValueError(f"{self.name}: a callback counter cannot have labels")
        self._read = read
        self._values: dict[LabelKey, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` (not negative) to the series of ``labels``."""
        if amount < 0:
            raise ValueError(f"{self.name}: a counter cannot decrease (got {amount})")
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        """The current value of the series of ``labels`` (0 if never incremented)."""
        return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        if self._read is not None:
            return [f"{self.name} {format_value(float(self._read()))}"]
        return [f"{self.name}{_labels(self.label_names, k)} {format_value(v)}"
                for k, v in sorted(self._values.items())]


class Gauge(_Metric):
    """A value that goes up and down, or is read from ``read`` at scrape time.

    >>> held = Gauge("rtp_held", "Held.", read=lambda: 7)
    >>> held.samples()
    ['rtp_held 7']
    """

    kind = "gauge"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = (),
                 read: Callable[[], float] | None = None) -> None:
        super().__init__(name, help_text, labels)
        if read is not None and self.label_names:
            raise ValueError(f"{self.name}: a callback gauge cannot have labels")
        self._read = read
        self._values: dict[LabelKey, float] = {}

    def set(self, value: float, **labels: str) -> None:
        """Set the series of ``labels`` to ``value``."""
        self._values[self._key(labels)] = float(value)

    def samples(self) -> list[str]:
        if self._read is not None:
            return [f"{self.name} {format_value(float(self._read()))}"]
        return [f"{self.name}{_labels(self.label_names, k)} {format_value(v)}"
                for k, v in sorted(self._values.items())]


class Histogram(_Metric):
    """Counts of observations per upper bound (cumulative on output), their sum and count.

    >>> h = Histogram("rtp_t", "T.", buckets=(1.0, 2.0))
    >>> for v in (0.5, 1.5, 9.0):
    ...     h.observe(v)
    >>> h.count(), h.samples()[:3]
    (3, ['rtp_t_bucket{le="1"} 1', 'rtp_t_bucket{le="2"} 2', 'rtp_t_bucket{le="+Inf"} 3'])
    """

    kind = "histogram"

    def __init__(self, name: str, help_text: str,
                 buckets: Sequence[float] = DEFAULT_LATENCY_BUCKETS,
                 labels: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labels)
        if list(buckets) != sorted(set(buckets)) or not buckets:
            raise ValueError(f"{self.name}: buckets must be distinct and increasing")
        self.bounds = tuple(float(b) for b in buckets)
        self._counts: dict[LabelKey, list[int]] = {}
        self._sums: dict[LabelKey, float] = {}

    def observe(self, value: float, **labels: str) -> None:
        """Record one observation in the series of ``labels``."""
        key = self._key(labels)
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = [0] * (len(self.bounds) + 1)
            self._sums[key] = 0.0
        counts[bisect.bisect_left(self.bounds, value)] += 1
        self._sums[key] += value

    def count(self, **labels: str) -> int:
        """How many observations the series of ``labels`` holds."""
        return sum(self._counts.get(self._key(labels), ()))

    def samples(self) -> list[str]:
        out: list[str] = []
        for key in sorted(self._counts):
            running = 0
            for bound, n in zip((*self.bounds, math.inf), self._counts[key], strict=True):
                running += n
                le = f'le="{format_value(bound)}"'
                out.append(f"{self.name}_bucket{_labels(self.label_names, key, le)} {running}")
            out.append(f"{self.name}_sum{_labels(self.label_names, key)} "
                       f"{format_value(self._sums[key])}")
            out.append(f"{self.name}_count{_labels(self.label_names, key)} {running}")
        return out


M = TypeVar("M", bound=_Metric)


class MetricsRegistry:
    """The metrics one service exposes on ``/metrics``.

    >>> r = MetricsRegistry()
    >>> _ = r.add(Counter("rtp_a_total", "A."))
    >>> r.add(Counter("rtp_a_total", "again"))
    Traceback (most recent call last):
    ...
    ValueError: metric rtp_a_total is already registered
    """

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}

    def add(self, metric: M) -> M:
        """Register ``metric`` and return it."""
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} is already registered")
        self._metrics[metric.name] = metric
        return metric

    def render(self) -> str:
        """Every metric in the text exposition format, ending with a newline."""
        lines: list[str] = []
        for metric in self._metrics.values():
            lines += metric.header()
            lines += metric.samples()
        return "\n".join(lines) + "\n"
