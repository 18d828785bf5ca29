"""Offline replay: the worker's Listen-Think-Act-Learn step over recorded input, without Kafka.

:class:`Replayer` does what ``topologies/decision_path.py`` does per record, with
plain dicts where the worker has RocksDB tables (``visitors``, with the same
decoded-state cache in front, ``visitor-profiles``, ``profiles``) and one
:class:`~pipeline.engine.Engine`
(one learner, like one worker owning every partition):

- ClickEvent: meaning check, ``engine.on_event(state, event, profile_view)``,
  then :func:`~pipeline.engine.routing.event_outputs` decides what goes where:
  signals and decision-log records to the sink, late events to the dead
  letters, purchases to the profile of the person (the worker's internal
  conversions topic, applied at once here);
- ProfileUpdate: :func:`~pipeline.profiles.apply_profile_update` and the fan-out
  of views to every visitor id of the person (applied at once, where the worker
  goes through an internal topic);
- Outcome: ``engine.on_outcome`` (rewards, dismissals), but only for a decision
  the replay made *with the action that was logged*: an outcome is the reaction
  to what the visitor was shown, so when a candidate configuration chose another
  action for that trigger, the outcome is counted as ``counterfactual`` and not
  learned from. Without the logged decision the outcome is applied and counted
  as ``unverified``;
- timers (a dwell, a dead-click window): fired at their due times when the watermark
  passes them, as the worker's tick fires them (:meth:`Engine.on_timers`), and routed like
  an event's outputs;
- DecisionLog (the one recorded live): remembered, for that check. Its recorded
  ``control_share`` (DecisionLog v2) becomes the replay's control share from then on
  (``follow_logged_control_share``), so the replay splits visitors as the live run
  did; a log that changed its share mid-run is followed as it changed. A share set
  explicitly (``rtp replay --control-share``, or ``decider.control_share`` in an
  options file) is kept instead; without logged decisions the configured share applies.

Anything that cannot be used (undecodable, schema-invalid, meaningless, late,
or failing in the core) becomes a DeadLetter record with a reason code, and is
counted; the replay never stops on a record.

**Determinism.** No wall clock reaches an output: "now" for the meaning checks
is the event-time watermark (the greatest event time replayed so far), raised
to the record's own Kafka timestamp when it has one (the closest thing to the
clock the worker checked against) or, for a file record, to its own event time
(so a file cannot show "future" events; every other meaning check applies),
and ``failed_at`` of a dead letter is that same "now". Decision ids derive from
the trigger event, the bandit's draws and the intent model are seeded. The
same input, options and seed give byte-identical outputs.

>>> from pipeline.client import click_event
>>> from pipeline.engine import EngineOptions
>>> from pipeline.replay.sources import SourceRecord
>>> from pipeline.serde import GarbageBytes
>>> class Memory:
...     def __init__(self): self.logs, self.signals, self.dead = [], [], []
...     def decision_log(self, key, record): self.logs.append(record)
...     def signal(self, key, record): self.signals.append(record)
...     def dead_letter(self, record): self.dead.append(record)
>>> sink = Memory()
>>> replayer = Replayer(EngineOptions(), sink)
>>> event = click_event("v-7", "page_view", 1_800_000_000_000)
>>> replayer.feed(SourceRecord("ClickEvent", "f", -1, 0, event["event_time"], event))
>>> replayer.feed(SourceRecord("ClickEvent", "f", -1, 1, 0, None, raw=b"x",
...                            error=GarbageBytes("junk")))
>>> len(sink.logs), sink.dead[0]["error_class"], replayer.metrics.events_read
(1, 'garbage', 2)
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.engine import Engine, EngineOptions, VisitorState
from pipeline.engine.cache import StateCache
from pipeline.engine.deadlines import Deadlines
from pipeline.engine.routing import CONVERSIONS, LATE, Output, event_outputs, timer_outputs
from pipeline.profiles import (
    ProfileState,
    ProfileView,
    VisitorMessage,
    apply_conversion,
    apply_profile_update,
    messages_for_effect,
    profile_key,
    views_for,
)
from pipeline.replay.sources import SourceRecord, record_time
from pipeline.serde import (
    Codec,
    LateEvent,
    MeaningRules,
    ProcessingError,
    SerdeError,
    check_meaning,
    dead_letter_for,
)
from pipeline.topics import ACTIONS, DECISIONS_LOG, SIGNALS

if TYPE_CHECKING:
    from pipeline.learning import Model

__all__ = ["ReplayMetrics", "ReplayOptions", "Replayer", "config_fingerprint", "replay"]


class _Sink(Protocol):
    def decision_log(self, key: str, record: Mapping[str, Any]) -> None: ...

    def signal(self, key: str, record: Mapping[str, Any]) -> None: ...

    def dead_letter(self, record: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class ReplayOptions:
    """How the replayer treats its input (what the engine decides is ``EngineOptions``).

    ``max_future_skew_ms``: the meaning check's allowance for event times ahead of
    "now" (as the worker's ``RTP_MAX_FUTURE_SKEW_MS``). ``worker``: written to
    ``DeadLetter.worker``. ``decision_memory_ms``: how long (event time) a
    decision id is remembered for joining outcomes; older ones are forgotten (an
    outcome that late is past any reward wait anyway) and their outcomes count as
    ``unmatched``. ``state_cache_entries``: decoded visitor states kept in front of
    the bytes table, as the worker's cache does. ``follow_logged_control_share``:
    decide with the control share each logged decision recorded (False: keep the
    configured one).

    >>> ReplayOptions().decision_memory_ms // 60_000
    120
    """

    max_future_skew_ms: int = 5 * 60 * 1000
    worker: str = "rtp-replay"
    decision_memory_ms: int = 2 * 60 * 60 * 1000
    state_cache_entries: int = 50_000
    follow_logged_control_share: bool = True


@dataclass
class ReplayMetrics:
    """What a replay read, decided and refused; :meth:`to_json` is deterministic.

    >>> m = ReplayMetrics()
    >>> m.decisions_by_action["no_action"] += 2
    >>> json.loads(m.to_json())["decisions"]["by_action"]
    {'no_action': 2}
    """

    events_read: int = 0
    events_replayed: int = 0
    events_opted_out: int = 0
    duplicates: int = 0
    late: int = 0
    dead_letters: Counter[tuple[str, str]] = field(default_factory=Counter)
    decisions: int = 0
    decisions_served: int = 0
    decisions_delivered: int = 0
    decisions_by_action: Counter[str] = field(default_factory=Counter)
    decisions_by_arm: Counter[str] = field(default_factory=Counter)
    signals_by_rule: Counter[str] = field(default_factory=Counter)
    outcomes_read: int = 0
    outcomes_applied: int = 0
    outcomes_unverified: int = 0
    outcomes_unmatched: int = 0
    outcomes_counterfactual: int = 0
    profile_updates_read: int = 0
    profile_updates_applied: int = 0
    logged_decisions_read: int = 0
    #: Control shares adopted from the logged decisions, in the order they took effect.
    control_shares_followed: list[float] = field(default_factory=list)
    conversions: int = 0
    rewards_applied: int = 0
    learner_updates: int = 0
    #: The model snapshot the replay decided with throughout (``rtp replay --model``),
    #: learning nothing; None: it learned as it went, from an untrained model.
    pinned_model_version: int | None = None
    visitors: int = 0
    first_event_ms: int | None = None
    last_event_ms: int | None = None
    watermark_ms: int = 0
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def dead_lettered(self) -> int:
        """Records written to the dead letters, all reasons."""
        return sum(self.dead_letters.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with sorted breakdowns."""
        by_kind: dict[str, dict[str, int]] = {}
        for (kind, reason), n in sorted(self.dead_letters.items()):
            by_kind.setdefault(kind, {})[reason] = n
        invalid = sum(n for (_, reason), n in self.dead_letters.items()
                      if reason != LateEvent.reason)
        return {
            "events": {
                "read": self.events_read,
                "replayed": self.events_replayed,
                "late": self.late,
                "invalid": sum(n for (k, r), n in self.dead_letters.items()
                               if k == "ClickEvent" and r != LateEvent.reason),
                "duplicates": self.duplicates,
                "opted_out": self.events_opted_out,
                "visitors": self.visitors,
                "first_event_ms": self.first_event_ms,
                "last_event_ms": self.last_event_ms,
            },
            "decisions": {
                "total": self.decisions,
                "served": self.decisions_served,
                "delivered": self.decisions_delivered,
                "by_action": dict(sorted(self.decisions_by_action.items())),
                "by_arm": dict(sorted(self.decisions_by_arm.items())),
                "control_shares_followed": list(self.control_shares_followed),
            },
            "signals": {
                "total": sum(self.signals_by_rule.values()),
                "by_rule": dict(sorted(self.signals_by_rule.items())),
            },
            "outcomes": {
                "read": self.outcomes_read,
                "applied": self.outcomes_applied,
                "applied_unverified": self.outcomes_unverified,
                "unmatched": self.outcomes_unmatched,
                "counterfactual_skipped": self.outcomes_counterfactual,
            },
            "profile_updates": {"read": self.profile_updates_read,
                                "applied": self.profile_updates_applied},
            "logged_decisions_read": self.logged_decisions_read,
            "conversions": self.conversions,
            "learning": {"rewards_applied": self.rewards_applied,
                         "learner_updates": self.learner_updates,
                         "pinned_model_version": self.pinned_model_version},
            "dead_letters": {"total": self.dead_lettered, "invalid": invalid,
                             "late": self.late, "by_kind": by_kind},
            "watermark_ms": self.watermark_ms,
            "config": self.config,
        }

    def to_json(self) -> str:
        """Pretty, key-sorted JSON with a final newline (byte-identical for equal metrics)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def to_text(self) -> str:
        """A short summary for the terminal.

        >>> "0 events" in ReplayMetrics().to_text()
        True
        """
        actions = ", ".join(f"{a} {n}" for a, n in self.decisions_by_action.most_common(6))
        rules = ", ".join(f"{r} {n}" for r, n in self.signals_by_rule.most_common()) or "none"
        return "\n".join([
            f"replayed {self.events_replayed} of {self.events_read} events "
            f"({self.visitors} visitors); late {self.late}, duplicates {self.duplicates}, "
            f"dead-lettered {self.dead_lettered}",
            f"decisions {self.decisions} (served {self.decisions_served}, delivered "
            f"{self.decisions_delivered}): {actions or 'none'}",
            f"signals {sum(self.signals_by_rule.values())}: {rules}",
            f"outcomes {self.outcomes_read}: applied {self.outcomes_applied} "
            f"(unverified {self.outcomes_unverified}), unmatched {self.outcomes_unmatched}, "
            f"counterfactual {self.outcomes_counterfactual}; " + (
                f"rewards applied {self.rewards_applied}"
                if self.pinned_model_version is None else
                f"model pinned at version {self.pinned_model_version} (nothing learned)"),
        ])


def _canonical(value: Any) -> Any:
    """A JSON-ready form independent of hash seeds (sets sorted), for digests."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, set | frozenset):
        items = [_canonical(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def config_fingerprint(options: EngineOptions) -> dict[str, Any]:
    """What identifies a configuration in the metrics: catalog and options digests.

    The catalog is identified by its content, not its path, so the same catalog in
    another folder gives the same fingerprint.

    >>> sorted(config_fingerprint(EngineOptions()))
    ['bandit_seed', 'catalog', 'catalog_sha256', 'intent_seed', 'options_sha256']
    """
    catalog = Path(options.catalog_path)
    digest = hashlib.sha256(catalog.read_bytes()).hexdigest() if catalog.is_file() else ""
    neutral = replace(options, catalog_path=Path(catalog.name))
    canonical = json.dumps(_canonical(neutral), sort_keys=True, separators=(",", ":"))
    return {
        "catalog": catalog.name,
        "catalog_sha256": digest,
        "options_sha256": hashlib.sha256(canonical.encode()).hexdigest(),
        "bandit_seed": options.decider.bandit.seed,
        "intent_seed": options.intent.seed,
    }


class Replayer:
    """The offline worker: feed it :class:`~pipeline.replay.sources.SourceRecord` s in order."""

    def __init__(self, engine_options: EngineOptions, sink: _Sink,
                 options: ReplayOptions | None = None, codec: Codec | None = None,
                 model: Model | None = None) -> None:
        self.engine_options = engine_options
        self.options = options or ReplayOptions()
        # A pinned model (a live snapshot) decides throughout and learns nothing, as a
        # worker between two snapshots: its decisions are the live ones.
        self.engine = Engine(engine_options, model=model, learn_inline=model is None)
        self.sink = sink
        self.codec = codec or Codec.default()
        self.rules = MeaningRules(max_future_skew_ms=self.options.max_future_skew_ms)
        # The worker's tables, as bytes like the worker stores them, and its decoded-state
        # cache in front of the visitors table.
        self.visitors: dict[str, bytes] = {}
        self.cache: StateCache[VisitorState] = StateCache(self.options.state_cache_entries)
        self.visitor_views: dict[str, ProfileView] = {}
        self.people: dict[str, bytes] = {}
        # decision id -> (action id, created_at) of replayed and of logged decisions.
        self.replayed: OrderedDict[str, tuple[str, int]] = OrderedDict()
        self.logged: OrderedDict[str, tuple[str, int]] = OrderedDict()
        self.metrics = ReplayMetrics(config=config_fingerprint(engine_options),
                                     pinned_model_version=None if model is None
                                     else model.version)
        self._seen_visitors: set[str] = set()
        self.watermark_ms = 0
        #: When visitors' pending rewards and detector timers fall due (event time), as in
        #: the worker.
        self.deadlines: Deadlines[str] = Deadlines()
        self.timers: Deadlines[str] = Deadlines()

    # -- the stream -----------------------------------------------------------------------

    def feed(self, rec: SourceRecord) -> None:
        """Process one record (never raises for bad input: it is dead-lettered)."""
        m = self.metrics
        if rec.kind == "ClickEvent":
            m.events_read += 1
        elif rec.kind == "Outcome":
            m.outcomes_read += 1
        elif rec.kind == "ProfileUpdate":
            m.profile_updates_read += 1
        elif rec.kind == "DecisionLog":
            m.logged_decisions_read += 1
        own = rec.broker_ms
        if own is None and rec.record is not None:
            own = record_time(rec.kind, rec.record)
        now = max(self.watermark_ms, own or 0)
        if rec.error is not None or rec.record is None:
            self._dead_letter(rec, rec.error or ProcessingError("no record"), now)
            return
        record = rec.record
        try:
            check_meaning(rec.kind, record, now, self.rules)
        except SerdeError as error:
            self._dead_letter(rec, error, now)
            return
        when = record_time(rec.kind, record)
        if rec.kind == "ClickEvent":
            self._event(rec, record, now)
        elif rec.kind == "Outcome":
            self._outcome(rec, record, now)
        elif rec.kind == "ProfileUpdate":
            self._profile(rec, record, now)
        elif rec.kind == "DecisionLog":
            decision = record["decision"]
            self._remember(self.logged, str(decision["decision_id"]),
                           str(decision["action_id"]), int(decision["created_at"]))
            self._follow_control_share(float(record.get("control_share", -1.0)))
        if when is not None and when > self.watermark_ms:
            self.watermark_ms = when
            m.watermark_ms = when
            self._fire_due(rec, when)
            self._expire_due(when)

    def run(self, records: Iterable[SourceRecord],
            progress: Callable[[int], None] | None = None, every: int = 1000) -> ReplayMetrics:
        """Feed every record; ``progress(events_read)`` is called every ``every`` events."""
        for rec in records:
            self.feed(rec)
            if progress is not None and rec.kind == "ClickEvent" \
                    and self.metrics.events_read % every == 0:
                progress(self.metrics.events_read)
        return self.finish()

    def finish(self) -> ReplayMetrics:
        """The final metrics (the learner's update count included)."""
        self.metrics.learner_updates = self.engine.model.version
        self.metrics.visitors = len(self._seen_visitors)
        return self.metrics

    # -- the worker's steps ---------------------------------------------------------------

    def _rewarded(self, count: int) -> None:
        """Count rewards learned (none with a pinned model: they are resolved, not learned)."""
        if self.engine.learn_inline:
            self.metrics.rewards_applied += count

    def _dead_letter(self, rec: SourceRecord, error: SerdeError, now: int) -> None:
        value = rec.raw
        if value is None and rec.record is not None:
            try:
                value = self.codec.encode(rec.kind, rec.record)
            except SerdeError:
                value = json.dumps(rec.record, default=str, sort_keys=True).encode()
        self.metrics.dead_letters[(rec.kind, error.reason)] += 1
        self.sink.dead_letter(dead_letter_for(
            error, value=value, key=rec.key, topic=rec.origin, partition=rec.partition,
            offset=rec.offset, now_ms=now, worker=self.options.worker))

    def _state(self, key: str) -> VisitorState | None:
        state = self.cache.get(key.encode())
        if state is None:
            stored = self.visitors.get(key)
            state = VisitorState.from_bytes(stored) if stored is not None else None
        return state

    def _store(self, key: str, state: VisitorState | None) -> None:
        if state is None:
            self._drop(key)
        else:
            self.cache.put(key.encode(), state)
            self.visitors[key] = state.to_bytes()
            self.deadlines.add(key, state.next_deadline_ms())
            self.timers.add(key, self.engine.timer_due_ms(state))

    def _fire_due(self, rec: SourceRecord, now_ms: int) -> None:
        """The detector timers due at the watermark fire at their due times (the worker's
        tick, on the replayed event time): a dwell on the last page replayed is decided."""
        for key in self.timers.pop_due(now_ms):
            state = self._state(key)
            if state is None:
                continue
            try:
                fired = self.engine.on_timers(state, now_ms, self.visitor_views.get(key))
            except Exception as exc:  # a bug must cost one timer, not the replay (counted:
                # there is no record of its own to dead-letter)
                self.metrics.dead_letters[("timer", ProcessingError(repr(exc)).reason)] += 1
                continue
            if fired:
                self._store(key, state)
            for result in fired:
                self._rewarded(result.rewards_applied)
                self._route(rec, timer_outputs(result, key), now_ms)

    def _expire_due(self, now_ms: int) -> None:
        """The default reward for decisions whose wait passed (the worker's reward timer)."""
        for key in self.deadlines.pop_due(now_ms):
            state = self._state(key)
            if state is not None:
                learning = self.engine.expire(state, now_ms)
                self._rewarded(sum(r["reward"] is not None for r in learning))
                self._store(key, state)

    def _drop(self, key: str) -> None:
        self.cache.forget(key.encode())
        self.visitors.pop(key, None)

    def _follow_control_share(self, share: float) -> None:
        """Decide from now on with the control share the live run recorded (if following)."""
        decider = self.engine.decider
        if (not self.options.follow_logged_control_share or not 0.0 <= share <= 1.0
                or share == decider.options.control_share):
            return
        decider.options = replace(decider.options, control_share=share)
        self.metrics.control_shares_followed.append(share)

    def _remember(self, memory: OrderedDict[str, tuple[str, int]], decision_id: str,
                  action_id: str, created_at: int) -> None:
        memory[decision_id] = (action_id, created_at)
        horizon = self.watermark_ms - self.options.decision_memory_ms
        while memory:
            oldest = next(iter(memory.values()))
            if oldest[1] >= horizon:
                break
            memory.popitem(last=False)

    def _event(self, rec: SourceRecord, event: dict[str, Any], now: int) -> None:
        m = self.metrics
        key = str(event["visitor_id"])
        try:
            result = self.engine.on_event(self._state(key), event, self.visitor_views.get(key))
        except Exception as exc:  # a bug must cost one event, not the replay (as in the worker)
            self._dead_letter(rec, ProcessingError(repr(exc)), now)
            return
        if result.duplicate:
            m.duplicates += 1
        elif result.late_reason is None:
            self._store(key, result.state)
            m.events_replayed += 1
            if result.state is None:
                m.events_opted_out += 1
            self._seen_visitors.add(key)
            t = int(event["event_time"])
            m.first_event_ms = t if m.first_event_ms is None else min(m.first_event_ms, t)
            m.last_event_ms = t if m.last_event_ms is None else max(m.last_event_ms, t)
        self._rewarded(result.rewards_applied)
        self._route(rec, event_outputs(result, event), now)

    def _route(self, rec: SourceRecord, outputs: list[Output], now: int) -> None:
        """Count what an event or a timer produced and hand it to the sink."""
        m = self.metrics
        for out in outputs:
            if out.topic == LATE:
                m.late += 1
                self._dead_letter(rec, LateEvent(str(out.record["reason"])), now)
            elif out.topic == SIGNALS:
                m.signals_by_rule[str(out.record["rule"])] += 1
                self.sink.signal(out.key, out.record)
            elif out.topic == ACTIONS:
                m.decisions_delivered += 1
            elif out.topic == DECISIONS_LOG:
                decision = out.record["decision"]
                m.decisions += 1
                m.decisions_by_action[str(decision["action_id"])] += 1
                m.decisions_by_arm[str(decision["experiment_arm"])] += 1
                m.decisions_served += bool(out.record["served"])
                self._remember(self.replayed, str(decision["decision_id"]),
                               str(decision["action_id"]), int(decision["created_at"]))
                self.sink.decision_log(out.key, out.record)
            elif out.topic == CONVERSIONS:
                m.conversions += 1
                self._conversion(out.key, dict(out.record))

    def _outcome(self, rec: SourceRecord, outcome: dict[str, Any], now: int) -> None:
        m = self.metrics
        decision_id = str(outcome["decision_id"])
        replayed = self.replayed.get(decision_id)
        if replayed is None:
            m.outcomes_unmatched += 1
            return
        logged = self.logged.get(decision_id)
        if logged is not None and logged[0] != replayed[0]:
            m.outcomes_counterfactual += 1
            return
        key = str(outcome["visitor_id"])
        try:
            result = self.engine.on_outcome(self._state(key), outcome,
                                            self.visitor_views.get(key))
        except Exception as exc:
            self._dead_letter(rec, ProcessingError(repr(exc)), now)
            return
        if result.state is not None:
            self._store(key, result.state)
        m.outcomes_applied += 1
        m.outcomes_unverified += logged is None
        self._rewarded(result.rewards_applied)
        for fired in result.timers:  # due before the outcome: fired first
            self._route(rec, timer_outputs(fired, key), now)

    def _profile(self, rec: SourceRecord, update: dict[str, Any], now: int) -> None:
        if update.get("kind") == "claim":
            return  # a claim index entry: only an erasure reads it (erasures are marks here)
        opts = self.engine_options.profiles
        try:
            key = profile_key(update)
            stored = self.people.get(key)
            state = ProfileState.from_bytes(stored) if stored is not None else None
            anon_key = str(update["visitor_id"])
            anon_bytes = self.people.get(anon_key) if anon_key != key else None
            anonymous = ProfileState.from_bytes(anon_bytes) if anon_bytes else None
            effect = apply_profile_update(state, update, opts, anonymous=anonymous)
        except Exception as exc:
            self._dead_letter(rec, ProcessingError(repr(exc)), now)
            return
        self.metrics.profile_updates_applied += 1
        if effect.state is None:
            self.people.pop(key, None)
        else:
            self.people[key] = effect.state.to_bytes()
        for gone in (*effect.absorbed_keys, *effect.erase_keys):
            self.people.pop(gone, None)
        for message in messages_for_effect(effect, opts):
            self._visitor_message(message)

    def _conversion(self, person: str, purchase: dict[str, Any]) -> None:
        opts = self.engine_options.profiles
        stored = self.people.get(person)
        state = ProfileState.from_bytes(stored) if stored is not None else None
        try:
            new = apply_conversion(state, purchase, opts)
        except ValueError:
            return  # as the worker: a purchase it cannot count is skipped
        if new is not None and new is not state:
            self.people[person] = new.to_bytes()
            for message in views_for(new, opts):
                self._visitor_message(message)

    def _visitor_message(self, message: VisitorMessage) -> None:
        key = message.visitor_id
        if message.erase or message.view is None:
            self._drop(key)
            self.visitor_views.pop(key, None)
        else:
            self.visitor_views[key] = message.view
            if not message.view.personalization_allowed:
                self._drop(key)  # opted out: keep no behaviour at all


def replay(records: Iterable[SourceRecord], engine_options: EngineOptions, sink: _Sink,
           options: ReplayOptions | None = None,
           progress: Callable[[int], None] | None = None) -> ReplayMetrics:
    """Replay ``records`` (already merged) through a fresh engine into ``sink``.

    >>> from pipeline.client import click_event
    >>> from pipeline.replay.sources import SourceRecord
    >>> class Count:
    ...     n = 0
    ...     def decision_log(self, key, record): self.n += 1
    ...     def signal(self, key, record): pass
    ...     def dead_letter(self, record): pass
    >>> events = [click_event("v", "page_view", 1_800_000_000_000 + i * 1000) for i in range(3)]
    >>> metrics = replay([SourceRecord("ClickEvent", "f", -1, i, e["event_time"], e)
    ...                   for i, e in enumerate(events)], EngineOptions(), Count())
    >>> metrics.events_replayed, metrics.decisions
    (3, 3)
    """
    return Replayer(engine_options, sink, options).run(records, progress)
