"""The closed loop: many concurrent visitors on a simulated clock, reacting to decisions.

Drive it with event time only (no wall clock is read)::

    sim = Simulator(SimulatorOptions(seed=7), arm_of=experiment.arm_of)
    sim.start(now_ms)
    while ...:
        for event in sim.next_events(now_ms := now_ms + 1_000):   # to clickstream.events
            ...
        for decision in decisions_from_the_actions_topic:
            outcomes = sim.receive_decision(decision, now_ms)     # to personalization.outcomes
        outcomes += sim.take_outcomes()                           # conversions
    print(sim.summary().to_text())

**Arrivals** are Poisson (``visitors_per_minute``); each visitor gets a persona
(``sector_mix`` or ``persona_mix``), a latent intent and a journey written up
front to a *conversion point*. There, the visitor converts iff their private
uniform draw ``u`` is below ``max(b * annoyance, best)``: ``b`` is the
baseline, ``best`` the highest conversion probability among the shown actions
with a positive lift, ``annoyance`` the product of ``1 + L`` over shown actions
with a negative lift ``L``. Control visitors (no action shown) thus convert with
exactly ``b``.

**A personalized decision** (``experiment_arm == "personalized"``) reaching a
visitor still browsing is shown (a ``shown`` outcome at ``now_ms``), then
clicked, dismissed or ignored with the response model's probabilities (a
second outcome, 1.5-8 s later, or ``ignore_after_ms`` later for ignored). A
click also appears in the visitor's stream as a click on the rendered action,
and the visitor then heads for the conversion point within seconds. When the
visitor converts, the purchase event is emitted and a ``converted`` outcome
(with the value) goes to every shown decision whose conversion probability is
above ``u``. So the chance that a decision is credited with a conversion is
exactly its action's conversion probability (for actions with a positive lift
always; for the others unless an annoying action was also shown to the
visitor), and the oracle's expected rewards are the true expectations of the
obtained ones (:meth:`decision_records` keeps each reward with its decision, a
conversion included however long after it came). ``no_action`` decisions render nothing
(no outcomes) but are scored and credited like the others: a visitor shown nothing still
buys with the baseline, and the oracle compares every candidate with that baseline
included. The engine's own reward never credits a purchase to ``no_action`` (a learning
choice, so that doing nothing does not look best for the baseline it did not cause);
crediting it 0 here would make the oracle prefer an action that lowers the visitor's
conversion over doing nothing whenever its (lowered) conversion and clicks outweigh its
dismissals.

**Control decisions** are never shown and change nothing but the visitor's arm;
duplicates (same decision id) are ignored; a decision for a visitor who left
or is checking out is late (not shown, not scored). Reactions draw from a
random stream seeded by (seed, decision id), so one visitor's decisions never
perturb another visitor's stream.

>>> sim = Simulator(SimulatorOptions(seed=1, visitors_per_minute=20))
>>> sim.start(1_700_000_000_000)
>>> events = sim.next_events(1_700_000_000_000 + 120_000)
>>> times = [e["event_time"] for e in events]
>>> len(events) > 0 and times == sorted(times)
True
>>> v = events[0]["visitor_id"]
>>> sim.receive_decision({"decision_id": "d1", "visitor_id": v, "action_id": "cta_change",
...     "slot": "cta", "experiment_arm": "control"}, 1_700_000_000_000 + 120_000)
[]
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pipeline.sim.errors import InvalidDecision, SimulatorNotStarted
from pipeline.sim.journeys import begin_journey, close_session
from pipeline.sim.ledger import (
    ArmStats,
    DecisionRecord,
    RewardLedger,
    VisitorOutcome,
    ledger_of,
)
from pipeline.sim.options import SimulatorOptions
from pipeline.sim.outcome import outcome
from pipeline.sim.personas import Persona, persona, personas_of
from pipeline.sim.response import ResponseContext, ResponseModel
from pipeline.sim.summary import SimulationSummary
from pipeline.sim.timeline import Timeline
from pipeline.sim.visitor import VisitorProfile, draw_visitor, weighted_choice
from pipeline.sim.vocabulary import NO_ACTION

__all__ = ["ARMS", "Simulator"]

ARMS: tuple[str, ...] = ("personalized", "control")
"""Decision.experiment_arm values."""

_EVENT, _PURCHASE, _CLOSE = "event", "purchase", "close"
_Item = tuple[int, int, str, dict[str, Any] | None]


@dataclass(slots=True)
class _Exposure:
    decision_id: str
    action_id: str
    conversion: float


@dataclass(slots=True)
class _Live:
    number: int
    profile: VisitorProfile
    timeline: Timeline
    items: list[_Item]
    pos: int = 0
    version: int = 0
    order: int = 0
    browsing: bool = True
    arm: str | None = None
    exposures: list[_Exposure] = field(default_factory=list)
    best: float = 0.0
    annoyance: float = 1.0
    probability: float = 0.0
    converted: bool = False
    value: float = 0.0

    def close_time(self) -> int:
        return next(t for t, _, kind, _ in reversed(self.items) if kind == _CLOSE)


def _decision_seed(seed: int, decision_id: str) -> int:
    digest = hashlib.blake2b(f"{seed}\x1f{decision_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _text(decision: Mapping[str, Any], key: str) -> str:
    value = decision.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidDecision(f"Decision.{key} is missing or empty (got {value!r})")
    return value


class Simulator:
    """Synthetic visitors for the four sectors, closed over rtp's decisions (see module doc).

    Parameters
    ----------
    options
        Seed, arrival rate, mix, session length, response strength...
    arm_of
        ``visitor_id -> "personalized" | "control"``: the experiment's
        deterministic assignment, used for visitors who received no decision
        (without it they are reported as ``undecided``).

    >>> Simulator().next_events(1)
    Traceback (most recent call last):
    ...
    pipeline.sim.errors.SimulatorNotStarted: call start(now_ms) before advancing the simulator
    """

    def __init__(self, options: SimulatorOptions | None = None, *,
                 arm_of: Callable[[str], str] | None = None) -> None:
        self.options = options or SimulatorOptions()
        self.model = ResponseModel(self.options.response_strength, self.options.weights,
                                   self.options.world)
        self._arm_of = arm_of
        self._rng = random.Random(self.options.seed)
        self._started_ms: int | None = None
        self._clock = 0
        self._next_arrival = 0
        self._arrivals_open = True
        self._arrived = 0
        self._heap: list[tuple[int, int, int, str]] = []
        self._live: dict[str, _Live] = {}
        self._profiles: dict[str, VisitorProfile] = {}
        self._finished: dict[str, VisitorOutcome] = {}
        self._seen_decisions: set[str] = set()
        self._outbox: list[dict[str, Any]] = []
        self._ledger = RewardLedger()
        self._records: dict[str, DecisionRecord] = {}
        self._arms: dict[str, ArmStats] = {}
        self._events_by_type: Counter[str] = Counter()
        self._personas: Counter[str] = Counter()
        self._by_action: Counter[str] = Counter()
        self._received = self._control = self._duplicates = self._late = self._foreign = 0
        self._personas_by_sector = self._persona_table()

    # -- clock -----------------------------------------------------------------------------

    def start(self, now_ms: int) -> None:
        """Start the clock at ``now_ms`` (event time, epoch ms); the first visitor arrives soon.

        >>> sim = Simulator(); sim.start(1_700_000_000_000); sim.clock_ms
        1700000000000
        """
        self._started_ms = self._clock = int(now_ms)
        self._next_arrival = self._clock + self._gap()

    @property
    def clock_ms(self) -> int:
        """Event time up to which events have been emitted.

        >>> Simulator().clock_ms
        0
        """
        return self._clock

    @property
    def active_visitors(self) -> int:
        """Visitors whose session has not ended.

        >>> Simulator().active_visitors
        0
        """
        return len(self._live)

    @property
    def ledger(self) -> RewardLedger:
        """A copy of the reward totals so far.

        >>> Simulator().ledger.decisions
        0
        """
        return replace(self._ledger)

    def decision_records(self) -> list[DecisionRecord]:
        """A copy of every scored decision with the rewards it obtained so far, in the
        order they were shown (totals over a window of them: :func:`~pipeline.sim.ledger_of`).

        A decision's conversion is added when its visitor buys, at the end of the visit:
        the records of a visitor still browsing (:attr:`active_visitors`) may still gain
        one; run on with :meth:`stop_arrivals` until none is left to settle them all.

        >>> Simulator().decision_records()
        []
        """
        return [replace(r) for r in self._records.values()]

    def stop_arrivals(self) -> None:
        """No new visitors from now on; the ones browsing finish their sessions.

        >>> sim = Simulator(); sim.start(1_700_000_000_000); sim.stop_arrivals()
        >>> sim.next_events(1_700_000_600_000)
        []
        """
        self._arrivals_open = False

    def next_events(self, until_ms: int) -> list[dict[str, Any]]:
        """Advance the clock to ``until_ms``; the ClickEvents up to it, in event-time order.

        Ties are broken by visitor arrival then by the visitor's own order. An
        ``until_ms`` before the clock returns nothing. Conversions found on the
        way are queued for :meth:`take_outcomes`.

        >>> sim = Simulator(SimulatorOptions(seed=2)); sim.start(1_700_000_000_000)
        >>> first = sim.next_events(1_700_000_060_000)
        >>> sim.next_events(1_700_000_030_000)
        []
        >>> all(e["event_time"] <= 1_700_000_060_000 for e in first)
        True
        """
        if self._started_ms is None:
            raise SimulatorNotStarted("call start(now_ms) before advancing the simulator")
        until_ms = int(until_ms)
        if until_ms < self._clock:
            return []
        while self._arrivals_open and self._next_arrival <= until_ms:
            self._spawn(self._next_arrival)
            self._next_arrival += self._gap()
        out: list[dict[str, Any]] = []
        heap = self._heap
        while heap and heap[0][0] <= until_ms:
            at, _, version, visitor_id = heapq.heappop(heap)
            live = self._live.get(visitor_id)
            if live is None or live.version != version:
                continue
            _, _, kind, event = live.items[live.pos]
            live.pos += 1
            if kind == _CLOSE:
                self._close(live, at)
            elif event is not None:
                out.append(event)
                self._events_by_type[event["event_type"]] += 1
                if kind == _PURCHASE:
                    self._credit(live, event)
            self._schedule(live)
        self._clock = until_ms
        return out

    def take_outcomes(self) -> list[dict[str, Any]]:
        """The ``converted`` outcomes produced since the last call, in event-time order.

        >>> Simulator().take_outcomes()
        []
        """
        out = sorted(self._outbox, key=lambda o: (o["event_time"], o["outcome_id"]))
        self._outbox.clear()
        return out

    # -- decisions -------------------------------------------------------------------------

    def receive_decision(self, decision: Mapping[str, Any], now_ms: int,
                         eligible: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The visitor sees ``decision`` at ``now_ms``; the outcomes it produces right away.

        Parameters
        ----------
        decision
            A Decision dict (``decision_id``, ``visitor_id``, ``action_id``,
            ``experiment_arm`` are read; ``slot`` and ``payload`` if present).
        now_ms
            When the visitor sees it (event time).
        eligible
            The decision's eligible action set, if known (from the DecisionLog):
            the oracle then picks among those; otherwise among every action the
            catalog allows in the visitor's sector.

        Returns
        -------
        ``[shown, clicked | dismissed | ignored]`` for a personalized, rendered
        action; ``[]`` for control, ``no_action``, duplicate, late or foreign
        decisions. Conversions come later from :meth:`take_outcomes`.

        >>> sim = Simulator(SimulatorOptions(seed=3)); sim.start(1_700_000_000_000)
        >>> v = sim.next_events(1_700_000_300_000)[-1]["visitor_id"]
        >>> out = sim.receive_decision({"decision_id": "d1", "visitor_id": v,
        ...     "action_id": "cta_change", "slot": "cta", "experiment_arm": "personalized"},
        ...     1_700_000_300_000)
        >>> [o["kind"] for o in out][0], out[1]["kind"] in ("clicked", "dismissed", "ignored")
        ('shown', True)
        >>> sim.receive_decision({"decision_id": "d2", "visitor_id": v, "action_id": "x"}, 1)
        Traceback (most recent call last):
        ...
        pipeline.sim.errors.InvalidDecision: Decision.experiment_arm must be personalized or \
control (got None)
        """
        if self._started_ms is None:
            raise SimulatorNotStarted("call start(now_ms) before sending decisions")
        decision_id = _text(decision, "decision_id")
        visitor_id = _text(decision, "visitor_id")
        action_id = _text(decision, "action_id")
        arm = decision.get("experiment_arm")
        if arm not in ARMS:
            raise InvalidDecision(
                f"Decision.experiment_arm must be personalized or control (got {arm!r})")
        payload = decision.get("payload") or {}
        slot = decision.get("slot") or "inline"
        if decision_id in self._seen_decisions:
            self._duplicates += 1
            return []
        self._seen_decisions.add(decision_id)
        self._received += 1
        live = self._live.get(visitor_id)
        if live is None:
            if visitor_id in self._finished:
                self._late += 1
            else:
                self._foreign += 1
            return []
        if live.arm is None:
            live.arm = str(arm)
        if arm == "control":
            self._control += 1
            return []
        now_ms = int(now_ms)
        if not live.browsing or now_ms >= live.close_time():
            self._late += 1
            return []
        self._by_action[action_id] += 1
        context = self._context(live, now_ms)
        response = self.model.respond(action_id, context, payload)
        candidates = None if eligible is None else [*eligible, action_id]
        _, oracle = self.model.best_action(context, candidates)
        expected = response.expected_reward(self.model.weights)
        matched = expected >= oracle - 1e-12
        self._ledger.record_decision(expected, oracle, matched=matched)
        record = DecisionRecord(decision_id, visitor_id, action_id, now_ms, expected, oracle,
                                matched)
        self._records[decision_id] = record
        live.exposures.append(_Exposure(decision_id, action_id, response.conversion))
        if response.lift > 0:
            live.best = max(live.best, response.conversion)
        elif response.lift < 0:
            live.annoyance *= 1.0 + response.lift
        if action_id == NO_ACTION:
            return []
        rng = random.Random(_decision_seed(self.options.seed, decision_id))
        draw = rng.random()
        if draw < response.click:
            kind = "clicked"
        elif draw < response.click + response.dismiss:
            kind = "dismissed"
        else:
            kind = "ignored"
        delay = (self.options.ignore_after_ms if kind == "ignored"
                 else rng.randint(*self.options.reaction_delay_ms))
        self._ledger.record_reaction(kind, self.model.weights)
        record.reaction = kind
        if kind == "clicked":
            self._follow(live, now_ms + delay, str(slot), action_id, rng)
        return [outcome(decision_id, visitor_id, "shown", now_ms),
                outcome(decision_id, visitor_id, kind, now_ms + delay)]

    # -- ground truth ----------------------------------------------------------------------

    def profile(self, visitor_id: str) -> VisitorProfile | None:
        """Who ``visitor_id`` is (``None`` for ids this simulator never made).

        >>> Simulator().profile("nobody") is None
        True
        """
        return self._profiles.get(visitor_id)

    def context_of(self, visitor_id: str, now_ms: int) -> ResponseContext | None:
        """The response context of a browsing visitor at ``now_ms`` (``None`` if not browsing).

        >>> Simulator().context_of("nobody", 0) is None
        True
        """
        live = self._live.get(visitor_id)
        return None if live is None else self._context(live, now_ms)

    def expected_rewards(self, visitor_id: str, now_ms: int,
                         candidates: Iterable[str] | None = None) -> dict[str, float]:
        """The oracle's view: expected reward of each candidate action for this visitor now.

        >>> Simulator().expected_rewards("nobody", 0)
        {}
        """
        context = self.context_of(visitor_id, now_ms)
        return {} if context is None else self.model.expected_rewards(context, candidates)

    def visitor_outcomes(self) -> dict[str, VisitorOutcome]:
        """Every visitor so far, by id: arm, bought or not, value, visit ended or not.

        The arm is that of the first decision the visitor received, else the ``arm_of``
        callable's, else ``undecided``; a visitor still browsing may still buy.

        >>> sim = Simulator(SimulatorOptions(seed=4)); sim.start(1_700_000_000_000)
        >>> _ = sim.next_events(1_700_000_300_000)
        >>> outcomes = sim.visitor_outcomes()
        >>> len(outcomes) == sim.summary().visitors_arrived
        True
        """
        live = {v: VisitorOutcome(self._arm(live), live.converted, live.value, finished=False)
                for v, live in self._live.items()}
        return {**self._finished, **live}

    def summary(self) -> SimulationSummary:
        """A snapshot of everything counted so far.

        >>> sim = Simulator(SimulatorOptions(seed=4)); sim.start(1_700_000_000_000)
        >>> _ = sim.next_events(1_700_000_300_000)
        >>> s = sim.summary(); s.visitors_arrived >= s.visitors_finished
        True
        """
        return SimulationSummary(
            started_ms=self._started_ms or 0, clock_ms=self._clock,
            visitors_arrived=self._arrived, visitors_finished=len(self._finished),
            visitors_active=len(self._live), events=sum(self._events_by_type.values()),
            events_by_type=dict(self._events_by_type), visitors_by_persona=dict(self._personas),
            decisions_received=self._received, decisions_by_action=dict(self._by_action),
            control_decisions=self._control, duplicate_decisions=self._duplicates,
            late_decisions=self._late, foreign_decisions=self._foreign,
            rewards=replace(self._ledger),
            arms={k: replace(v) for k, v in sorted(self._arms.items())},
            unsettled=ledger_of((r for r in self._records.values() if r.visitor_id in self._live),
                                self.model.weights))

    # -- internals -------------------------------------------------------------------------

    def _persona_table(self) -> list[tuple[Persona, float]]:
        opts = self.options
        if opts.persona_mix:
            return [(persona(name), w) for name, w in opts.persona_mix if w > 0]
        table: list[tuple[Persona, float]] = []
        for sector, weight in opts.sector_weights().items():
            people = personas_of(sector)
            total = sum(p.share for p in people)
            table.extend((p, weight * p.share / total) for p in people)
        return table

    def _gap(self) -> int:
        per_ms = self.options.visitors_per_minute / 60_000.0
        return max(1, int(self._rng.expovariate(per_ms)))

    def _spawn(self, at: int) -> None:
        rng = self._rng
        names = [(p.name, w) for p, w in self._personas_by_sector]
        who = persona(weighted_choice(rng, names))
        visitor_rng = random.Random(rng.getrandbits(64))
        self._arrived += 1
        visitor_id = f"{self.options.id_prefix}-s{self.options.seed}-v{self._arrived:06d}"
        profile = draw_visitor(visitor_rng, visitor_id, who, self.options.returning_share)
        timeline = begin_journey(profile, at, visitor_rng, self.options)
        live = _Live(self._arrived, profile, timeline, [])
        self._append(live, timeline.drain())
        live.items.append((timeline.now, self._order(live), _CLOSE, None))
        self._live[visitor_id] = live
        self._profiles[visitor_id] = profile
        self._personas[who.name] += 1
        self._schedule(live)

    def _order(self, live: _Live) -> int:
        live.order += 1
        return live.order

    def _append(self, live: _Live, events: list[dict[str, Any]],
                purchase: dict[str, Any] | None = None) -> None:
        for event in events:
            kind = _PURCHASE if event is purchase else _EVENT
            live.items.append((event["event_time"], self._order(live), kind, event))

    def _schedule(self, live: _Live) -> None:
        if live.pos < len(live.items):
            at = live.items[live.pos][0]
            heapq.heappush(self._heap, (at, live.number, live.version,
                                        live.profile.visitor_id))
        else:
            self._finish(live)

    def _context(self, live: _Live, now_ms: int) -> ResponseContext:
        p = live.profile
        struggle_at = live.timeline.struggle_at
        return ResponseContext(
            persona=p.persona.name, sector=p.sector, struggle=p.persona.struggle,
            struggle_active=struggle_at is not None and struggle_at <= now_ms,
            intent=p.intent, baseline=p.baseline, industry=p.industry, device=p.device,
            traffic_source=p.traffic_source, drifted=self._drifted(now_ms))

    def _drifted(self, now_ms: int) -> bool:
        """Whether the responses have drifted at ``now_ms`` (``drift_after_ms``)."""
        drift = self.options.drift_after_ms
        return (drift is not None and self._started_ms is not None
                and now_ms >= self._started_ms + drift)

    def _follow(self, live: _Live, at: int, slot: str, action_id: str,
                rng: random.Random) -> None:
        """The visitor clicked the action: a click in the stream, then straight to the end."""
        at = max(at, self._clock + 1, live.items[live.pos - 1][0] if live.pos else 0)
        timeline = live.timeline
        timeline.rewind(at)
        if timeline.struggle_at is not None and timeline.struggle_at > at:
            timeline.struggle_at = None
        timeline.action_click(at, slot, action_id)
        timeline.now = at + rng.randint(2_000, 6_000)
        kept = [item for item in live.items[live.pos:] if item[2] != _CLOSE and item[0] <= at]
        live.items = live.items[:live.pos] + kept
        timeline.carted = any(event is not None and event["event_type"] == "add_to_cart"
                              for _, _, _, event in live.items)
        self._append(live, timeline.drain())
        live.items.append((timeline.now, self._order(live), _CLOSE, None))
        live.version += 1
        self._schedule(live)

    def _close(self, live: _Live, at: int) -> None:
        """The conversion point: convert or not, and write the end of the session."""
        live.browsing = False
        p = live.profile
        live.probability = max(p.baseline * live.annoyance, live.best)
        converts = p.conversion_draw < live.probability
        timeline = live.timeline
        timeline.now = max(timeline.now, at)
        purchase = close_session(timeline, converts)
        self._append(live, timeline.drain(), purchase)

    def _credit(self, live: _Live, purchase: dict[str, Any]) -> None:
        """A purchase happened: credit it to the decisions that would have caused it."""
        value = float(purchase["purchase"]["value"])
        live.converted, live.value = True, value
        u = live.profile.conversion_draw
        credited = False
        for exposure in live.exposures:
            if u < exposure.conversion:
                self._outbox.append(outcome(exposure.decision_id, live.profile.visitor_id,
                                            "converted", purchase["event_time"], value))
                self._ledger.record_conversion(self.model.weights)
                record = self._records[exposure.decision_id]
                record.converted, record.value = True, value
                credited = True
        if credited:
            self._ledger.record_converted_visitor(value)

    def _arm(self, live: _Live) -> str:
        if live.arm is not None:
            return live.arm
        visitor_id = live.profile.visitor_id
        return self._arm_of(visitor_id) if self._arm_of is not None else "undecided"

    def _finish(self, live: _Live) -> None:
        visitor_id = live.profile.visitor_id
        arm = self._arm(live)
        self._arms.setdefault(arm, ArmStats()).add(live.converted, live.probability, live.value)
        del self._live[visitor_id]
        self._finished[visitor_id] = VisitorOutcome(arm, live.converted, live.value,
                                                    finished=True)

