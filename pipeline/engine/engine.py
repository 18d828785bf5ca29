"""The Listen-Think-Act-Learn step, as plain Python: what the worker and replay call.

Per ClickEvent: sessionize (late events are refused), detect struggle signals,
score intent, decide (rules first, then the bandit) when something that matters
changed, and expire rewards that waited too long. Per Outcome: join it to its
decision and update the bandit at once. A conversion labels the session for the
intent model and rewards the session's decisions.

>>> from pipeline.client.samples import click_event
>>> engine = Engine(EngineOptions())
>>> result = engine.on_event(None, click_event("v1", "page_view", 1_800_000_000_000))
>>> result.state.session is not None, result.decision is not None
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.decide import DecisionContext, DecisionOutcome
from pipeline.engine.event import read_click_event
from pipeline.engine.learner import Learner
from pipeline.engine.options import EngineOptions
from pipeline.engine.visitor import VisitorState
from pipeline.intent import intent_class
from pipeline.profiles import ProfileView
from pipeline.sessions import Sessionizer, SessionSummary
from pipeline.signals import SignalEngine

__all__ = ["Engine", "EventResult", "OutcomeResult"]

#: Event types that are folded into the session but never trigger scoring or a decision alone.
_PASSIVE = frozenset({"mouse_move", "scroll"})

#: ClickEvent custom properties that payload templates may use (live values, not features).
_EXTRAS = ("rooms_left",)


@dataclass
class EventResult:
    """What one ClickEvent produced; ``state`` None means: store nothing for this visitor."""

    state: VisitorState | None
    signals: list[dict[str, Any]] = field(default_factory=list)
    decision: DecisionOutcome | None = None
    ended: SessionSummary | None = None
    late_reason: str | None = None
    duplicate: bool = False
    rewards_applied: int = 0


@dataclass
class OutcomeResult:
    """What one Outcome changed."""

    state: VisitorState | None
    rewards_applied: int = 0


class Engine:
    """One worker's engine: pure, synchronous, no I/O."""

    def __init__(self, options: EngineOptions | None = None,
                 learner: Learner | None = None) -> None:
        self.options = options or EngineOptions()
        self.sessionizer = Sessionizer(self.options.sessions)
        self.signal_engine = SignalEngine(self.options.signals)
        self.learner = learner or Learner.new(self.options)
        self.watermark_ms = 0

    # -- events ---------------------------------------------------------------------------

    def on_event(self, state: VisitorState | None, event: Mapping[str, Any],
                 profile: ProfileView | None = None) -> EventResult:
        """Fold one valid ClickEvent into the visitor's state and decide if it matters."""
        if profile is not None and not profile.personalization_allowed:
            return EventResult(state=None)  # opted out: no state, no decision
        state = state if state is not None else VisitorState()
        # Read once: the sessionizer's and the detectors' records, in one pass over the dict.
        session_event, signal_event = read_click_event(event)
        visitor_id = session_event.visitor_id
        step = self.sessionizer.apply_read(state.session, session_event, profile)
        if step.late:
            return EventResult(state=state, late_reason=step.late_reason)
        if step.duplicate:
            return EventResult(state=state, duplicate=True)
        result = EventResult(state=state, ended=step.ended)
        state.session = step.state
        if step.previous is not None and step.ended is not None:
            result.signals += self.signal_engine.close(step.previous.signals,
                                                       step.previous.session_id, visitor_id)
            self._label(step.ended.session_id, step.ended.converted)
        session_id = step.state.session_id
        new = self.signal_engine.observe_read(step.state.signals, signal_event, session_id,
                                              visitor_id)
        result.signals += new
        event_time = session_event.time
        self.watermark_ms = max(self.watermark_ms, event_time)
        event_type = session_event.event_type
        learner = self.learner
        if event_type in _PASSIVE and not new:
            # Scrolls and mouse moves feed the detectors (hesitation) but cannot change what
            # is decided: skip scoring them, which is most of the per-event cost.
            result.rewards_applied += self.expire(event_time)
            return result
        features = step.state.features(event_time)
        probability = learner.intent.predict(features.numeric, features.categorical)
        cls = intent_class(probability, features.numeric, self.options.intent.cutoffs)
        changed, state.intent_class = cls != state.intent_class, cls
        learner.labels.record(session_id, features.numeric, features.categorical)

        if event_type == "purchase":
            result.rewards_applied += self._conversion(event)
            self._label(session_id, True)

        decider = learner.decider
        new_rules = frozenset(s["rule"] for s in new)
        if not decider.should_decide(event_type, new_rules, changed):
            # decide() would return None at once: skip building its context (most clicks).
            result.rewards_applied += self.expire(event_time)
            return result
        fired = step.state.signals.fired
        active = frozenset(rule for rule in self.signal_engine.options.enabled_rules
                           if rule in fired)
        custom = event.get("custom") or {}
        extras = {k: str(v) for k, v in (custom.get("properties") or {}).items()
                  if k in _EXTRAS}
        ctx = DecisionContext(
            visitor_id=visitor_id, session_id=session_id,
            trigger_event_id=str(event["event_id"]),
            trigger_event_type=event_type, event_time_ms=event_time,
            numeric=features.numeric, categorical=features.categorical, consent=True,
            purchased_ever=bool(profile and profile.purchased_ever)
            or features.numeric.get("converted", 0.0) > 0,
            active_signals=active, new_signals=new_rules,
            intent_probability=probability, intent_class=cls, intent_class_changed=changed,
            history=state.history, extras=extras,
            experiment_unit=(profile and profile.experiment_unit) or visitor_id,
        )
        decision = decider.decide(ctx)
        if decision is not None:
            state.history = decision.history
            if decision.served:
                result.rewards_applied += learner.reward(
                    learner.rewards.register(decision.decision, decision.context_vector))
            result.decision = decision
        result.rewards_applied += self.expire(event_time)
        return result

    def _conversion(self, event: Mapping[str, Any]) -> int:
        """A purchase rewards the actions shown to the visitor within their reward wait.

        "No action" decisions are not credited: a conversion after nothing was shown is the
        baseline (reward 0 at the end of the wait), not something the decision caused.
        Crediting them made doing nothing look best (it is chosen on every page view).
        """
        purchase = event.get("purchase") or {}
        value = float(purchase.get("value") or 0.0)
        applied = 0
        rewards = self.learner.rewards
        for decision_id in rewards.for_visitor(str(event["visitor_id"])):
            pending = rewards.get(decision_id)
            if pending is None or pending.action_id == self.learner.decider.catalog.no_action.id:
                continue
            update = rewards.on_outcome({
                "outcome_id": f"{event['event_id']}:{decision_id}", "decision_id": decision_id,
                "visitor_id": event["visitor_id"], "kind": "converted", "value": value,
                "event_time": event["event_time"]})
            if update is not None:
                applied += self.learner.reward([update])
        return applied

    def _label(self, session_id: str, converted: bool) -> None:
        for example in self.learner.labels.release(session_id, converted):
            self.learner.intent.learn(example.numeric, example.categorical, example.converted)
            self.learner.updates += 1

    # -- outcomes -------------------------------------------------------------------------

    def on_outcome(self, state: VisitorState | None,
                   outcome: Mapping[str, Any]) -> OutcomeResult:
        """Join an Outcome to its decision: history (dismissals) and the bandit, at once."""
        applied = 0
        if state is not None:
            state.history = state.history.with_outcome(str(outcome["decision_id"]),
                                                       str(outcome["kind"]))
        update = self.learner.rewards.on_outcome(outcome)
        if update is not None:
            applied = self.learner.reward([update])
        self.watermark_ms = max(self.watermark_ms, int(outcome["event_time"]))
        return OutcomeResult(state=state, rewards_applied=applied)

    def sweep(self, state: VisitorState | None, now_ms: int) -> bool:
        """Whether a visitor's state has outlived its TTL (perishable data) and must go.

        An expired session that never converted becomes a negative intent label.

        >>> from pipeline.client.samples import click_event
        >>> engine = Engine(EngineOptions())
        >>> t = 1_800_000_000_000
        >>> state = engine.on_event(None, click_event("v", "page_view", t)).state
        >>> engine.sweep(state, t), engine.sweep(state, t + 3 * 3600_000)
        (False, True)
        """
        if state is None or state.session is None:
            return True
        if not state.session.is_expired(now_ms, self.options.sessions):
            return False
        self._label(state.session.session_id, bool(state.session.summary().converted))
        return True

    def expire(self, now_ms: int) -> int:
        """Give the default reward to decisions whose reward wait has passed (event time)."""
        return self.learner.reward(self.learner.rewards.expire(now_ms))
