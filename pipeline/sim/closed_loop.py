"""The simulator on a real broker: events in through the SDK, actions back from Kafka, outcomes out.

Simulated time runs ``speed`` times faster than the wall clock and ends at "now",
so every event time is in the recent past (never in the future, which the
dead-letter gate refuses). Visitors react to the decisions they read from
``personalization.actions``; control-arm and "no action" decisions, which are
never delivered, are read from the decision log so the simulator knows each
visitor's arm and the oracle's view of every decision.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_END, Consumer, TopicPartition

from pipeline.client import EventProducer
from pipeline.decide import assign_arm
from pipeline.kafka_log import kafka_config
from pipeline.serde import Codec, DecodeError
from pipeline.settings import Settings
from pipeline.sim.ledger import ArmStats, VisitorOutcome
from pipeline.sim.options import SimulatorOptions
from pipeline.sim.simulator import Simulator
from pipeline.sim.summary import SimulationSummary
from pipeline.topics import ACTIONS, DECISIONS_LOG, SIGNALS

__all__ = ["ClosedLoop", "LoopOptions", "LoopReport", "percentile"]


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by nearest rank: the ceil(q/100 * n)-th value.

    >>> percentile([5.0, 1.0, 3.0], 50), percentile([1.0, 2.0, 3.0, 4.0], 99)
    (3.0, 4.0)
    >>> percentile([float(v) for v in range(1, 101)], 95)
    95.0
    """
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


@dataclass(frozen=True)
class LoopOptions:
    """How long and how fast the closed loop runs.

    >>> LoopOptions().simulated_ms
    1800000
    """

    duration_s: float = 60.0
    #: Simulated seconds per wall-clock second.
    speed: float = 30.0
    tick_s: float = 0.02
    control_share: float = 0.10
    #: After the last event: how long to wait for the worker's remaining decisions.
    drain_s: float = 10.0

    @property
    def simulated_ms(self) -> int:
        """Simulated time the run covers."""
        return int(self.duration_s * self.speed * 1000)


@dataclass
class LoopReport:
    """What a closed-loop run measured (beside the simulator's own summary)."""

    summary: SimulationSummary
    wall_s: float
    events_sent: int
    outcomes_sent: int
    decisions_logged: int
    decisions_delivered: int
    decisions_by_action: Counter[str] = field(default_factory=Counter)
    signals_by_rule: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    #: Visitors with a decision on the decision log: the experiment report's visitors.
    logged_visitors: set[str] = field(default_factory=set)
    #: The simulator's truth about every visitor at the end of the run.
    visitors: dict[str, VisitorOutcome] = field(default_factory=dict)

    def enrolled(self) -> dict[str, ArmStats]:
        """Conversion per arm of the visitors with a logged decision (bought or not, at any
        time in the run: the simulator's truth), the visitors the experiment report counts.
        Only ``visitors``, ``conversions`` and ``revenue`` are filled.

        >>> r = LoopReport(None, 0.0, 0, 0, 0, 0,  # type: ignore[arg-type]
        ...     logged_visitors={"a", "b"}, visitors={
        ...         "a": VisitorOutcome("control", True, 5.0, True),
        ...         "b": VisitorOutcome("control", False, 0.0, False),
        ...         "c": VisitorOutcome("control", True, 9.0, True)})
        >>> r.enrolled()["control"]
        ArmStats(visitors=2, conversions=1, expected_conversions=0.0, revenue=5.0)
        """
        arms: dict[str, ArmStats] = {}
        for visitor in sorted(self.logged_visitors):
            truth = self.visitors.get(visitor)
            if truth is not None:
                arms.setdefault(truth.arm, ArmStats()).add(truth.converted, 0.0, truth.value)
        return arms

    def to_text(self) -> str:
        """The demo's summary."""
        s = self.summary
        lines = [
            f"events: {self.events_sent} sent in {self.wall_s:.1f} s "
            f"({self.events_sent / max(self.wall_s, 1e-9):,.0f} events/s), "
            f"{self.outcomes_sent} outcomes sent",
            f"decisions: {self.decisions_logged} logged, {self.decisions_delivered} delivered",
        ]
        for action, n in self.decisions_by_action.most_common():
            lines.append(f"  {action:28} {n}")
        lines.append("struggle signals:")
        for rule, n in sorted(self.signals_by_rule.items()):
            lines.append(f"  {rule:28} {n}")
        lat = self.latencies_ms
        lines.append(f"event -> action latency: p50 {percentile(lat, 50):.1f} ms, "
                     f"p99 {percentile(lat, 99):.1f} ms ({len(lat)} delivered decisions)")
        # The visitors the experiment report counts (a logged decision), so the two agree.
        enrolled = self.enrolled()
        treated, untreated = enrolled.get("personalized"), enrolled.get("control")
        if treated is not None and untreated is not None:
            lines.append(f"conversion: personalized {treated.rate:.1%} of {treated.visitors} "
                         f"visitors, control {untreated.rate:.1%} of {untreated.visitors} "
                         "(visitors with a logged decision, as the experiment report counts "
                         "them)")
            lift = treated.lift_over(untreated)
            if lift is not None:
                diff, low, high = lift
                lines.append(f"lift: {diff:+.1%} (95% CI {low:+.1%} .. {high:+.1%})")
        personalized, control = s.arms.get("personalized"), s.arms.get("control")
        if personalized is not None and control is not None:
            lines.append(f"finished visitors: personalized {personalized.rate:.1%} of "
                         f"{personalized.visitors} converted, control {control.rate:.1%} of "
                         f"{control.visitors}; expected conversion (the simulator's truth for "
                         f"what each visitor saw): personalized {personalized.expected_rate:.1%}"
                         f", control {control.expected_rate:.1%}")
        r = s.rewards
        share = r.obtained / r.oracle if r.oracle else float("nan")
        lines.append(f"reward: {r.obtained:.1f} obtained vs {r.oracle:.1f} for the oracle "
                     f"({share:.0%}), regret {r.regret:.1f}")
        u = s.unsettled
        if u.decisions:
            lines.append(f"  {u.decisions} of the {r.decisions} decisions are of visitors "
                         f"still browsing: their purchases have not come yet (expected "
                         f"{u.expected:.1f} for them, obtained so far {u.obtained:.1f})")
        return "\n".join(lines)


def _tail(settings: Settings, topics: list[str], group: str) -> Consumer:
    """A consumer positioned at the current end of every partition of ``topics``."""
    consumer = Consumer(kafka_config({"bootstrap.servers": settings.bootstrap, "group.id": group,
                                      "enable.auto.commit": False}))
    parts = []
    for topic in topics:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        parts += [TopicPartition(topic, p, OFFSET_END) for p in meta.partitions]
    consumer.assign(parts)
    return consumer


class ClosedLoop:
    """Drive a :class:`Simulator` through the real topics."""

    def __init__(self, settings: Settings, sim_options: SimulatorOptions,
                 options: LoopOptions | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.options = options or LoopOptions()
        share = self.options.control_share
        self.sim = Simulator(sim_options, arm_of=lambda v: assign_arm(v, share))
        self.prefix = sim_options.id_prefix
        self.progress = progress
        self.codec = Codec.default()

    def run(self) -> LoopReport:
        """Run for ``duration_s`` of wall time, then drain; returns the measurements."""
        opts, s = self.options, self.settings
        topics = {s.topic(ACTIONS): ACTIONS, s.topic(DECISIONS_LOG): DECISIONS_LOG,
                  s.topic(SIGNALS): SIGNALS}
        consumer = _tail(s, list(topics), f"rtp-sim-{self.prefix}")
        producer = EventProducer(s, self.codec)
        report = LoopReport(self.sim.summary(), 0.0, 0, 0, 0, 0)
        sent_at: dict[str, float] = {}
        eligible: dict[str, list[str]] = {}
        waiting: dict[str, dict[str, Any]] = {}
        wall0 = time.monotonic()
        sim0 = int(time.time() * 1000) - opts.simulated_ms
        self.sim.start(sim0)
        last_progress = wall0
        draining_since: float | None = None
        try:
            while True:
                now = time.monotonic()
                elapsed = now - wall0
                if elapsed < opts.duration_s:
                    until = sim0 + int(elapsed * opts.speed * 1000)
                    for event in self.sim.next_events(until):
                        producer.send_event(event)
                        sent_at[event["event_id"]] = time.monotonic()
                        report.events_sent += 1
                elif draining_since is None:
                    self.sim.stop_arrivals()
                    draining_since = now
                elif now - draining_since > opts.drain_s:
                    break
                for outcome in self.sim.take_outcomes():
                    producer.send_outcome(outcome)
                    report.outcomes_sent += 1
                self._read(consumer, topics, report, sent_at, eligible, waiting, producer)
                if self.progress is not None and now - last_progress >= 5.0:
                    last_progress = now
                    self.progress(f"[{elapsed:5.0f}s] events {report.events_sent:,}  decisions "
                                  f"{report.decisions_logged:,}  delivered "
                                  f"{report.decisions_delivered:,}  outcomes "
                                  f"{report.outcomes_sent:,}")
                producer.producer.poll(0)
        finally:
            producer.close()
            consumer.close()
        report.wall_s = time.monotonic() - wall0
        report.summary = self.sim.summary()
        report.visitors = self.sim.visitor_outcomes()
        return report

    def _read(self, consumer: Consumer, topics: dict[str, str], report: LoopReport,
              sent_at: dict[str, float], eligible: dict[str, list[str]],
              waiting: dict[str, dict[str, Any]], producer: EventProducer) -> None:
        # Waiting here for new outputs also paces the simulated clock against the wall clock.
        for msg in consumer.consume(2000, self.options.tick_s):
            if msg.error() is not None or msg.value() is None:
                continue
            try:
                _, record = self.codec.decode(msg.value())
            except DecodeError:
                continue
            kind = topics[msg.topic() or ""]
            if kind == SIGNALS:
                if str(record["visitor_id"]).startswith(self.prefix):
                    report.signals_by_rule[str(record["rule"])] += 1
                continue
            decision = record["decision"] if kind == DECISIONS_LOG else record
            if not str(decision["visitor_id"]).startswith(self.prefix):
                continue  # another run's visitor
            decision_id = str(decision["decision_id"])
            if kind == DECISIONS_LOG:
                report.decisions_logged += 1
                report.logged_visitors.add(str(decision["visitor_id"]))
                report.decisions_by_action[str(decision["action_id"])] += 1
                ids = [e["action_id"] for e in record["eligible"]]
                eligible[decision_id] = ids
                delivered = record["served"] and decision["action_id"] != "no_action"
                if not delivered:
                    self._react(decision, ids, producer, report)
                elif decision_id in waiting:
                    self._react(waiting.pop(decision_id), ids, producer, report)
            else:
                report.decisions_delivered += 1
                started = sent_at.get(str(decision["trigger_event_id"]))
                if started is not None:
                    report.latencies_ms.append((time.monotonic() - started) * 1000)
                if decision_id in eligible:
                    self._react(decision, eligible[decision_id], producer, report)
                else:
                    waiting[decision_id] = decision  # its log entry is still on the way

    def _react(self, decision: dict[str, Any], eligible: list[str], producer: EventProducer,
               report: LoopReport) -> None:
        for outcome in self.sim.receive_decision(decision, self.sim.clock_ms, eligible):
            producer.send_outcome(outcome)
            report.outcomes_sent += 1
