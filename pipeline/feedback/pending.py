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
import heapq
import itertools
import json
import math
import operator
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from pipeline.feedback.errors import PendingRewardsError, RewardInputError, UnknownOutcomeKind
from pipeline.feedback.options import OUTCOME_KINDS, RewardOptions
from pipeline.feedback.rows import (
    FORMAT,
    KIND_BITS,
    PendingDecision,
    decode_rows,
    encode_rows,
)
from pipeline.feedback.update import RewardUpdate
from pipeline.frozen import maker

__all__ = ["PendingDecision", "PendingRewards"]


def _decode_vector(text: str) -> tuple[float, ...]:
    raw = base64.b64decode(text, validate=True)
    if len(raw) % 8:
        raise ValueError("context vector bytes are not a multiple of 8")
    return tuple(float(v) for v in np.frombuffer(raw, dtype="<f8"))


# Written: format 5 (pipeline/feedback/rows.py: a row per decision, packed once per
# entry). Read too: format 4 (binary, columns; format 3 stored every context float, format
# 2 lacked the closed ids, format 1 was JSON). Format 4, all little-endian:
#   header: magic, format, n decisions, z stored context values in all, k closed ids
#   n int64 decided_at_ms | n float64 propensity | n float64 revenue | z float64 context
#   values | n uint32 context lengths | n uint16 stored values per context | z uint16
#   positions of the stored values | 3n + k uint32 string lengths (decision ids, visitor
#   ids, action ids, then closed ids; in code points) | n uint8 flags | the strings' UTF-8
# A context stores only its values other than +0.0 (one-hot features: ~14 of 61 are not),
# bit for bit. Flags: bit i is _KIND_BITS[i] (append-only: the bits are the format), bit 7
# observed.
_MAGIC = b"rtpR"
_FORMAT = 4  # read only
_MAX_CONTEXT = 0xFFFF  # positions are uint16
_DENSE_FORMAT = 3
_HEADER = struct.Struct("<4sBxxxIII")
_HEADER_2 = struct.Struct("<4sBxxxII")
_KIND_BITS = KIND_BITS
_KIND_MASK = (1 << len(_KIND_BITS)) - 1
_OBSERVED = 0x80
_UNKNOWN_BITS = 0xFF & ~(_KIND_MASK | _OBSERVED)
_KINDS_OF_MASK = tuple(
    frozenset(k for i, k in enumerate(_KIND_BITS) if mask >> i & 1)
    for mask in range(_KIND_MASK + 1)
)
def _dense_contexts(values: list[float], lengths: list[int], counts: list[int],
                    positions: list[int]) -> list[tuple[float, ...]]:
    out = []
    start = 0
    for length, count in zip(lengths, counts, strict=True):
        if length > _MAX_CONTEXT:
            raise ValueError(f"a context of {length} values is longer than {_MAX_CONTEXT}")
        dense = [0.0] * length
        for j in range(start, start + count):
            position = positions[j]
            if position >= length:
                raise ValueError(f"context position {position} is past its length {length}")
            dense[position] = values[j]
        out.append(tuple(dense))
        start += count
    return out


def _unpack_vectors(data: bytes, lengths: Iterable[int]) -> list[tuple[float, ...]]:
    packers: dict[int, struct.Struct] = {}
    out = []
    offset = 0
    for length in lengths:
        packer = packers.get(length)
        if packer is None:
            packer = packers[length] = struct.Struct(f"<{length}d")
        out.append(packer.unpack_from(data, offset))
        offset += packer.size
    return out


class PendingRewards:
    """Pending decisions keyed by decision id, bounded (``max_pending``) with a TTL (the wait).

    A heap by decision time makes registering, evicting and expiring O(log n) in the
    number pending (the set is full at ``max_pending / reward wait`` decisions a second,
    17/s by default); :meth:`for_visitor` and :meth:`discard_visitor` scan.

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
        #: Closed decision ids, oldest first (``closed_memory`` of them): not awaited again.
        self._closed: dict[str, None] = {}
        #: Every pending decision once as (decided_at_ms, registration number, decision id),
        #: a heap: its first is the oldest, ties going to the first registered (the order
        #: of ``_pending``). Eviction and expiry pop it; discard_visitor rebuilds it.
        self._heap: list[tuple[int, int, str]] = []
        self._registered = 0
        #: The bytes :meth:`to_bytes` wrote last, with the decisions and closed ids they hold.
        self._encoded: tuple[tuple[PendingDecision, ...], tuple[int, str | None], bytes] | None \
            = None

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

    def decision_ids(self) -> list[str]:
        """The pending decision ids, in registration order (the order :meth:`to_bytes` keeps).

        >>> pending = PendingRewards()
        >>> _ = pending.register({"decision_id": "a", "visitor_id": "v", "action_id": "x",
        ...                       "propensity": 1.0, "created_at": 0}, (1.0,))
        >>> pending.decision_ids()
        ['a']
        """
        return list(self._pending)

    def closed_ids(self) -> list[str]:
        """The closed decision ids remembered (not awaited again), oldest first.

        >>> PendingRewards().closed_ids()
        []
        """
        return list(self._closed)

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

        Registering the same decision id again is a no-op (replays are idempotent), also
        once it closed (among the last ``closed_memory`` closed). Returns default-reward
        updates for decisions evicted to stay within ``max_pending``.

        >>> pending = PendingRewards()
        >>> d = {"decision_id": "d", "visitor_id": "v", "action_id": "a", "propensity": 1.0,
        ...      "created_at": 0}
        >>> pending.register(d, (1.0,)), pending.register(d, (1.0,)), len(pending)
        ([], [], 1)
        >>> len(pending.expire(600_000)), pending.register(d, (1.0,)), len(pending)
        (1, [], 0)
        """
        decision_id = str(decision["decision_id"])
        if decision_id in self._pending or decision_id in self._closed:
            return []
        vector = tuple(map(float, context))
        # A finite sum needs every value finite (an inf or NaN makes it inf or NaN); a sum
        # that is not may come from finite values (an overflow): those are looked at then.
        if not math.isfinite(sum(vector)) and not all(map(math.isfinite, vector)):
            raise RewardInputError(f"decision {decision_id}: context vector has non-finite values")
        # PendingDecision(decision_id, visitor_id, action_id, context, decided_at_ms,
        # propensity), every field given (:mod:`pipeline.frozen`: one per decision).
        entry = _new_pending(decision_id, str(decision["visitor_id"]),
                             str(decision["action_id"]), vector, int(decision["created_at"]),
                             float(decision["propensity"]), _NO_KINDS, 0.0, False)
        self._pending[decision_id] = entry
        heapq.heappush(self._heap, (entry.decided_at_ms, self._registered, decision_id))
        self._registered += 1
        evicted: list[RewardUpdate] = []
        while len(self._pending) > self.options.max_pending:
            oldest = self._pending[heapq.heappop(self._heap)[2]]
            self._close(oldest.decision_id)
            if not oldest.observed:
                evicted.append(self._default_update(oldest, "evicted", entry.decided_at_ms))
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
        updated = _new_pending(  # as dataclasses.replace, without its field walk nor __init__
            entry.decision_id, entry.visitor_id, entry.action_id, entry.context,
            entry.decided_at_ms, entry.propensity, entry.kinds | {kind}, revenue, True)
        self._pending[entry.decision_id] = updated
        total = self.options.reward_for(updated.kinds, updated.revenue)
        if entry.observed:
            delta = total - self.options.reward_for(entry.kinds, entry.revenue)
            if delta == 0.0:
                return None
        else:
            delta = total
        # RewardUpdate(decision_id, action_id, context, reward, total_reward,
        # new_observation, reason, propensity, event_time_ms)
        return _new_update(entry.decision_id, entry.action_id, entry.context, delta, total,
                           not entry.observed, kind, entry.propensity, event_time)

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
        wait = self.options.reward_wait_ms
        heap = self._heap
        if not heap or now_ms < heap[0][0] + wait:
            return []
        due: list[PendingDecision] = []
        while heap and heap[0][0] + wait <= now_ms:
            due.append(self._pending[heapq.heappop(heap)[2]])
        due.sort(key=lambda e: (e.decided_at_ms, e.decision_id))  # ties: by id, not as evicted
        updates: list[RewardUpdate] = []
        for entry in due:
            self._close(entry.decision_id)
            if not entry.observed:
                updates.append(self._default_update(entry, "expired", entry.deadline_ms(wait)))
        return updates

    def next_deadline_ms(self) -> int | None:
        """When :meth:`expire` next has something to close (None: nothing pending).

        >>> pending = PendingRewards()
        >>> _ = pending.register({"decision_id": "d", "visitor_id": "v", "action_id": "a",
        ...                       "propensity": 1.0, "created_at": 5}, (1.0,))
        >>> pending.next_deadline_ms()
        600005
        """
        return self._heap[0][0] + self.options.reward_wait_ms if self._heap else None

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
            self._close(decision_id)
        if doomed:
            self._heap = [item for item in self._heap if item[2] in self._pending]
            heapq.heapify(self._heap)
        return len(doomed)

    def _close(self, decision_id: str) -> None:
        del self._pending[decision_id]
        closed = self._closed
        closed[decision_id] = None
        while len(closed) > self.options.closed_memory:
            del closed[next(iter(closed))]

    def to_bytes(self) -> bytes:
        """Compact binary (format 5, :mod:`pipeline.feedback.rows`): a row per decision.

        Exact: every float comes back bit for bit.

        >>> pending = PendingRewards()
        >>> _ = pending.register({"decision_id": "d", "visitor_id": "v", "action_id": "a",
        ...                       "propensity": 0.25, "created_at": 7}, (0.1, 0.2))
        >>> PendingRewards.from_bytes(pending.to_bytes()).get("d") == pending.get("d")
        True
        """
        # Kept: every commit writes every changed visitor's state, and a visitor's pending
        # decisions often did not change since the last. They are immutable (an outcome
        # replaces one) and closed ids only accumulate at the end, so the same decision
        # objects and the same newest closed id and count mean the same bytes.
        entries = tuple(self._pending.values())
        closed = self._closed
        key = (len(closed), next(reversed(closed), None))
        done = self._encoded
        if (done is not None and done[1] == key and len(done[0]) == len(entries)
                and all(map(operator.is_, done[0], entries))):
            return done[2]
        data = encode_rows(entries, list(closed))
        self._encoded = (entries, key, data)
        return data

    @classmethod
    def from_bytes(cls, data: bytes, options: RewardOptions | None = None) -> PendingRewards:
        """Inverse of :meth:`to_bytes` (format 5; formats 4, 3, 2 and 1, JSON, are read too).

        Raises :class:`PendingRewardsError` on bad input.

        >>> try:
        ...     PendingRewards.from_bytes(b"not json")
        ... except PendingRewardsError as error:
        ...     print(str(error).split(":")[0])
        cannot decode pending rewards
        """
        pending = cls(options)
        try:
            if data[:len(_MAGIC) + 1] == _MAGIC + bytes((FORMAT,)):
                entries, closed = decode_rows(data)
            elif data[:len(_MAGIC)] == _MAGIC:
                entries, closed = _decode_binary(data)
            else:
                entries, closed = _decode_json(data), []
        except PendingRewardsError:
            raise
        except (ValueError, KeyError, TypeError, IndexError, OverflowError, struct.error) as error:
            raise PendingRewardsError(f"cannot decode pending rewards: {error}") from error
        for entry in entries:
            pending._pending[entry.decision_id] = entry
        pending._closed = dict.fromkeys(closed[-pending.options.closed_memory:]
                                        if pending.options.closed_memory else ())
        if len(pending._pending) != len(entries):
            raise PendingRewardsError("cannot decode pending rewards: duplicate decision ids")
        pending._heap = [(e.decided_at_ms, i, e.decision_id)
                         for i, e in enumerate(pending._pending.values())]
        heapq.heapify(pending._heap)
        pending._registered = len(pending._heap)
        return pending


def _decode_binary(data: bytes) -> tuple[list[PendingDecision], list[str]]:
    if len(data) < _HEADER_2.size:
        raise ValueError(f"{len(data)} bytes is shorter than the header")
    version = data[len(_MAGIC)]
    if version == 2:
        header, (_, _, count, floats), closed_count = _HEADER_2, _HEADER_2.unpack_from(data), 0
    elif version in (_DENSE_FORMAT, _FORMAT) and len(data) >= _HEADER.size:
        header = _HEADER
        _, _, count, floats, closed_count = _HEADER.unpack_from(data)
    else:
        raise PendingRewardsError(f"unsupported pending rewards format {version}")
    sparse = version == _FORMAT
    sizes = (8 * count, 8 * count, 8 * count, 8 * floats, 4 * count,
             *((2 * count, 2 * floats) if sparse else ()),
             4 * (3 * count + closed_count), count)
    if len(data) < header.size + sum(sizes):
        raise ValueError(f"{len(data)} bytes is too short for {count} decisions")
    columns, offset = [], header.size
    for size in sizes:
        columns.append(data[offset:offset + size])
        offset += size
    times = np.frombuffer(columns[0], dtype="<i8").tolist()
    propensities = np.frombuffer(columns[1], dtype="<f8").tolist()
    revenue_array = np.frombuffer(columns[2], dtype="<f8")
    values = np.frombuffer(columns[3], dtype="<f8")
    if not (np.isfinite(values).all() and np.isfinite(revenue_array).all()):
        raise ValueError("non-finite context or revenue values")
    context_lengths = np.frombuffer(columns[4], dtype="<u4").tolist()
    string_lengths = np.frombuffer(columns[-2], dtype="<u4").tolist()
    flags = columns[-1]
    if (np.frombuffer(flags, dtype=np.uint8) & _UNKNOWN_BITS).any():
        raise ValueError("unknown outcome kind bits")
    if sparse:
        counts = np.frombuffer(columns[5], dtype="<u2").tolist()
        too_many = any(c > n for c, n in zip(counts, context_lengths, strict=True))
        if sum(counts) != floats or too_many:
            raise ValueError("context value counts do not add up to the stored values")
        contexts = _dense_contexts(values.tolist(), context_lengths, counts,
                                   np.frombuffer(columns[6], dtype="<u2").tolist())
    elif sum(context_lengths) != floats:
        raise ValueError("context lengths do not add up to the stored floats")
    else:
        contexts = _unpack_vectors(columns[3], context_lengths)
    text = data[offset:].decode("utf-8", "surrogatepass")
    if sum(string_lengths) != len(text):
        raise ValueError("string lengths do not add up to the stored text")
    bounds = list(itertools.accumulate(string_lengths, initial=0))
    strings = [text[a:b] for a, b in itertools.pairwise(bounds)]
    decisions = [
        PendingDecision(
            decision_id=strings[i],
            visitor_id=strings[count + i],
            action_id=strings[2 * count + i],
            context=contexts[i],
            decided_at_ms=times[i],
            propensity=propensities[i],
            kinds=_KINDS_OF_MASK[flags[i] & _KIND_MASK],
            revenue=revenue,
            observed=bool(flags[i] & _OBSERVED),
        )
        for i, revenue in enumerate(revenue_array.tolist())
    ]
    return decisions, strings[3 * count:]


def _decode_json(data: bytes) -> list[PendingDecision]:
    body = json.loads(data)
    if not isinstance(body, dict) or body.get("v") != 1:
        raise PendingRewardsError("unsupported pending rewards format")
    entries = []
    for row in body["pending"]:
        decision_id, visitor, action, vector, at_ms, propensity, kinds, revenue, seen = row
        unknown = set(kinds) - set(OUTCOME_KINDS)
        if unknown:
            raise ValueError(f"unknown outcome kinds {sorted(unknown)}")
        entries.append(PendingDecision(
            decision_id=str(decision_id),
            visitor_id=str(visitor),
            action_id=str(action),
            context=_decode_vector(str(vector)),
            decided_at_ms=int(at_ms),
            propensity=float(propensity),
            kinds=frozenset(str(k) for k in kinds),
            revenue=float(revenue),
            observed=bool(seen),
        ))
    return entries


#: Positional constructors (every field, in order: :mod:`pipeline.frozen`), for the hot path.
_new_pending = maker(PendingDecision)
_new_update = maker(RewardUpdate)
#: The default of ``PendingDecision.kinds``.
_NO_KINDS: frozenset[str] = frozenset()
