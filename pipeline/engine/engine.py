"""The Listen-Think-Act-Learn step, as plain Python: what the worker and replay call.

Per ClickEvent: sessionize (late events are refused), detect struggle signals,
score intent, decide (rules first, then the bandit) when something that matters
changed. Per Outcome: join it to the visitor's pending decision. What there is to learn
— a resolved reward, a labelled session — is returned as learning records (schema
``LearningRecord``): the worker ships them to the learner service, which folds them into
the model every worker decides with (:mod:`pipeline.learning`); replay and tests learn
from them at once (``learn_inline``, the default).

The pending rewards and the session's label snapshot live in the visitor's state, so
they survive the worker (the state has a changelog) and need no global structure.

>>> from pipeline.client.samples import click_event
>>> engine = Engine(EngineOptions())
>>> result = engine.on_event(None, click_event("v1", "page_view", 1_800_000_000_000))
>>> result.state.session is not None, result.decision is not None
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from pipeline.decide import (
    Decider,
    DecisionContext,
    DecisionOutcome,
    StoryOverride,
    load_catalog,
)
from pipeline.engine.event import read_click_event
from pipeline.engine.options import EngineOptions
from pipeline.engine.visitor import LabelSnapshot, VisitorState
from pipeline.feedback import RewardUpdate
from pipeline.frozen import maker
from pipeline.intent import intent_class
from pipeline.learning import Model, Trainer, label_record, reward_record
from pipeline.profiles import ProfileView, may_personalize
from pipeline.sessions import Sessionizer, SessionSummary
from pipeline.signals import SignalEngine

__all__ = ["TIMER", "Engine", "EventResult", "OutcomeResult", "SweepResult", "timer_trigger_id"]

#: Event types that are folded into the session but never trigger scoring or a decision alone.
_PASSIVE = frozenset({"mouse_move", "scroll"})

#: ClickEvent custom properties that payload templates may use (live values, not features).
_EXTRAS = ("rooms_left",)

Learning = list[dict[str, Any]]

#: No rule (new or active): the one empty frozenset, not one built per decision.
_NO_RULES: frozenset[str] = frozenset()

#: Positional constructors of the frozen records built per decision (:mod:`pipeline.frozen`).
_new_context = maker(DecisionContext)
_new_label = maker(LabelSnapshot)

#: The trigger type of a decision made when a timer fired (no event).
TIMER = "timer"


def timer_trigger_id(visitor_id: str, due_ms: int) -> str:
    """The trigger id of the decision a visitor's timer makes at ``due_ms`` (its decision id
    is derived from it, like an event's): one per visitor and due time.

    >>> timer_trigger_id("v1", 1_800_000_030_000)
    'timer:v1:1800000030000'
    """
    return f"{TIMER}:{visitor_id}:{due_ms}"


class _Trigger(NamedTuple):
    """What a decision is about to be made for: an event, or a timer at its due time (a
    named tuple: one is made for every scored event, and a tuple is the cheapest record)."""

    event_id: str
    event_type: str
    time: int


def _rewards(learning: Learning) -> int:
    return sum(1 for record in learning if record["reward"] is not None)


@dataclass
class EventResult:
    """What one ClickEvent (or one timer) produced; ``state`` None means: store nothing for
    this visitor."""

    state: VisitorState | None
    signals: list[dict[str, Any]] = field(default_factory=list)
    decision: DecisionOutcome | None = None
    ended: SessionSummary | None = None
    late_reason: str | None = None
    duplicate: bool = False
    #: Learning records (rewards resolved, sessions labelled), in order.
    learning: Learning = field(default_factory=list)
    #: Timers that fired before the event (at their due times, earlier than the event).
    timers: list[EventResult] = field(default_factory=list)

    @property
    def rewards_applied(self) -> int:
        """Reward records among :attr:`learning` (the timers' included)."""
        return _rewards(self.learning) + sum(t.rewards_applied for t in self.timers)


@dataclass
class OutcomeResult:
    """What one Outcome changed."""

    state: VisitorState | None
    learning: Learning = field(default_factory=list)
    #: Timers that fired before the outcome (at their due times, earlier than the outcome).
    timers: list[EventResult] = field(default_factory=list)

    @property
    def rewards_applied(self) -> int:
        """Reward records among :attr:`learning` (the timers' included)."""
        return _rewards(self.learning) + sum(t.rewards_applied for t in self.timers)


@dataclass
class SweepResult:
    """A visitor looked at by the sweep: delete it, or store it changed, or neither."""

    delete: bool
    changed: bool = False
    learning: Learning = field(default_factory=list)


class Engine:
    """One worker's engine: pure, synchronous, no I/O.

    ``model`` is what it decides with (a fresh one by default; the worker swaps in the
    learner's snapshots with :meth:`use`); ``learn_inline`` folds the engine's own learning
    records into that model at once (replay, simulation, tests) instead of leaving them
    to the learner service. ``story`` is the test-only override of scripted story runs
    (:class:`~pipeline.decide.StoryOverride`: ``rtp worker --story-override``; never from
    options, config or data).
    """

    def __init__(self, options: EngineOptions | None = None, model: Model | None = None,
                 learn_inline: bool = True, story: StoryOverride | None = None,
                 config_version: int = 0) -> None:
        self.options = options or EngineOptions()
        self.story = story
        #: The published config version the options come from (0: none published), recorded
        #: in every decision log (:mod:`pipeline.config.ref`).
        self.config_version = config_version
        self.sessionizer = Sessionizer(self.options.sessions)
        self.signal_engine = SignalEngine(self.options.signals)
        self.catalog = (self.options.catalog if self.options.catalog is not None
                        else load_catalog(self.options.catalog_path))
        self.learn_inline = learn_inline
        self.visitor_rewards = replace(self.options.rewards,
                                       max_pending=self.options.pending_per_visitor,
                                       closed_memory=self.options.pending_per_visitor)
        self.model = Model.new(self.options)
        self.decider = Decider(self.catalog, self.options.decider, bandit=self.model.bandit,
                               story=story)
        self.trainer = Trainer(self.model)
        if model is not None:
            self.use(model)
        self.watermark_ms = 0

    def use(self, model: Model) -> None:
        """Decide with ``model`` from now on (a mismatched bandit raises, nothing changes)."""
        decider = Decider(self.catalog, self.options.decider, bandit=model.bandit,
                          story=self.story)
        self.model, self.decider, self.trainer = model, decider, Trainer(model)

    def _learn(self, learning: Learning, records: Learning) -> None:
        learning += records
        if self.learn_inline:
            for record in records:
                self.trainer.apply(record)

    def _reward(self, learning: Learning, updates: list[RewardUpdate], visitor_id: str) -> None:
        if updates:
            self._learn(learning, [reward_record(u, visitor_id) for u in updates])

    # -- events ---------------------------------------------------------------------------

    def on_event(self, state: VisitorState | None, event: Mapping[str, Any],
                 profile: ProfileView | None = None) -> EventResult:
        """Fold one valid ClickEvent into the visitor's state and decide if it matters.

        Timers due at or before the event's time fire first, each at its due time
        (:attr:`EventResult.timers`): what a live worker's tick would have produced, so that
        the outputs do not depend on whether the tick or the next event came first.
        """
        if not may_personalize(profile, self.options.profiles):
            # Opted out, or no consent record where consent is required (opt-in): no state,
            # no signal, no decision.
            return EventResult(state=None)
        state = state if state is not None else VisitorState()
        # Read once: the sessionizer's and the detectors' records, in one pass over the dict.
        session_event, signal_event = read_click_event(event)
        visitor_id = session_event.visitor_id
        event_time = session_event.time
        # Most events find no timer due: ask before the call (on_timers would check consent
        # again, which was checked above).
        due = self.timer_due_ms(state)
        timers = [] if due is None or due > event_time else self.on_timers(state, event_time,
                                                                            profile)
        step = self.sessionizer.apply_read(state.session, session_event, profile)
        if step.late:
            return EventResult(state=state, late_reason=step.late_reason, timers=timers)
        if step.duplicate:
            return EventResult(state=state, duplicate=True, timers=timers)
        result = EventResult(state=state, ended=step.ended, timers=timers)
        learning = result.learning
        state.session = step.state
        event_id = str(event["event_id"])
        if step.previous is not None and step.ended is not None:
            result.signals += self.signal_engine.close(step.previous.signals,
                                                       step.previous.session_id, visitor_id)
            self._release_label(state, learning, step.ended.session_id,
                                bool(step.ended.converted), event_id, event_time)
        session_id = step.state.session_id
        new = self.signal_engine.observe_read(step.state.signals, signal_event, session_id,
                                              visitor_id)
        result.signals += new
        self.watermark_ms = max(self.watermark_ms, event_time)
        event_type = session_event.event_type
        if event_type in _PASSIVE and not new:
            # Scrolls and mouse moves feed the detectors (hesitation) but cannot change what
            # is decided: skip scoring them, which is most of the per-event cost.
            self._expire(state, learning, event_time, visitor_id)
            return result
        custom = event.get("custom") or {}
        extras = {k: str(v) for k, v in (custom.get("properties") or {}).items()
                  if k in _EXTRAS}
        conversion = event if event_type == "purchase" else None
        result.decision = self._think(state, learning, _Trigger(event_id, event_type, event_time),
                                      new, profile, extras, conversion)
        self._expire(state, learning, event_time, visitor_id)
        return result

    def timer_due_ms(self, state: VisitorState | None) -> int | None:
        """When the visitor's next timer (a dwell, a dead-click window) falls due, in event
        time (None: none pending): what a timer index keeps.

        >>> from pipeline.client.samples import click_event
        >>> engine, t = Engine(EngineOptions()), 1_800_000_000_000
        >>> state = engine.on_event(None, click_event("v", "page_view", t,
        ...     page_type="shipping_returns", url="https://shop.example/shipping")).state
        >>> engine.timer_due_ms(state) - t
        30000
        """
        if state is None or state.session is None:
            return None
        return self.signal_engine.next_due_ms(state.session.signals)

    def on_timers(self, state: VisitorState, now_ms: int,
                  profile: ProfileView | None = None) -> list[EventResult]:
        """Fire the visitor's timers due at or before ``now_ms`` (event time), each at its own
        due time, in order; what each produced (a timer silenced by a cool-down produces
        nothing but still changes the state: store it when the list is not empty).

        The results are a pure function of the state and the due time, never of ``now_ms``
        or the wall clock: a redelivery, a replay or the next event reproduces them. A
        signal goes through the normal decision (guardrails, cool-downs, experiment arm);
        the decision's trigger is :func:`timer_trigger_id` of the visitor and the due time.

        >>> from pipeline.client.samples import click_event
        >>> engine, t = Engine(EngineOptions()), 1_800_000_000_000
        >>> state = engine.on_event(None, click_event("v", "page_view", t,
        ...     page_type="shipping_returns", url="https://shop.example/shipping")).state
        >>> engine.on_timers(state, t + 29_999)
        []
        >>> [fired] = engine.on_timers(state, t + 60_000)
        >>> [s["rule"] for s in fired.signals], fired.decision.decision["created_at"] - t
        (['hesitation'], 30000)
        >>> engine.timer_due_ms(state) is None
        True
        """
        results: list[EventResult] = []
        if not may_personalize(profile, self.options.profiles):
            return results  # no timer fires for a visitor who may not be personalized
        due = self.timer_due_ms(state)
        while due is not None and due <= now_ms:
            results.append(self._fire(state, due, profile))
            after = self.timer_due_ms(state)
            if after is not None and after <= due:  # a detector that did not clear: stop
                raise RuntimeError(f"timer at {due} did not move on ({after})")
            due = after
        return results

    def _fire(self, state: VisitorState, due_ms: int,
              profile: ProfileView | None) -> EventResult:
        session = state.session
        assert session is not None  # a timer is due only with a session
        visitor_id, session_id = session.visitor_id, session.session_id
        result = EventResult(state=state)
        new = self.signal_engine.flush(session.signals, due_ms, session_id, visitor_id)
        result.signals += new
        if new:
            trigger = _Trigger(timer_trigger_id(visitor_id, due_ms), TIMER, due_ms)
            result.decision = self._think(state, result.learning, trigger, new, profile, {},
                                          None)
        return result

    def _think(self, state: VisitorState, learning: Learning, trigger: _Trigger,
               new: list[dict[str, Any]], profile: ProfileView | None, extras: dict[str, str],
               conversion: Mapping[str, Any] | None) -> DecisionOutcome | None:
        """Score intent at the trigger's time and decide if the trigger matters (an event's or
        a timer's); the decision is registered for its reward."""
        session = state.session
        assert session is not None  # sessionized before
        visitor_id, session_id, at_ms = session.visitor_id, session.session_id, trigger.time
        features = session.features(at_ms)
        probability = self.model.intent.predict(features.numeric, features.categorical)
        cls = intent_class(probability, features.numeric, self.options.intent.cutoffs)
        changed, state.intent_class = cls != state.intent_class, cls
        state.label = _new_label(session_id, features.numeric, features.categorical)

        if conversion is not None:
            self._conversion(state, learning, conversion)
            self._release_label(state, learning, session_id, True, trigger.event_id, at_ms)

        decider = self.decider
        new_rules = frozenset([s["rule"] for s in new]) if new else _NO_RULES
        if not decider.should_decide(trigger.event_type, new_rules, changed):
            # decide() would return None at once: skip building its context (most clicks).
            return None
        fired = session.signals.fired
        active = frozenset([rule for rule in self.signal_engine.options.enabled_rules
                            if rule in fired]) if fired else _NO_RULES
        # Every field in its order (the maker's positional constructor: a keyword call, and
        # the frozen __init__'s setattr per field, cost more, once per decision):
        # visitor_id, session_id, trigger_event_id, trigger_event_type, event_time_ms,
        # numeric, categorical, consent, purchased_ever, active_signals, new_signals,
        # intent_probability, intent_class, intent_class_changed, history, extras,
        # experiment_unit.
        ctx = _new_context(
            visitor_id, session_id, trigger.event_id, trigger.event_type, at_ms,
            features.numeric, features.categorical, True,
            bool(profile and profile.purchased_ever)
            or features.numeric.get("converted", 0.0) > 0,
            active, new_rules, probability, cls, changed,
            # Seen from this session once: the decider and each guardrail ask for it.
            state.history.for_session(session_id), extras,
            (profile and profile.experiment_unit) or visitor_id,
        )
        decision = decider.decide(ctx)
        if decision is not None:
            decision.log["model_version"] = self.model.version  # which snapshot decided
            decision.log["config_version"] = self.config_version  # which config decided
            state.history = decision.history
            if decision.served:
                pending = state.rewards(self.visitor_rewards)
                updates = pending.register(decision.decision, decision.context_vector)
                if decision.action.id == self.catalog.no_action.id:
                    # Nothing is rendered, so no "shown" outcome will come: the decision is
                    # in effect now, and learned now (reward 0 so far; an outcome reported
                    # later, a conversion, corrects it). Waiting for the end of the reward
                    # wait learned the decisions without outcomes 10 minutes after those
                    # credited a conversion: doing nothing looked better than it was.
                    shown = pending.on_outcome({
                        "decision_id": decision.decision_id, "kind": "shown",
                        "event_time": decision.decision["created_at"]})
                    updates += [] if shown is None else [shown]
                self._reward(learning, updates, visitor_id)
        return decision

    def _conversion(self, state: VisitorState, learning: Learning,
                    event: Mapping[str, Any]) -> None:
        """A purchase rewards the last action shown to the visitor within its reward wait.

        One purchase is one conversion: it credits one decision, the most recent one that
        showed something (last touch). Crediting every action shown in the wait counted it
        once per decision, so an action shown to a visitor who would have bought anyway
        (or who bought because of another action) learned the whole conversion: the
        conversions the visitor's other actions caused, and the baseline of visitors who
        buy, were credited to every arm and blurred which action works for whom (decision
        quality bench, contextual world: the bandit's share of the oracle rose with last
        touch, bench/results/decision_quality.md). A ``converted`` outcome reported for a
        decision (e.g. by the delivery side) still credits that decision.

        "No action" decisions are not credited: a conversion after nothing was shown is the
        baseline (reward 0 at the end of the wait), not something the decision caused.
        Crediting them made doing nothing look best (it is chosen on every page view).
        """
        rewards = state.pending
        if not rewards:
            return
        no_action = self.catalog.no_action.id
        last = None
        for decision_id in rewards.for_visitor(str(event["visitor_id"])):
            pending = rewards.get(decision_id)
            if pending is None or pending.action_id == no_action:
                continue
            if last is None or pending.decided_at_ms >= last.decided_at_ms:
                last = pending
        if last is None:
            return
        purchase = event.get("purchase") or {}
        value = float(purchase.get("value") or 0.0)
        visitor_id = str(event["visitor_id"])
        update = rewards.on_outcome({
            "outcome_id": f"{event['event_id']}:{last.decision_id}",
            "decision_id": last.decision_id, "visitor_id": visitor_id, "kind": "converted",
            "value": value, "event_time": event["event_time"]})
        self._reward(learning, [] if update is None else [update], visitor_id)

    def _release_label(self, state: VisitorState, learning: Learning, session_id: str,
                       converted: bool, release: str, at_ms: int) -> None:
        """The session's last prediction features, labelled, become a learning record."""
        label = state.label
        if label is None or label.session_id != session_id:
            return
        state.label = None
        self._learn(learning, [label_record(session_id, release, label.numeric,
                                            label.categorical, converted,
                                            self._visitor_of(state), at_ms)])

    @staticmethod
    def _visitor_of(state: VisitorState) -> str:
        return state.session.visitor_id if state.session is not None else ""

    def _expire(self, state: VisitorState, learning: Learning, now_ms: int,
                visitor_id: str) -> None:
        if state.pending:
            self._reward(learning, state.pending.expire(now_ms), visitor_id)

    def expire(self, state: VisitorState, now_ms: int) -> Learning:
        """The default reward for the visitor's decisions whose wait has passed at
        ``now_ms`` (a timer's call: :class:`~pipeline.engine.deadlines.Deadlines` says when).

        >>> Engine().expire(VisitorState(), 0)
        []
        """
        learning: Learning = []
        if state.pending and state.session is not None:
            self._expire(state, learning, now_ms, state.session.visitor_id)
        return learning

    # -- outcomes -------------------------------------------------------------------------

    def on_outcome(self, state: VisitorState | None, outcome: Mapping[str, Any],
                   profile: ProfileView | None = None) -> OutcomeResult:
        """Join an Outcome to the visitor's decision: history (dismissals) and its reward.

        Timers due at or before the outcome's time fire first (:attr:`OutcomeResult.timers`),
        so a dismissal after a timer's due time never changes what the timer decided."""
        result = OutcomeResult(state=state)
        self.watermark_ms = max(self.watermark_ms, int(outcome["event_time"]))
        if state is None:
            return result  # the visitor's state (and its pending decisions) expired
        result.timers = self.on_timers(state, int(outcome["event_time"]), profile)
        state.history = state.history.with_outcome(str(outcome["decision_id"]),
                                                   str(outcome["kind"]))
        if state.pending:
            update = state.pending.on_outcome(outcome)
            visitor_id = str(outcome["visitor_id"])
            if update is not None:
                self._reward(result.learning, [update], visitor_id)
            self._expire(state, result.learning, int(outcome["event_time"]), visitor_id)
        return result

    def sweep(self, state: VisitorState | None, now_ms: int,
              event_time_ms: int | None = None) -> SweepResult:
        """Expire the visitor's pending rewards at ``event_time_ms`` (the reward wait is in
        event time; default ``now_ms``), and say whether its state has outlived its TTL at
        ``now_ms`` (perishable data) and must go. An expired session's label snapshot
        becomes an intent example (converted or not).

        >>> from pipeline.client.samples import click_event
        >>> engine = Engine(EngineOptions())
        >>> t = 1_800_000_000_000
        >>> state = engine.on_event(None, click_event("v", "page_view", t)).state
        >>> engine.sweep(state, t).delete, engine.sweep(state, t + 3 * 3600_000).delete
        (False, True)
        """
        if state is None or state.session is None:
            return SweepResult(delete=True)
        result = SweepResult(delete=False)
        visitor_id = state.session.visitor_id
        at = now_ms if event_time_ms is None else event_time_ms
        due = state.next_deadline_ms()
        if due is not None and due <= at:
            self._expire(state, result.learning, at, visitor_id)
            result.changed = True
        if not state.session.is_expired(now_ms, self.options.sessions):
            return result
        self._release_label(state, result.learning, state.session.session_id,
                            bool(state.session.summary().converted), "expired", now_ms)
        result.delete = True
        return result
