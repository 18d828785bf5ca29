"""Decision quality on the simulator: reward and regret against the oracle, per policy.

Every policy runs the same closed loop without Kafka (the shape of
``pipeline.sim.offline.run_offline``): the simulator's visitors (seed 31,
30 visitors/min, ``60 * RTP_BENCH_SCALE`` simulated minutes, at least 20) go
through the engine; each decision is shown to the visitor, who clicks,
dismisses, ignores and converts according to the simulator's response model;
the outcomes go back to the engine. Same seed for every policy, so the same
visitors arrive with the same journeys (their reactions then depend on what
each policy showed them). Two worlds are run, each with every policy
(``SimulatorOptions.world``): ``contextual``, where the best action depends on
the visitor's device and traffic source (:mod:`pipeline.sim.contextual`), and
``classic``, where it depends on the sector, struggle and intent only.

Only the arm choice differs. Everything else is the engine's, for every policy:
session features, guardrails, eligibility, payloads, the experiment's 10%
control group, and the reward (clicks and conversions 1, dismissal -0.5, within
10 minutes of event time). A policy plugs into the engine's decider in place of
LinUCB (:class:`PolicyBandit`): it sees the eligible set and the features the
DecisionLog records (numeric, categorical, intent) and returns a probability
for each eligible action; the draw is the engine's (seeded by the decision id);
it learns from the same reward updates as LinUCB.

Policies:

- ``rtp (LinUCB, the engine)``: the engine as it ships (epsilon-greedy LinUCB).
- ``uniform random``: every eligible action alike.
- ``rules only``: the first eligible action in catalog order that is not
  ``no_action`` (the catalog's rules alone, no learning).
- ``Vowpal Wabbit cb_explore_adf``: ``--cb_explore_adf --epsilon 0.02`` (the floor of
  ours, which starts at 0.1 and decays to 0.02 as the arms learn: VW never explores
  more than rtp; at 0.1 it scored lower), shared features = the DecisionLog's numeric
  and categorical features + intent, one action namespace, interacted
  (``-q UA``). VW learns one example per served decision with its final reward,
  once the engine has closed it: a default reward (``expired``/``evicted``) closes it
  at once; a decision that had outcomes closes silently in the engine when its reward
  wait (10 minutes of event time) has passed, so VW learns it at the loop's reward timer
  (:meth:`VowpalWabbit.close_due`, called right after the engine's own), never before:
  an earlier close would miss the engine's default reward (which arrives per visitor,
  from its timer) and later outcomes.

The oracle is the simulator's: at each shown decision, the best eligible
action's expected reward, with the engine's reward weights (a dismissal costs
0.5, as it does the learners). Reported after a warm-up (the first third of the
run): the expected reward of the chosen actions as a share of the oracle's (no
sampling noise), and the realized reward's share; cumulative reward and regret
over the whole run.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import numpy as np

from bench.common import bench_scale, load_note, ratio, scaled
from bench.record import write
from pipeline.decide import (
    ArmScore,
    BanditChoice,
    Decider,
    DecisionContext,
    DecisionOutcome,
    LinUCB,
    decision_id_for,
    load_catalog,
    uniform_draw,
)
from pipeline.engine import Engine, EngineOptions
from pipeline.engine.visitors import Visitors
from pipeline.feedback import RewardUpdate
from pipeline.sim import RewardLedger, RewardWeights, Simulator, SimulatorOptions, ledger_of

__all__ = ["ChoiceRequest", "Policy", "PolicyBandit", "RulesOnly", "UniformRandom",
           "VowpalWabbit", "goals", "run", "share_after"]

SEED = 31
MINUTES = 60
_START_MS = 1_800_000_000_000
_NO_ACTION = "no_action"
GOAL_SHARE = 0.90
GOAL_OVER_RULES = 5.0  # points of the oracle's reward, in the contextual world
#: The worlds run, the one the goals are about first; ``contextual-drift`` is the contextual
#: world whose responses drift halfway through the run (``SimulatorOptions.drift_after_ms``).
WORLD_ORDER = ("contextual", "contextual-drift", "classic")
DRIFT = "contextual-drift"
#: After the drift, the first this many simulated minutes are the learners' time to notice;
#: the share over the rest of the run is the recovered one.
RECOVERY_MINUTES = 10


@dataclass(frozen=True)
class ChoiceRequest:
    """What a policy sees for one decision: the eligible set and the logged features."""

    decision_id: str
    action_ids: tuple[str, ...]
    numeric: Mapping[str, float]
    categorical: Mapping[str, str]
    intent_probability: float
    intent_class: str
    event_time_ms: int
    vector: tuple[float, ...] = field(repr=False, default=())


class Policy(Protocol):
    """An arm-choosing policy: a distribution over the eligible set, and learning."""

    name: str

    def probabilities(self, request: ChoiceRequest) -> list[float]:
        """One probability per ``request.action_ids`` (summing to 1)."""
        ...

    def learn(self, update: RewardUpdate) -> None:
        """A reward update of a served decision (the same ones LinUCB gets)."""
        ...

    def chosen(self, decision_id: str, index: int, probability: float) -> None:
        """Which action the engine's draw picked for ``decision_id`` (and its probability)."""
        ...

    def close_due(self, now_ms: int) -> None:
        """The loop's reward timer ran at event time ``now_ms`` (after the engine's)."""
        ...


class _Static:
    """A policy that does not learn: every learning hook is a no-op."""

    def learn(self, update: RewardUpdate) -> None:
        """Nothing to learn."""

    def chosen(self, decision_id: str, index: int, probability: float) -> None:
        """Nothing to remember."""

    def close_due(self, now_ms: int) -> None:
        """Nothing pending."""


class UniformRandom(_Static):
    """Every eligible action alike.

    >>> UniformRandom().probabilities(ChoiceRequest("d", ("a", "b"), {}, {}, 0.0, "x", 0))
    [0.5, 0.5]
    """

    name = "uniform random"

    def probabilities(self, request: ChoiceRequest) -> list[float]:
        """Uniform over the eligible set."""
        return [1.0 / len(request.action_ids)] * len(request.action_ids)


class RulesOnly(_Static):
    """The first eligible action in catalog order that is not ``no_action``.

    >>> RulesOnly().probabilities(ChoiceRequest("d", ("no_action", "a", "b"), {}, {}, 0.0,
    ...                                         "x", 0))
    [0.0, 1.0, 0.0]
    >>> RulesOnly().probabilities(ChoiceRequest("d", ("no_action",), {}, {}, 0.0, "x", 0))
    [1.0]
    """

    name = "rules only (first eligible action)"

    def probabilities(self, request: ChoiceRequest) -> list[float]:
        """All mass on the first eligible action other than no_action."""
        ids = request.action_ids
        pick = next((i for i, a in enumerate(ids) if a != _NO_ACTION), 0)
        return [1.0 if i == pick else 0.0 for i in range(len(ids))]


_UNSAFE = re.compile(r"[\s|:]+")


def vw_shared_line(request: ChoiceRequest) -> str:
    """The VW ``shared`` line of a request: numeric and categorical features, intent.

    >>> vw_shared_line(ChoiceRequest("d", ("a",), {"page_views": 3.0, "x": float("nan")},
    ...                              {"sector": "e commerce"}, 0.25, "browsing", 0))
    'shared |U page_views:3.0 sector=e_commerce intent_probability:0.25 intent=browsing'
    """
    parts = [f"{_UNSAFE.sub('_', k)}:{v!r}" for k, v in sorted(request.numeric.items())
             if math.isfinite(v) and v != 0.0]
    parts += [f"{_UNSAFE.sub('_', k)}={_UNSAFE.sub('_', str(v))}"
              for k, v in sorted(request.categorical.items())]
    parts += [f"intent_probability:{request.intent_probability!r}",
              f"intent={_UNSAFE.sub('_', request.intent_class)}"]
    return "shared |U " + " ".join(parts)


@dataclass
class _Pending:
    shared: str
    action_ids: tuple[str, ...]
    chosen: int
    probability: float
    decided_at_ms: int
    total: float | None = None


class VowpalWabbit:
    """Vowpal Wabbit's ``cb_explore_adf`` on the DecisionLog features (see module doc).

    Each served decision is learned once, with the total reward the engine settled on,
    when the engine has closed it: at its default-reward update (``expired``, ``evicted``)
    or, when it had outcomes, at the first reward timer (:meth:`close_due`) past its
    reward wait. ``examples`` keeps what was learned (decision id -> action, total
    reward, propensity) so the harness can be checked against the stream;
    ``late_updates`` counts updates for decisions already learned (0 when fed right).
    """

    name = "Vowpal Wabbit cb_explore_adf"

    def __init__(self, reward_wait_ms: int, epsilon: float = 0.1, seed: int = 7) -> None:
        import vowpalwabbit

        self.workspace = vowpalwabbit.Workspace(
            f"--cb_explore_adf --epsilon {epsilon} -q UA --quiet --random_seed {seed}",
            enable_logging=False)
        self.reward_wait_ms = reward_wait_ms
        self.pending: dict[str, _Pending] = {}
        self.examples: dict[str, tuple[str, float, float]] = {}
        self.late_updates = 0
        self.unrewarded = 0

    @property
    def learned(self) -> int:
        """Examples learned so far."""
        return len(self.examples)

    def _lines(self, shared: str, action_ids: Sequence[str],
               label: tuple[int, float, float] | None = None) -> list[str]:
        lines = [shared]
        for i, action in enumerate(action_ids):
            prefix = ""
            if label is not None and label[0] == i:
                prefix = f"0:{label[1]!r}:{label[2]!r} "
            lines.append(f"{prefix}|A id={action}")
        return lines

    def probabilities(self, request: ChoiceRequest) -> list[float]:
        """VW's pmf over the eligible set (the decision awaits its reward from now)."""
        shared = vw_shared_line(request)
        pmf = [max(0.0, float(p)) for p in self.workspace.predict(
            self._lines(shared, request.action_ids))]
        total = sum(pmf) or 1.0
        pmf = [p / total for p in pmf]
        self.pending[request.decision_id] = _Pending(shared, request.action_ids, -1, 0.0,
                                                     request.event_time_ms)
        return pmf

    def chosen(self, decision_id: str, index: int, probability: float) -> None:
        """Which action the shared draw picked (and its probability), for learning."""
        entry = self.pending.get(decision_id)
        if entry is not None:
            entry.chosen, entry.probability = index, probability

    def learn(self, update: RewardUpdate) -> None:
        """Remember the decision's reward so far; a default reward closes it now."""
        entry = self.pending.get(update.decision_id)
        if entry is None:
            self.late_updates += update.decision_id in self.examples
            return
        entry.total = update.total_reward
        if update.reason in ("expired", "evicted"):
            self._learn(update.decision_id)

    def close_due(self, now_ms: int) -> None:
        """Learn the decisions whose reward wait has passed at ``now_ms``; call it right
        after the engine's reward timer at the same time, which has closed them all (a
        served decision without outcomes got its default reward from that timer, so one
        still without a reward here was not served: a control decision)."""
        due = [d for d, e in self.pending.items()
               if e.decided_at_ms + self.reward_wait_ms <= now_ms]
        for decision_id in due:
            self._learn(decision_id)

    def _learn(self, decision_id: str) -> None:
        entry = self.pending.pop(decision_id)
        if entry.total is None or entry.chosen < 0:
            self.unrewarded += 1  # never served (control arm): nothing to learn
            return
        self.workspace.learn(self._lines(entry.shared, entry.action_ids,
                                         (entry.chosen, -entry.total, entry.probability)))
        self.examples[decision_id] = (entry.action_ids[entry.chosen], entry.total,
                                      entry.probability)


class PolicyBandit:
    """Stands in for the decider's LinUCB: asks a :class:`Policy`, draws like LinUCB does."""

    def __init__(self, policy: Policy, decider: _CapturingDecider, seed: int = 7) -> None:
        self.policy = policy
        self.decider = decider
        self.dimension = decider.featurizer.dimension
        self.fingerprint = decider.featurizer.fingerprint
        self.seed = seed
        self.n_updates = 0

    @property
    def version(self) -> str:
        """Names the policy's state behind a decision."""
        return f"bench-{self.policy.name.split()[0].lower()}@{self.n_updates}"

    def choose(self, x: Sequence[float] | np.ndarray, action_ids: Sequence[str],
               draw_key: str) -> BanditChoice:
        """The policy's distribution and the engine's seeded draw from it."""
        ctx = self.decider.captured
        if ctx is None or decision_id_for(ctx.trigger_event_id) != draw_key:
            raise RuntimeError("the decider no longer computes the context right before the "
                               "bandit's choice: PolicyBandit needs updating")
        request = ChoiceRequest(draw_key, tuple(action_ids), ctx.numeric, ctx.categorical,
                                ctx.intent_probability, ctx.intent_class, ctx.event_time_ms,
                                tuple(float(v) for v in x))
        probabilities = self.policy.probabilities(request)
        distribution = tuple(ArmScore(a, p, p) for a, p in zip(action_ids, probabilities,
                                                              strict=True))
        u = uniform_draw(self.seed, draw_key)
        cumulative, index = 0.0, len(distribution) - 1
        for i, arm in enumerate(distribution):
            cumulative += arm.probability
            if u < cumulative:
                index = i
                break
        chosen = distribution[index]
        self.policy.chosen(draw_key, index, chosen.probability)
        return BanditChoice(chosen.action_id, chosen.probability, distribution)

    def apply(self, update: RewardUpdate) -> None:
        """Forward a reward update to the policy."""
        self.policy.learn(update)
        self.n_updates += 1


class _CapturingDecider(Decider):
    """The engine's decider, remembering the context of the decision being made."""

    captured: DecisionContext | None = None

    def context_vector(self, ctx: DecisionContext) -> np.ndarray:
        self.captured = ctx
        return super().context_vector(ctx)


def _engine_with(policy: Policy | None, options: EngineOptions) -> Engine:
    if policy is None:
        return Engine(options)
    engine = Engine(options)
    decider = _CapturingDecider(load_catalog(options.catalog_path), options.decider)
    decider.bandit = cast(LinUCB, PolicyBandit(policy, decider))
    # The engine learns inline into its model's bandit: make that the policy.
    engine.decider, engine.model.bandit = decider, decider.bandit
    return engine


def share_after(ledger: RewardLedger) -> dict[str, float]:
    """Shares of the oracle's reward over the decisions of one window's ledger
    (:func:`~pipeline.sim.ledger_of`: each decision with every reward it obtained, so the
    realized and the expected reward are those of the same decisions).

    >>> share_after(RewardLedger(decisions=10, oracle_matches=5, expected=4.0, oracle=5.0,
    ...                          obtained=2.0))
    {'decisions': 10, 'expected_share': 0.8, 'obtained_share': 0.4, 'match_rate': 0.5}
    """
    return {"decisions": ledger.decisions,
            "expected_share": ratio(ledger.expected, ledger.oracle),
            "obtained_share": ratio(ledger.obtained, ledger.oracle),
            "match_rate": ratio(ledger.oracle_matches, ledger.decisions)}


@dataclass
class _LoopResult:
    """The decisions shown after the warm-up and in the whole run (both up to the run's
    end; every visitor has then finished its visit, so all their rewards are in)."""

    after_warmup: RewardLedger
    whole: RewardLedger
    seconds: float
    #: With a drift: the decisions of the first RECOVERY_MINUTES after it, and the rest.
    drift_first: RewardLedger | None = None
    drift_recovered: RewardLedger | None = None
    served: int = 0
    no_action: int = 0
    oracle_no_action: int = 0
    drain_minutes: int = 0


#: Simulated minutes past the run's end the loop may take to let every visitor finish.
MAX_DRAIN_MINUTES = 120


def _timer(visitors: Visitors, policy: Policy | None, now_ms: int) -> None:
    """The reward timer at event time ``now_ms``: the engine's, then the policy's (what
    the engine closed is final: the policy may learn it)."""
    visitors.expire_due(now_ms)
    if policy is not None:
        policy.close_due(now_ms)


Tap = list[tuple[str, Mapping[str, Any]]]
"""What the loop fed the engine, in order (for tests): ``("event", ClickEvent)``,
``("decision", Decision + served)``, ``("outcome", Outcome)``, ``("timer", {"now": ms})``."""


def _closed_loop(policy: Policy | None, minutes: int, warmup: int,
                 options: EngineOptions, sim_options: SimulatorOptions | None = None,
                 tap: Tap | None = None) -> _LoopResult:
    """Totals over the decisions shown after the warm-up and over the whole run, and how
    often no_action was chosen.

    The run's decisions are those shown in its ``minutes``; then no visitor arrives and
    the loop runs on, a minute at a time, until every visitor has finished its visit, so
    that each of those decisions has obtained every reward it will (a conversion comes
    with the purchase, at the end of the visit, often minutes after the decision).
    Decisions made while draining are not scored. Each window's realized reward is that
    of its own decisions, whenever it came (:func:`~pipeline.sim.ledger_of`).

    ``sim_options``: the simulated world (default: seed 31, 30 visitors/min, today's
    world); ``tap`` receives everything fed to the engine (see :data:`Tap`).
    """
    from pipeline.decide import assign_arm

    started = time.perf_counter()
    engine = _engine_with(policy, options)
    share = engine.options.decider.control_share
    sim = Simulator(sim_options or SimulatorOptions(seed=SEED, id_prefix="bench-dq"),
                    arm_of=lambda v: assign_arm(v, share))
    record = tap.append if tap is not None else (lambda item: None)

    def feed(outcome: Mapping[str, Any]) -> None:
        record(("outcome", outcome))
        for fired in visitors.outcome(outcome).timers:  # detector timers due before it
            deliver(fired.decision)

    def timer(now_ms: int) -> None:
        record(("timer", {"now": now_ms}))
        _timer(visitors, policy, now_ms)

    def deliver(decision: DecisionOutcome | None) -> None:
        """Show a decision (an event's at its time, a detector timer's at its due time)."""
        if decision is None:
            return
        record(("decision", {**decision.decision, "served": decision.served}))
        at = int(decision.decision["created_at"])
        eligible = [e["action_id"] for e in decision.log["eligible"]]
        if decision.served and at < end_ms:
            truth = sim.expected_rewards(str(decision.decision["visitor_id"]), at, eligible)
            if truth:
                result.served += 1
                result.no_action += decision.action.id == _NO_ACTION
                result.oracle_no_action += max(truth, key=lambda a: truth[a]) == _NO_ACTION
        for outcome in sim.receive_decision(decision.decision, at, eligible):
            feed(outcome)

    visitors = Visitors(engine)
    end_ms = _START_MS + minutes * 60_000
    sim.start(_START_MS)
    weights = sim.options.weights
    result = _LoopResult(RewardLedger(), RewardLedger(), 0.0)

    def step(now: int) -> None:
        """One simulated minute, up to event time ``now``."""
        for event in sim.next_events(now):
            # The reward timer runs at the newest event time, as the worker's does (per
            # partition, here one): default rewards are due before this event is decided.
            timer(int(event["event_time"]))
            record(("event", event))
            step_ = visitors.event(event)
            for fired in step_.timers:  # detector timers due before this event fire first
                deliver(fired.decision)
            deliver(step_.decision)
        for outcome in sim.take_outcomes():
            feed(outcome)
        for _, fired in visitors.fire_due(now):  # detector timers due by the minute's end
            deliver(fired.decision)
        timer(now)

    for minute in range(1, minutes + 1):
        step(_START_MS + minute * 60_000)
    sim.stop_arrivals()
    while sim.active_visitors:  # settle the run's decisions: every visit ends
        result.drain_minutes += 1
        if result.drain_minutes > MAX_DRAIN_MINUTES:
            raise RuntimeError(f"{sim.active_visitors} visitors still browsing "
                               f"{MAX_DRAIN_MINUTES} simulated minutes after the run")
        step(end_ms + result.drain_minutes * 60_000)
    records = sim.decision_records()
    result.after_warmup = ledger_of(records, weights, _START_MS + warmup * 60_000, end_ms)
    result.whole = ledger_of(records, weights, until_ms=end_ms)
    drift = sim.options.drift_after_ms
    if drift is not None:
        drift_ms = _START_MS + drift
        recovered_ms = min(end_ms, drift_ms + RECOVERY_MINUTES * 60_000)
        result.drift_first = ledger_of(records, weights, drift_ms, recovered_ms)
        result.drift_recovered = ledger_of(records, weights, recovered_ms, end_ms)
    result.seconds = time.perf_counter() - started
    return result


_RTP = "rtp (LinUCB, the engine)"


def world_options(world: str, options: EngineOptions, minutes: int = MINUTES
                  ) -> SimulatorOptions:
    """The simulated world of the bench, its oracle scoring with the engine's reward
    weights (a dismissal costs what it costs the learners: the oracle judges the policies
    by the reward they are given). ``contextual-drift`` drifts halfway through ``minutes``.

    >>> world_options("contextual", EngineOptions()).weights.dismissed
    -0.5
    >>> drift = world_options(DRIFT, EngineOptions(), minutes=60)
    >>> drift.world, drift.drift_after_ms
    ('contextual', 1800000)
    """
    rewards = options.rewards
    drift = (minutes // 2) * 60_000 if world == DRIFT else None
    return SimulatorOptions(seed=SEED, id_prefix="bench-dq",
                            world="contextual" if world == DRIFT else world,
                            drift_after_ms=drift,
                            weights=RewardWeights(clicked=rewards.clicked,
                                                  converted=rewards.converted,
                                                  dismissed=rewards.dismissed))


def _policies(options: EngineOptions) -> tuple[list[tuple[str, Policy | None]], str]:
    """Fresh policies for one world (nothing learned carries over), and why VW is missing."""
    policies: list[tuple[str, Policy | None]] = [
        (_RTP, None),
        (UniformRandom.name, UniformRandom()),
        (RulesOnly.name, RulesOnly()),
    ]
    try:
        policies.append((VowpalWabbit.name, VowpalWabbit(
            options.rewards.reward_wait_ms, epsilon=options.decider.bandit.epsilon)))
    except ImportError as exc:  # reported, never hidden
        return policies, (f"Vowpal Wabbit could not be imported ({exc}): its rows are "
                          "missing (pip install vowpalwabbit).")
    return policies, ""


def _row(world: str, name: str, loop: _LoopResult) -> dict[str, Any]:
    end = loop.whole
    after = share_after(loop.after_warmup)
    return {
        "world": world,
        "policy": name,
        "decisions_scored": end.decisions,
        "reward": end.obtained,
        "oracle_reward": end.oracle,
        "regret": end.regret,
        "expected_regret": end.expected_regret,
        "share_of_oracle_after_warmup": after["expected_share"],
        "realized_share_after_warmup": after["obtained_share"],
        "oracle_match_after_warmup": after["match_rate"],
        "no_action_chosen": ratio(loop.no_action, loop.served),
        "no_action_best": ratio(loop.oracle_no_action, loop.served),
        "share_first_10min_after_drift": _share(loop.drift_first),
        "share_after_drift_recovery": _share(loop.drift_recovered),
        "seconds": round(loop.seconds, 1),
    }


def _share(ledger: RewardLedger | None) -> float | str:
    """Expected share of the oracle over a drift window ('' without a drift).

    >>> _share(None), _share(RewardLedger(decisions=2, expected=1.0, oracle=4.0))
    ('', 0.25)
    """
    return "" if ledger is None else share_after(ledger)["expected_share"]


def goals(world: str, rows: Mapping[str, Mapping[str, Any]]) -> str:
    """The goals of one world's rows, met or not (reported, never asserted).

    >>> rows = {_RTP: {"share_of_oracle_after_warmup": 0.93},
    ...         RulesOnly.name: {"share_of_oracle_after_warmup": 0.9},
    ...         VowpalWabbit.name: {"share_of_oracle_after_warmup": 0.95}}
    >>> for part in goals("contextual", rows).split("; "):
    ...     print(part)
    >= 90% of the oracle: **met** (93.0%)
    >= rules-only + 5 points: **NOT met** (90.0% + 5)
    >= VW: **NOT met** (95.0%)
    """
    def share(name: str) -> float:
        return float(rows[name]["share_of_oracle_after_warmup"])

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**NOT met**"

    if world == DRIFT:
        return _drift_goals(rows)
    ours = share(_RTP)
    parts = [f">= {GOAL_SHARE:.0%} of the oracle: {verdict(ours >= GOAL_SHARE)} ({ours:.1%})"]
    if world == "contextual":
        rules = share(RulesOnly.name)
        parts.append(f">= rules-only + {GOAL_OVER_RULES:.0f} points: "
                     f"{verdict(ours >= rules + GOAL_OVER_RULES / 100)} ({rules:.1%} + "
                     f"{GOAL_OVER_RULES:.0f})")
    if VowpalWabbit.name in rows:
        vw = share(VowpalWabbit.name)
        parts.append(f">= VW: {verdict(ours >= vw)} ({vw:.1%})")
    else:
        parts.append(">= VW: not measured (no Vowpal Wabbit)")
    return "; ".join(parts)


def _drift_goals(rows: Mapping[str, Mapping[str, Any]]) -> str:
    """How each policy recovers from the drift: its share after the recovery window,
    rtp's against the others (reported, not a goal of the issue).

    >>> rows = {_RTP: {"share_after_drift_recovery": 0.9, "share_first_10min_after_drift": 0.8},
    ...         RulesOnly.name: {"share_after_drift_recovery": 0.85,
    ...                          "share_first_10min_after_drift": 0.84}}
    >>> print(_drift_goals(rows).replace("; ", ";\\n"))
    after the drift, rtp 80.0% in its first 10 minutes, 90.0% after them;
    rules only 84.0% / 85.0% (rtp ahead after recovery: yes);
    VW not measured
    """
    def pair(name: str) -> tuple[float, float]:
        row = rows[name]
        return (float(row["share_first_10min_after_drift"]),
                float(row["share_after_drift_recovery"]))

    ours, rules = pair(_RTP), pair(RulesOnly.name)
    text = (f"after the drift, rtp {ours[0]:.1%} in its first {RECOVERY_MINUTES} minutes, "
            f"{ours[1]:.1%} after them; rules only {rules[0]:.1%} / {rules[1]:.1%} "
            f"(rtp ahead after recovery: {'yes' if ours[1] >= rules[1] else 'no'}); ")
    if VowpalWabbit.name not in rows:
        return text + "VW not measured"
    vw = pair(VowpalWabbit.name)
    return text + (f"VW {vw[0]:.1%} / {vw[1]:.1%} (rtp ahead after recovery: "
                   f"{'yes' if ours[1] >= vw[1] else 'no'})")


def run() -> list[dict[str, Any]]:
    """Measure both worlds and record; returns the rows."""
    scale = bench_scale()
    minutes = int(scaled(MINUTES, scale, 20))
    warmup = minutes // 3
    options = EngineOptions()
    load_before = load_note()
    rows: list[dict[str, Any]] = []
    goal_lines: list[str] = []
    vw_lines: list[str] = []
    vw_problem = ""
    drain_minutes: list[int] = []
    for world in WORLD_ORDER:
        sim_options = world_options(world, options, minutes)
        policies, vw_problem = _policies(options)
        results: dict[str, dict[str, Any]] = {}
        for name, policy in policies:
            loop = _closed_loop(policy, minutes, warmup, options, sim_options)
            results[name] = _row(world, name, loop)
            drain_minutes.append(loop.drain_minutes)
            print(f"   {results[name]}", flush=True)
            if isinstance(policy, VowpalWabbit):
                vw_lines.append(
                    f"{world}: VW learned {policy.learned:,} served decisions, "
                    f"{len(policy.pending):,} still within their wait at the end of "
                    "the drain, "
                    f"{policy.unrewarded:,} control decisions not learned, "
                    f"{policy.late_updates} updates after a decision was learned")
        vw = results.get(VowpalWabbit.name)
        for row in results.values():
            row["share_vs_vw"] = (ratio(row["share_of_oracle_after_warmup"],
                                        vw["share_of_oracle_after_warmup"]) if vw else "")
        rows += results.values()
        goal_lines.append(f"- {world} world: {goals(world, results)}")
    drains = f"{min(drain_minutes)}-{max(drain_minutes)}"
    notes = "\n".join([
        "Goals (reported, not asserted), rtp after warm-up:",
        *goal_lines,
        "",
        "Three simulated worlds, each with the same stream for every policy (same seed and "
        "arrivals; reactions then depend on what each policy showed). **contextual**: an "
        "action helps one visitor and annoys another by the device and traffic source the "
        "engine sees in every event (a first-order discount converts campaign visitors "
        "and puts the others off; the comparison guide and the walkthrough video get in "
        "the way on a phone; the scarcity cue works for leisure travellers, not business "
        "ones; pipeline/sim/contextual.py), so no rule over the eligible set can match "
        "the oracle. **contextual-drift**: the contextual world, whose responses drift "
        f"halfway ({minutes // 2} minutes in): the discount stops working for campaign "
        "visitors (it puts them off like everyone else) and free express shipping converts "
        "them instead; share_first_10min_after_drift and share_after_drift_recovery are "
        f"the share of the oracle over the decisions of the first {RECOVERY_MINUTES} "
        "minutes after the drift and over the rest of the run (the drift concerns one "
        "segment, campaign visitors to the shop, so it moves the share over all decisions "
        "little). **classic**: responses by sector, struggle and intent only, where "
        "the first eligible action is nearly always the best.",
        "",
        "Since 008cc73..3e44dce the engine credits a purchase to the last action shown to "
        "the visitor within its reward wait (last touch) instead of to every one; a 'no "
        "action' decision is observed (reward 0 so far) when it is made instead of at the "
        "end of its 10-minute wait (it has no 'shown' outcome: the decisions that got a "
        "conversion were learned 10 minutes before those that did not); LinUCB's alpha is "
        "1.0 (was 0.5) and its epsilon decays from 0.1 to 0.02 as the eligible arms learn "
        "(was 0.1 throughout). These rewards are every policy's (VW learns from the same "
        "updates). Records before measured the earlier engine (contextual 86.2%, classic "
        "92.6% at cc60dd7, VW then at epsilon 0.1). A converted outcome the simulator "
        "reports for a decision (those its purchase was caused by) still credits that "
        "decision, for every policy alike.",
        "",
        f"{minutes} simulated minutes (seed {SEED}, 30 visitors/min), warm-up {warmup} "
        "minutes; then no visitor arrives and the loop runs on until every visitor has "
        "finished its visit (" + drains + " more simulated minutes), so that every "
        "decision of the run has all its rewards (decisions made then are not counted). "
        "share_of_oracle = expected reward of the chosen actions / the oracle's "
        "(best eligible action's expected reward), over the personalized decisions shown "
        "after the warm-up; realized_share = the reward those same decisions obtained "
        "(clicks, dismissals, conversions credited to them, whenever the purchase came) / "
        "the same oracle reward. Until this record, realized_share was the difference of "
        "two running totals, which credited to the decisions after the warm-up the "
        "conversions that came after it for decisions made before it, and missed those "
        "of visitors still browsing at the end (contextual, rules only, 60 minutes: 26 "
        "conversions of the first kind, 25.5 expected of the second). realized_share is "
        "noisy: a visitor's one purchase draw decides the conversion of all their "
        "decisions, and every policy meets the same visitors with the same draws, so it "
        "can sit above or below share_of_oracle for every policy at once. reward, "
        "oracle_reward and regret are over the whole run's decisions (the engine's reward "
        "weights: click 1, conversion 1, dismissal -0.5; records before a331905 counted "
        "dismissals 0). "
        "oracle_match = share of decisions whose action was as good as the oracle's. "
        "no_action_chosen / no_action_best: share of shown personalized decisions where the "
        "policy chose no_action / where no_action was the oracle's best eligible action.",
        "",
        "Same features for everyone: the engine's session features, intent and eligibility; "
        "guardrails, payloads and the control group are the engine's; only the arm choice "
        "differs. VW sees the DecisionLog's numeric and categorical features and intent "
        f"(`--cb_explore_adf --epsilon {options.decider.bandit.epsilon} -q UA`) and "
        "learns each served decision once "
        "with the reward the engine settled on, when the engine has closed it (its "
        "default reward at the end of the 10-minute wait, or the wait's end when it had "
        "outcomes); LinUCB updates at every outcome. The reward timer runs at each "
        "event's time, as the worker's does. "
        + "; ".join(vw_lines) + ".",
        "VW is sensitive to when it learns here: with the reward timer run once per "
        "simulated minute instead of at each event (default rewards up to a minute "
        "later), it reached 63-76% of the oracle in the classic world, against 89.8% "
        "with the timer at each event (measured while finding the harness defect that put "
        "it at 47.6% in the previous record; oracle weights then: dismissal 0).",
        *([vw_problem] if vw_problem else []),
        "",
        f"No Kafka: CPU-bound, {load_before} before, {load_note()} after (shared 2-core "
        f"machine; only 'seconds' depends on it). Scale {scale} (RTP_BENCH_SCALE).",
    ])
    write("decision_quality", rows, notes)
    return rows


if __name__ == "__main__":
    for result in run():
        print(result)
