"""Decisions awaiting their outcomes, joined to rewards the moment an outcome arrives.

Register every *served* decision (personalized arm, ``no_action`` included; never control
decisions, which were not shown) with its context vector; feed Outcome records; call
:meth:`PendingRewards.expire` with the event-time clock. Each call returns the
:class:`RewardUpdate` s to apply to the bandit right away.

>>> pending = PendingRewards()
>>> decision = {"decision_id": "d1", "visitor_id": "v1", "action_id": "comparison_guide",
...             "propensity": 0.8, "created_at": 1_000}
>>> pending.register(decision, context=(1.0, 0.25))
[]
>>> update = pending.on_outcome({"decision_id": "d1", "kind": "clicked", "value": 0.0,
...                              "event_time": 5_000})
>>> update.reward, update.new_observation
(1.0, True)
>>> pending.expire(now_ms=1_000 + 600_000)  # observed already: closes silently
[]
>>> len(pending)
0
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from pipeline.feedback.errors import PendingRewardsError, RewardInputError, UnknownOutcomeKind
from pipeline.feedback.options import OUTCOME_KINDS, RewardOptions
from pipeline.feedback.update import RewardUpdate

__all__ = ["PendingDecision", "PendingRewards"]


@dataclass(frozen=True)
class PendingDecision:
    """One decision awaiting outcomes.

    >>> PendingDecision("d", "v", "a", (1.0,), 0, 0.5).deadline_ms(600_000)
    600000
    """

    decision_id: str
    visitor_id: str
    action_id: str
    context: tuple[float, ...]
    decided_at_ms: int
    propensity: float
    kinds: frozenset[str] = frozenset()
    revenue: float = 0.0
    observed: bool = False

    def deadline_ms(self, reward_wait_ms: int) -> int:
        """Event time after which outcomes are ignored and the default reward applies.

        >>> PendingDecision("d", "v", "a", (), 10, 1.0).deadline_ms(5)
        15
        """
        return self.decided_at_ms + reward_wait_ms


def _encode_vector(vector: tuple[float, ...]) -> str:
    return base64.b64encode(np.asarray(vector, dtype="<f8").tobytes()).decode()


def _decode_vector(text: str) -> tuple[float, ...]:
    raw = base64.b64decode(text, validate=True)
    if len(raw) % 8:
        raise ValueError("context vector bytes are not a multiple of 8")
    return tuple(float(v) for v in np.frombuffer(raw, dtype="<f8"))


class PendingRewards:
    """Pending decisions keyed by decision id, bounded (``max_pending``) with a TTL (the wait).

    >>> pending = PendingRewards(RewardOptions(max_pending=1))
    >>> pending.register({"decision_id": "a", "visitor_id": "v", "action_id": "x",
    ...                   "propensity": 1.0, "created_at": 0}, (1.0,))
    []
    >>> [u.reason for u in pending.register({"decision_id": "b", "visitor_id": "v",
    ...     "action_id": "x", "propensity": 1.0, "created_at": 1}, (1.0,))]
    ['evicted']
    """

    def __init__(self, options: RewardOptions | None = None) -> None:
        self.options = options or RewardOptions()
        self._pending: dict[str, PendingDecision] = {}
        self._next_deadline: int | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, decision_id: object) -> bool:
        return decision_id in self._pending

    def get(self, decision_id: str) -> PendingDecision | None:
        """The pending decision, or None.

        >>> PendingRewards().get("nope") is None
        True
        """
        return self._pending.get(decision_id)

    def for_visitor(self, visitor_id: str) -> list[str]:
        """Decision ids still awaiting outcomes for ``visitor_id`` (to attribute a conversion).

        >>> pending = PendingRewards()
        >>> _ = pending.register({"decision_id": "a", "visitor_id": "v", "action_id": "x",
        ...                       "propensity": 1.0, "created_at": 0}, (1.0,))
        >>> pending.for_visitor("v"), pending.for_visitor("w")
        (['a'], [])
        """
        return [d.decision_id for d in self._pending.values() if d.visitor_id == visitor_id]

    def _default_update(self, entry: PendingDecision, reason: str, at_ms: int) -> RewardUpdate:
        reward = self.options.default_reward
        return RewardUpdate(
            decision_id=entry.decision_id,
            action_id=entry.action_id,
            context=entry.context,
            reward=reward,
            total_reward=reward,
            new_observation=True,
            reason=reason,
            propensity=entry.propensity,
            event_time_ms=at_ms,
        )

    def register(self, decision: Mapping[str, Any], context: Sequence[float]) -> list[RewardUpdate]:
        """Await outcomes for a Decision record; ``context`` is its bandit vector.

        Registering the same decision id again is a no-op (replays are idempotent). Returns
        default-reward updates for decisions evicted to stay within ``max_pending``.

        >>> pending = PendingRewards()
        >>> d = {"decision_id": "d", "visitor_id": "v", "action_id": "a", "propensity": 1.0,
        ...      "created_at": 0}
        >>> pending.register(d, (1.0,)), pending.register(d, (1.0,)), len(pending)
        ([], [], 1)
        """
        decision_id = str(decision["decision_id"])
        if decision_id in self._pending:
            return []
        vector = tuple(float(v) for v in context)
        if not all(math.isfinite(v) for v in vector):
            raise RewardInputError(f"decision {decision_id}: context vector has non-finite values")
        entry = PendingDecision(
            decision_id=decision_id,
            visitor_id=str(decision["visitor_id"]),
            action_id=str(decision["action_id"]),
            context=vector,
            decided_at_ms=int(decision["created_at"]),
            propensity=float(decision["propensity"]),
        )
        self._pending[decision_id] = entry
        deadline = entry.deadline_ms(self.options.reward_wait_ms)
        if self._next_deadline is None or deadline < self._next_deadline:
            self._next_deadline = deadline
        evicted: list[RewardUpdate] = []
        while len(self._pending) > self.options.max_pending:
            oldest = min(self._pending.values(), key=lambda e: e.decided_at_ms)
            del self._pending[oldest.decision_id]
            if not oldest.observed:
                evicted.append(self._default_update(oldest, "evicted", entry.decided_at_ms))
        if evicted:
            self._recompute_deadline()
        return evicted

    def on_outcome(self, outcome: Mapping[str, Any]) -> RewardUpdate | None:
        """Join an Outcome record; the update to apply now, or None.

        None when the decision is unknown (not registered, already closed), the outcome is
        past the reward wait, the kind was already counted, or the reward did not change.

        >>> pending = PendingRewards()
        >>> _ = pending.register({"decision_id": "d", "visitor_id": "v", "action_id": "a",
        ...                       "propensity": 0.5, "created_at": 0}, (1.0,))
        >>> pending.on_outcome({"decision_id": "d", "kind": "shown", "event_time": 1}).reward
        0.0
        >>> update = pending.on_outcome({"decision_id": "d", "kind": "dismissed",
        ...                              "event_time": 2})
        >>> update.reward, update.total_reward, update.new_observation
        (-0.5, -0.5, False)
        >>> pending.on_outcome({"decision_id": "d", "kind": "dismissed", "event_time": 3}) is None
        True
        """
        entry = self._pending.get(str(outcome["decision_id"]))
        if entry is None:
            return None
        kind = str(outcome["kind"])
        if kind not in OUTCOME_KINDS:
            raise UnknownOutcomeKind(
                f"unknown outcome kind {kind!r} (known: {', '.join(OUTCOME_KINDS)})"
            )
        event_time = int(outcome["event_time"])
        if event_time > entry.deadline_ms(self.options.reward_wait_ms) or kind in entry.kinds:
            return None
        revenue = float(outcome.get("value", 0.0) or 0.0) if kind == "converted" else entry.revenue
        if not math.isfinite(revenue):
            revenue = entry.revenue
        updated = replace(entry, kinds=entry.kinds | {kind}, revenue=revenue, observed=True)
        self._pending[entry.decision_id] = updated
        total = self.options.reward_for(updated.kinds, updated.revenue)
        if entry.observed:
            delta = total - self.options.reward_for(entry.kinds, entry.revenue)
            if delta == 0.0:
                return None
        else:
            delta = total
        return RewardUpdate(
            decision_id=entry.decision_id,
            action_id=entry.action_id,
            context=entry.context,
            reward=delta,
            total_reward=total,
            new_observation=not entry.observed,
            reason=kind,
            propensity=entry.propensity,
            event_time_ms=event_time,
        )

    def expire(self, now_ms: int) -> list[RewardUpdate]:
        """Close decisions whose reward wait has passed at event time ``now_ms``.

        Decisions that got no outcome get the default reward (``reason="expired"``);
        the others just close. Cheap when nothing is due.

        >>> pending = PendingRewards()
        >>> _ = pending.register({"decision_id": "d", "visitor_id": "v", "action_id": "a",
        ...                       "propensity": 1.0, "created_at": 0}, (1.0,))
        >>> pending.expire(599_999)
        []
        >>> [(u.reason, u.reward) for u in pending.expire(600_000)]
        [('expired', 0.0)]
        """
        if self._next_deadline is None or now_ms < self._next_deadline:
            return []
        wait = self.options.reward_wait_ms
        due = sorted(
            (e for e in self._pending.values() if e.deadline_ms(wait) <= now_ms),
            key=lambda e: (e.decided_at_ms, e.decision_id),
        )
        updates: list[RewardUpdate] = []
        for entry in due:
            del self._pending[entry.decision_id]
            if not entry.observed:
                updates.append(self._default_update(entry, "expired", entry.deadline_ms(wait)))
        self._recompute_deadline()
        return updates

    def discard_visitor(self, visitor_id: str) -> int:
        """Forget a visitor's pending decisions without learning (erasure); how many.

        >>> pending = PendingRewards()
        >>> _ = pending.register({"decision_id": "d", "visitor_id": "v", "action_id": "a",
        ...                       "propensity": 1.0, "created_at": 0}, (1.0,))
        >>> pending.discard_visitor("v"), len(pending)
        (1, 0)
        """
        doomed = [d for d, e in self._pending.items() if e.visitor_id == visitor_id]
        for decision_id in doomed:
            del self._pending[decision_id]
        self._recompute_deadline()
        return len(doomed)

    def _recompute_deadline(self) -> None:
        wait = self.options.reward_wait_ms
        self._next_deadline = min(
            (e.deadline_ms(wait) for e in self._pending.values()), default=None
        )

    def to_bytes(self) -> bytes:
        """Compact JSON (context vectors as base64 float64: exact).

        >>> pending = PendingRewards()
        >>> _ = pending.register({"decision_id": "d", "visitor_id": "v", "action_id": "a",
        ...                       "propensity": 0.25, "created_at": 7}, (0.1, 0.2))
        >>> PendingRewards.from_bytes(pending.to_bytes()).get("d") == pending.get("d")
        True
        """
        body = {
            "v": 1,
            "pending": [
                [
                    e.decision_id,
                    e.visitor_id,
                    e.action_id,
                    _encode_vector(e.context),
                    e.decided_at_ms,
                    e.propensity,
                    sorted(e.kinds),
                    e.revenue,
                    e.observed,
                ]
                for e in self._pending.values()
            ],
        }
        return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()

    @classmethod
    def from_bytes(cls, data: bytes, options: RewardOptions | None = None) -> PendingRewards:
        """Inverse of :meth:`to_bytes`; raises :class:`PendingRewardsError` on bad input.

        >>> try:
        ...     PendingRewards.from_bytes(b"not json")
        ... except PendingRewardsError as error:
        ...     print(str(error).split(":")[0])
        cannot decode pending rewards
        """
        pending = cls(options)
        try:
            body = json.loads(data)
            if not isinstance(body, dict) or body.get("v") != 1:
                raise PendingRewardsError("unsupported pending rewards format")
            for row in body["pending"]:
                decision_id, visitor, action, vector, at_ms, propensity, kinds, revenue, seen = row
                unknown = set(kinds) - set(OUTCOME_KINDS)
                if unknown:
                    raise ValueError(f"unknown outcome kinds {sorted(unknown)}")
                pending._pending[str(decision_id)] = PendingDecision(
                    decision_id=str(decision_id),
                    visitor_id=str(visitor),
                    action_id=str(action),
                    context=_decode_vector(str(vector)),
                    decided_at_ms=int(at_ms),
                    propensity=float(propensity),
                    kinds=frozenset(str(k) for k in kinds),
                    revenue=float(revenue),
                    observed=bool(seen),
                )
        except PendingRewardsError:
            raise
        except (ValueError, KeyError, TypeError) as error:
            raise PendingRewardsError(f"cannot decode pending rewards: {error}") from error
        pending._recompute_deadline()
        return pending
