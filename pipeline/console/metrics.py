"""The console's figures on its own ``/metrics`` (prometheus_client), read from its snapshot.

Nothing is computed twice: at each scrape :class:`ConsoleFigures` takes the same snapshot
``/v1/console`` answers with (:meth:`~pipeline.console.service.ConsoleService.snapshot`:
the tally's counts and the experiment figures it holds, recomputed at most every
``report_every_s``) and :func:`figure_families` turns it into gauges. A figure the console
shows as ``null`` (not known yet: no decisions, a rate without decisions) has no sample;
with no experiment report yet (``experiment.error``) the ``rtp_console_experiment_*`` and
``rtp_console_headline*`` families are empty. Gauges, not counters: the console's counts
are of what it read from the topics within its horizon, and are read again when it
restarts. Latencies are in seconds (the page shows milliseconds).

- ``rtp_console_decisions{arm}``: decisions (distinct ids) by arm;
  ``rtp_console_decisions_per_second`` over the last ``rate_window_s`` seconds;
  ``rtp_console_model_decisions{model_version}``;
- ``rtp_console_event_to_action_seconds{quantile}`` (0.5 and 0.99 of the kept latencies),
  ``rtp_console_event_to_action_recent_p99_seconds``,
  ``rtp_console_event_to_action_samples{over}`` (``kept`` / ``recent``);
- ``rtp_console_signals{rule}``, ``rtp_console_dead_letters{topic,reason}``,
  ``rtp_console_records{topic}`` (records read);
- ``rtp_console_experiment_visitors{arm}``, ``rtp_console_experiment_conversion_rate{arm}``,
  ``rtp_console_experiment_lift`` (conversion, absolute) with
  ``rtp_console_experiment_lift_ci{bound}`` (fixed horizon) and
  ``rtp_console_experiment_lift_always_valid{bound}``,
  ``rtp_console_experiment_lift_conclusive``, ``rtp_console_experiment_srm_mismatch``,
  ``rtp_console_experiment_control_share``, ``rtp_console_experiment_confidence``;
- ``rtp_console_headline{metric,arm}``, ``rtp_console_headline_lift{metric}``,
  ``rtp_console_headline_lift_ci{metric,bound}``: the objective's metric;
- ``rtp_console_action_decisions{action,arm}``, ``rtp_console_action_clicks{action}``,
  ``rtp_console_action_conversions{action}``, ``rtp_console_action_click_rate{action}``,
  ``rtp_console_action_conversion_rate{action}``, ``rtp_console_action_in_catalog{action}``;
- ``rtp_console_catalog_version``, ``rtp_console_catalog_actions``,
  ``rtp_console_config_version``;
- ``rtp_console_feed_caught_up``, ``rtp_console_feed_behind``,
  ``rtp_console_feed_undecodable``.

>>> from pipeline.web.metrics import new_registry
>>> body = {"decisions": {"by_arm": {"control": 2}, "per_second": 0.5, "model_versions": {}},
...         "latency": {"p50_ms": 12.0, "p99_ms": None, "samples": 1,
...                     "recent_p99_ms": None, "recent_samples": 0},
...         "signals": {}, "dead_letters": {"clickstream.events.dlq": {"garbage": 1}},
...         "records": {}, "actions": [], "catalog": None, "config_version": 0,
...         "experiment": {"error": "no decisions to report on"},
...         "feed": {"caught_up": True, "behind": 0, "undecodable": 0}}
>>> registry = new_registry()
>>> _ = ConsoleFigures(lambda: body, registry)
>>> registry.get_sample_value("rtp_console_decisions", {"arm": "control"})
2.0
>>> registry.get_sample_value("rtp_console_event_to_action_seconds", {"quantile": "0.5"})
0.012
>>> registry.get_sample_value("rtp_console_event_to_action_seconds", {"quantile": "0.99"})
>>> registry.get_sample_value("rtp_console_dead_letters",
...                           {"topic": "clickstream.events.dlq", "reason": "garbage"})
1.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["FAMILIES", "ConsoleFigures", "figure_families"]

#: Every family the console exposes: name -> (help, label names).
FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "rtp_console_decisions": ("Decisions read (distinct ids), by arm.", ("arm",)),
    "rtp_console_decisions_per_second": (
        "Decisions per second over the console's rate window.", ()),
    "rtp_console_model_decisions": ("Decisions read, by the model version that made them.",
                                    ("model_version",)),
    "rtp_console_event_to_action_seconds": (
        "Event to action latency of the kept samples, by quantile.", ("quantile",)),
    "rtp_console_event_to_action_recent_p99_seconds": (
        "Event to action p99 over the console's rate window.", ()),
    "rtp_console_event_to_action_samples": (
        "Event to action latencies the quantiles are over (kept, recent).", ("over",)),
    "rtp_console_signals": ("Struggle signals read (distinct ids), by rule.", ("rule",)),
    "rtp_console_dead_letters": ("Dead letters read, by source topic and reason.",
                                 ("topic", "reason")),
    "rtp_console_records": ("Records read, by topic.", ("topic",)),
    "rtp_console_experiment_visitors": ("Experiment visitors, by arm.", ("arm",)),
    "rtp_console_experiment_conversion_rate": (
        "Converted visitors per visitor, by arm.", ("arm",)),
    "rtp_console_experiment_lift": (
        "Conversion lift, personalized minus control (absolute).", ()),
    "rtp_console_experiment_lift_ci": (
        "Fixed-horizon confidence interval of the conversion lift.", ("bound",)),
    "rtp_console_experiment_lift_always_valid": (
        "Always-valid confidence sequence of the conversion lift.", ("bound",)),
    "rtp_console_experiment_lift_conclusive": (
        "1 when the always-valid interval excludes zero.", ()),
    "rtp_console_experiment_srm_mismatch": ("1 when the sample-ratio check fails.", ()),
    "rtp_console_experiment_control_share": ("The control share the log records.", ()),
    "rtp_console_experiment_confidence": ("Confidence level of the intervals.", ()),
    "rtp_console_headline": ("The objective's headline metric, by arm.", ("metric", "arm")),
    "rtp_console_headline_lift": (
        "Lift of the objective's headline metric (absolute).", ("metric",)),
    "rtp_console_headline_lift_ci": (
        "Confidence interval of the headline metric's lift.", ("metric", "bound")),
    "rtp_console_action_decisions": ("Decisions read, by action and arm.", ("action", "arm")),
    "rtp_console_action_clicks": ("Clicked personalized decisions, by action.", ("action",)),
    "rtp_console_action_conversions": (
        "Converted personalized decisions, by action.", ("action",)),
    "rtp_console_action_click_rate": (
        "Clicks per personalized decision, by action.", ("action",)),
    "rtp_console_action_conversion_rate": (
        "Conversions per personalized decision, by action.", ("action",)),
    "rtp_console_action_in_catalog": ("1 when the action is in the catalog shown.", ("action",)),
    "rtp_console_catalog_version": ("Version of the catalog shown.", ()),
    "rtp_console_catalog_actions": ("Actions in the catalog shown.", ()),
    "rtp_console_config_version": ("Published config version shown (0: the startup one).", ()),
    "rtp_console_feed_caught_up": (
        "1 once the console has read what was on its topics at start.", ()),
    "rtp_console_feed_behind": ("Records behind the end offsets seen at assignment.", ()),
    "rtp_console_feed_undecodable": ("Records that did not decode (skipped).", ()),
}

_BOUNDS = ("low", "high")


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000.0


def figure_families(body: Mapping[str, Any]) -> list[Metric]:
    """The gauges of one console snapshot (``/v1/console``'s body), in :data:`FAMILIES`'
    order; a ``None`` figure has no sample."""
    families = {name: GaugeMetricFamily(name, doc, labels=list(labels))
                for name, (doc, labels) in FAMILIES.items()}

    def put(name: str, value: Any, *labels: str) -> None:
        if value is not None:
            families[name].add_metric(list(labels), float(value))

    def put_bounds(name: str, pair: Sequence[Any] | None, *labels: str) -> None:
        for bound, value in zip(_BOUNDS, pair or (None, None), strict=True):
            put(name, value, *labels, bound)

    decisions = body["decisions"]
    for arm, n in decisions["by_arm"].items():
        put("rtp_console_decisions", n, arm)
    put("rtp_console_decisions_per_second", decisions["per_second"])
    for version, n in decisions["model_versions"].items():
        put("rtp_console_model_decisions", n, version)
    latency = body["latency"]
    put("rtp_console_event_to_action_seconds", _seconds(latency["p50_ms"]), "0.5")
    put("rtp_console_event_to_action_seconds", _seconds(latency["p99_ms"]), "0.99")
    put("rtp_console_event_to_action_recent_p99_seconds", _seconds(latency["recent_p99_ms"]))
    put("rtp_console_event_to_action_samples", latency["samples"], "kept")
    put("rtp_console_event_to_action_samples", latency["recent_samples"], "recent")
    for rule, n in body["signals"].items():
        put("rtp_console_signals", n, rule)
    for topic, reasons in body["dead_letters"].items():
        for reason, n in reasons.items():
            put("rtp_console_dead_letters", n, topic, reason)
    for topic, n in body["records"].items():
        put("rtp_console_records", n, topic)

    experiment = body["experiment"]
    if "error" not in experiment:
        for arm, figures in experiment["arms"].items():
            put("rtp_console_experiment_visitors", figures["visitors"], arm)
            put("rtp_console_experiment_conversion_rate", figures["conversion"], arm)
        put("rtp_console_experiment_lift", experiment["lift"])
        put_bounds("rtp_console_experiment_lift_ci", experiment["ci"])
        valid = experiment["always_valid"]
        if valid is not None:
            put_bounds("rtp_console_experiment_lift_always_valid",
                       (valid["low"], valid["high"]))
            put("rtp_console_experiment_lift_conclusive", int(valid["conclusive"]))
        put("rtp_console_experiment_srm_mismatch", int(experiment["srm_mismatch"]))
        put("rtp_console_experiment_control_share", experiment["control_share"])
        put("rtp_console_experiment_confidence", experiment["confidence"])
        headline = experiment["headline"]
        metric = str(headline["metric"])
        for arm in ("control", "personalized"):
            put("rtp_console_headline", headline[arm], metric, arm)
        put("rtp_console_headline_lift", headline["lift"], metric)
        put_bounds("rtp_console_headline_lift_ci", headline["ci"], metric)

    for row in body["actions"]:
        action = str(row["action_id"])
        for arm, n in row["decisions"].items():
            put("rtp_console_action_decisions", n, action, arm)
        put("rtp_console_action_clicks", row["clicks"], action)
        put("rtp_console_action_conversions", row["conversions"], action)
        put("rtp_console_action_click_rate", row["click_rate"], action)
        put("rtp_console_action_conversion_rate", row["conversion_rate"], action)
        put("rtp_console_action_in_catalog", int(row["in_catalog"]), action)
    catalog = body["catalog"]
    if catalog is not None:
        put("rtp_console_catalog_version", catalog["version"])
        put("rtp_console_catalog_actions", catalog["actions"])
    put("rtp_console_config_version", body["config_version"])
    feed = body["feed"]
    put("rtp_console_feed_caught_up", int(feed["caught_up"]))
    put("rtp_console_feed_behind", feed["behind"])
    put("rtp_console_feed_undecodable", feed["undecodable"])
    return list(families.values())


class ConsoleFigures(Collector):
    """The console's figures, read from ``snapshot`` (the one ``/v1/console`` answers with)
    at each scrape; registered in ``registry``."""

    def __init__(self, snapshot: Callable[[], Mapping[str, Any]],
                 registry: CollectorRegistry) -> None:
        self.snapshot = snapshot
        registry.register(self)

    def describe(self) -> Iterator[Metric]:
        """The names only (registration must not build a snapshot)."""
        for name, (doc, labels) in FAMILIES.items():
            yield GaugeMetricFamily(name, doc, labels=list(labels))

    def collect(self) -> Iterator[Metric]:
        """Every family of a snapshot taken now."""
        yield from figure_families(self.snapshot())
