"""Parse a ``/metrics`` answer with prometheus_client's own parser, for assertions."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Sample = tuple[str, frozenset[tuple[str, str]]]


def families(text: str) -> dict[str, str]:
    """Metric name (as declared: counters with ``_total``) -> type."""
    out = {}
    for family in text_string_to_metric_families(text):
        name = family.name + ("_total" if family.type == "counter" else "")
        out[name] = family.type
    return out


def samples(text: str) -> dict[Sample, float]:
    """(sample name, labels) -> value."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(text: str, name: str, **labels: str) -> float | None:
    """One sample's value, None when absent."""
    return samples(text).get((name, frozenset(labels.items())))
