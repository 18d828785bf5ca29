"""Everything the console shows, aggregated from decoded topic records (no Kafka here).

The Kafka adapter (:mod:`pipeline.console.feed`) hands each decoded record to one of
the ``add_*`` methods with its record timestamp; :meth:`ConsoleTally.snapshot` is the
JSON the page renders. Decisions are counted once per decision id (a worker restarted
after a crash writes the same ids again), signals once per signal id.

>>> from pipeline.decide.catalog import Action, Catalog
>>> tally = ConsoleTally(ConsoleOptions(report_every_s=0, n_boot=10, time_buckets=2))
>>> log = {"decision": {"decision_id": "d1", "visitor_id": "v", "session_id": "s",
...        "action_id": "banner", "experiment_arm": "personalized", "created_at": 1_000,
...        "trigger_event_id": "e1"}, "control_share": 0.1}
>>> tally.add_event({"event_id": "e1"}, 1_000)
>>> tally.add_decision(log, 1_040)
>>> tally.add_decision(log, 1_050)  # the same id again: counted once
>>> tally.add_signal({"signal_id": "s1", "rule": "rage_click"}, 1_000)
>>> tally.add_dead_letter({"source_topic": "clickstream.events", "error_class": "garbage"})
>>> catalog = Catalog(actions=(Action(id="no_action", slot="none"),), version=3)
>>> view = tally.snapshot(now_ms=2_000, catalog=catalog)
>>> view["decisions"]["by_arm"], view["latency"]["p99_ms"], view["signals"]
({'personalized': 1}, 40.0, {'rage_click': 1})
>>> view["dead_letters"], view["catalog"]["version"]
({'clickstream.events': {'garbage': 1}}, 3)
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.config.objective import Objective
from pipeline.console.experiment import experiment_figures
from pipeline.console.latency import LatencyJoin, percentile
from pipeline.console.options import ConsoleOptions
from pipeline.console.rates import PerSecond
from pipeline.decide.catalog import Catalog
from pipeline.replay.attribution import Purchase, purchase_of

__all__ = ["ConsoleTally", "ExperimentInputs", "compute_experiment"]

@dataclass(frozen=True)
class ExperimentInputs:
    """What the experiment figures are computed from, copied at ``taken_at`` (monotonic s)."""

    logs: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]
    purchases: list[Purchase] | None
    n_boot: int
    time_buckets: int
    taken_at: float
    #: The report metric the objective leads with.
    headline: str = "conversion_rate"


def compute_experiment(inputs: ExperimentInputs) -> dict[str, Any]:
    """:func:`~pipeline.console.experiment.experiment_figures` of ``inputs``.

    >>> compute_experiment(ExperimentInputs([], [], None, 10, 2, 0.0))["error"]
    'no decisions to report on'
    """
    return experiment_figures(inputs.logs, inputs.outcomes, inputs.purchases,
                              n_boot=inputs.n_boot, time_buckets=inputs.time_buckets,
                              headline=inputs.headline)


#: DecisionLog fields the experiment figures read (the rest is dropped to save memory).
_LOG_FIELDS = ("categorical_features", "numeric_features", "intent_class", "served",
               "control_share")


def _slim(log: Mapping[str, Any]) -> dict[str, Any]:
    decision = log["decision"]
    keep = {k: log[k] for k in _LOG_FIELDS if k in log}
    keep["decision"] = {k: v for k, v in decision.items() if k != "payload"}
    return keep


class ConsoleTally:
    """Counters, the event→action join and the decisions kept for the experiment figures."""

    def __init__(self, options: ConsoleOptions,
                 clock: Callable[[], float] = time.monotonic,
                 objective: Objective = Objective.CONVERSION) -> None:
        self.options = options
        self._clock = clock
        #: The config's objective: the headline metric the figures lead with.
        self.objective = objective
        self._decisions: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.decisions_by_arm: Counter[str] = Counter()
        self.decisions_by_action: Counter[tuple[str, str]] = Counter()
        self.model_versions: Counter[str] = Counter()
        self.rate = PerSecond(max(options.series_seconds, options.rate_window_s))
        self.latency = LatencyJoin(options.max_events, options.max_latencies)
        self._signals: OrderedDict[str, None] = OrderedDict()  # ids seen, the newest
        self.signals_by_rule: Counter[str] = Counter()
        self._outcomes: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._purchases: OrderedDict[str, Purchase] | None = None
        self.dead_letters: Counter[tuple[str, str]] = Counter()
        self.records: Counter[str] = Counter()
        self._changed = True
        self._figures: dict[str, Any] | None = None
        self._figures_at = float("-inf")
        self._figures_took = 0.0

    # -- records ------------------------------------------------------------------------------

    def add_decision(self, log: Mapping[str, Any], at_ms: int) -> None:
        """A DecisionLog record written at ``at_ms`` (its record timestamp)."""
        decision = log["decision"]
        did = str(decision["decision_id"])
        if did in self._decisions:
            return
        self._decisions[did] = _slim(log)
        if len(self._decisions) > self.options.max_decisions:
            self._decisions.popitem(last=False)
        arm = str(decision.get("experiment_arm", "personalized"))
        self.decisions_by_arm[arm] += 1
        self.decisions_by_action[(str(decision["action_id"]), arm)] += 1
        model = log.get("model_version") or decision.get("model_version") or ""
        self.model_versions[str(model)] += 1
        self.rate.add(at_ms)
        self.latency.decision(str(decision.get("trigger_event_id") or ""), at_ms)
        self._changed = True

    def add_event(self, event: Mapping[str, Any], at_ms: int) -> None:
        """A clickstream event written at ``at_ms`` (for the event→action latency)."""
        self.latency.event(str(event["event_id"]), at_ms)

    def add_signal(self, signal: Mapping[str, Any], at_ms: int) -> None:
        """A StruggleSignal."""
        sid = str(signal["signal_id"])
        if sid not in self._signals:
            self._signals[sid] = None
            if len(self._signals) > self.options.max_events:
                self._signals.popitem(last=False)
            self.signals_by_rule[str(signal["rule"])] += 1

    def add_outcome(self, outcome: Mapping[str, Any]) -> None:
        """An Outcome (joined to its decision for clicks and conversions)."""
        self._outcomes[str(outcome["outcome_id"])] = dict(outcome)
        if len(self._outcomes) > self.options.max_decisions:
            self._outcomes.popitem(last=False)
        self._changed = True

    def purchases_available(self) -> None:
        """The worker's purchases topic exists: conversions are its purchases from now on."""
        if self._purchases is None:
            self._purchases = OrderedDict()
            self._changed = True

    def add_purchase(self, event: Mapping[str, Any]) -> None:
        """A ClickEvent from the worker's purchases topic (other event types are ignored)."""
        self.purchases_available()
        found = purchase_of(event)
        if found is None or self._purchases is None:
            return
        self._purchases[found.purchase_id] = found
        if len(self._purchases) > self.options.max_decisions:
            self._purchases.popitem(last=False)
        self._changed = True

    def add_dead_letter(self, letter: Mapping[str, Any]) -> None:
        """A DeadLetter: counted by source topic and reason (``error_class``)."""
        self.dead_letters[(str(letter["source_topic"]), str(letter["error_class"]))] += 1

    def count_record(self, topic: str) -> None:
        """One record read from ``topic`` (decoded or not)."""
        self.records[topic] += 1

    # -- the view -----------------------------------------------------------------------------

    def experiment_inputs(self) -> ExperimentInputs | None:
        """Copies of what the experiment figures are computed from, when they are due
        (None: the figures held are current enough). Due after a change, at most every
        ``report_every_s`` and never more often than four times the last computation took
        (the figures cost O(decisions)). Take them under the feed's lock and compute
        outside it with :func:`compute_experiment`, then :meth:`experiment_done`."""
        now = self._clock()
        wait = max(self.options.report_every_s, 4 * self._figures_took)
        if self._figures is not None and not (self._changed and now - self._figures_at >= wait):
            return None
        self._changed = False
        return ExperimentInputs(
            list(self._decisions.values()), list(self._outcomes.values()),
            None if self._purchases is None else list(self._purchases.values()),
            self.options.n_boot, self.options.time_buckets, now, self.objective.metric)

    def figures_stale(self) -> None:
        """Recompute the experiment figures at the next chance (the headline changed)."""
        self._changed = True
        self._figures_at = float("-inf")

    def experiment_done(self, figures: dict[str, Any], inputs: ExperimentInputs) -> None:
        """Hold ``figures`` computed from ``inputs``."""
        self._figures = figures
        self._figures_at = inputs.taken_at
        self._figures_took = max(0.0, self._clock() - inputs.taken_at)

    def _experiment(self) -> dict[str, Any]:
        inputs = self.experiment_inputs()
        if inputs is not None:
            self.experiment_done(compute_experiment(inputs), inputs)
        assert self._figures is not None
        return self._figures

    def snapshot(self, now_ms: int, catalog: Catalog | None) -> dict[str, Any]:
        """The console's JSON at wall-clock ``now_ms`` (``catalog``: the one deployed)."""
        window = self.options.rate_window_s
        recent = [lat for at, lat in self.latency.samples() if at >= now_ms - window * 1000]
        every = [lat for _, lat in self.latency.samples()]
        experiment = self._experiment()
        by_action: dict[str, dict[str, int]] = {}
        for (action, arm), n in sorted(self.decisions_by_action.items()):
            by_action.setdefault(action, {})[arm] = n
        dead: dict[str, dict[str, int]] = {}
        for (topic, reason), n in sorted(self.dead_letters.items()):
            dead.setdefault(topic, {})[reason] = n
        return {
            "now_ms": now_ms,
            "records": dict(sorted(self.records.items())),
            "decisions": {
                "total": sum(self.decisions_by_arm.values()),
                "by_arm": dict(sorted(self.decisions_by_arm.items())),
                "per_second": self.rate.per_second(now_ms, window),
                "window_s": window,
                "series": self.rate.series(now_ms, self.options.series_seconds),
                "model_versions": dict(sorted(self.model_versions.items())),
            },
            "latency": {
                "p50_ms": _finite(percentile(every, 50)),
                "p99_ms": _finite(percentile(every, 99)),
                "samples": len(every),
                "recent_p99_ms": _finite(percentile(recent, 99)),
                "recent_samples": len(recent),
            },
            "signals": dict(sorted(self.signals_by_rule.items())),
            "dead_letters": dead,
            "actions": _actions(by_action, experiment, catalog),
            "catalog": None if catalog is None else {
                "version": catalog.version, "fingerprint": catalog.fingerprint,
                "source": catalog.source, "actions": len(catalog)},
            "experiment": experiment,
            "objective": {"name": self.objective.value, "headline": self.objective.headline,
                          "metric": self.objective.metric},
        }


def _finite(value: float) -> float | None:
    return value if value == value else None  # nan -> None


def _actions(by_action: Mapping[str, Mapping[str, int]], experiment: Mapping[str, Any],
             catalog: Catalog | None) -> list[dict[str, Any]]:
    """Per action: decisions by arm, clicks and conversions, whether the catalog has it."""
    performance = experiment.get("actions", {})
    ids = list(catalog.ids) if catalog is not None else []
    ids += sorted(a for a in by_action if a not in ids)
    rows = []
    for action in ids:
        found = catalog.get(action) if catalog is not None else None
        arms = performance.get(action, {})
        treated = arms.get("personalized", {})
        rows.append({
            "action_id": action,
            "slot": None if found is None else found.slot,
            "in_catalog": found is not None,
            "decisions": dict(by_action.get(action, {})),
            "clicks": treated.get("clicks", 0),
            "conversions": treated.get("conversions", 0),
            "click_rate": treated.get("click_rate"),
            "conversion_rate": treated.get("conversion_rate"),
        })
    return rows
