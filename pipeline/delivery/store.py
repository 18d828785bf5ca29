"""Per visitor and slot, the latest unexpired decision: bounded, in memory, pure.

A decision is held under ``(visitor_id, slot)`` until ``created_at + ttl_ms``.
A newer decision for the same slot replaces it; an older one arriving late is
ignored (``superseded``). Decision ids already seen are ignored (``duplicate``),
so a replayed decision is served once. Decisions of the control arm and of slot
``none`` (the explicit "no action") are never served. Memory is bounded three
ways: visitors (least recently used evicted), slots per visitor, and the number
of remembered decision ids.

>>> store = DecisionStore(max_visitors=2)
>>> d = {"decision_id": "d1", "visitor_id": "v1", "slot": "hero", "created_at": 1_000,
...      "ttl_ms": 500, "experiment_arm": "personalized"}
>>> store.offer(d, now_ms=1_100), store.offer(d, now_ms=1_100)
(<Offered.STORED: 'stored'>, <Offered.DUPLICATE: 'duplicate'>)
>>> list(store.current("v1", now_ms=1_200)), store.current("v1", now_ms=1_500)
(['hero'], {})
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["NOT_SERVED_CHANNELS", "NOT_SERVED_SLOTS", "DecisionStore", "Offered", "StoreStats",
           "expires_at"]

#: Slots whose decisions are logged but never shown.
NOT_SERVED_SLOTS: frozenset[str] = frozenset({"none"})
#: Channels delivery never serves (``rtp channel email|sms`` sends those).
NOT_SERVED_CHANNELS: frozenset[str] = frozenset({"email", "sms"})

Decision = Mapping[str, Any]


class Offered(StrEnum):
    """What :meth:`DecisionStore.offer` did with a decision.

    >>> Offered.DUPLICATE == "duplicate"
    True
    """

    STORED = "stored"
    DUPLICATE = "duplicate"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"
    NOT_SERVED = "not_served"


def expires_at(decision: Decision) -> int:
    """When ``decision`` stops being served, epoch ms.

    >>> expires_at({"created_at": 1_000, "ttl_ms": 250})
    1250
    """
    return int(decision["created_at"]) + int(decision["ttl_ms"])


@dataclass
class StoreStats:
    """Counts since the store was created.

    >>> StoreStats().stored
    0
    """

    stored: int = 0
    duplicates: int = 0
    expired: int = 0
    superseded: int = 0
    not_served: int = 0
    evicted_visitors: int = 0
    purged: int = 0
    #: Decisions dropped because their visitor was erased or withdrew consent.
    forgotten: int = 0


class DecisionStore:
    """The decisions delivery serves (see the module docstring).

    Parameters
    ----------
    max_visitors
        Visitors held; beyond it the least recently updated or read visitor is evicted.
    max_slots_per_visitor
        Slots held per visitor; a new slot beyond it replaces the one expiring first.
    remembered_ids
        Decision ids remembered for de-duplication (oldest forgotten first).

    >>> store = DecisionStore(max_visitors=1)
    >>> for v in ("a", "b"):
    ...     _ = store.offer({"decision_id": v, "visitor_id": v, "slot": "hero",
    ...                      "created_at": 0, "ttl_ms": 10, "experiment_arm": "personalized"}, 0)
    >>> store.visitors, store.current("a", 0), store.stats.evicted_visitors
    (1, {}, 1)
    """

    def __init__(self, max_visitors: int = 100_000, max_slots_per_visitor: int = 8,
                 remembered_ids: int = 200_000) -> None:
        if min(max_visitors, max_slots_per_visitor, remembered_ids) < 1:
            raise ValueError("DecisionStore limits must be at least 1")
        self.max_visitors = max_visitors
        self.max_slots_per_visitor = max_slots_per_visitor
        self.remembered_ids = remembered_ids
        self.stats = StoreStats()
        self._visitors: OrderedDict[str, dict[str, Decision]] = OrderedDict()
        # decision id -> the visitor it was served to (None: seen but never served)
        self._seen: OrderedDict[str, str | None] = OrderedDict()
        self._expiry: list[tuple[int, int, str, str, str]] = []
        self._sequence = 0
        self._held = 0

    def __len__(self) -> int:
        """Decisions held (not yet purged; some may have expired since)."""
        return self._held

    @property
    def visitors(self) -> int:
        """Visitors with at least one decision held."""
        return len(self._visitors)

    def seen(self, decision_id: str) -> bool:
        """Whether ``decision_id`` was offered before (and is still remembered)."""
        return decision_id in self._seen

    def owner(self, decision_id: str) -> str | None:
        """The visitor ``decision_id`` was held for (and may have been served to), or None
        (unknown, forgotten, or a decision never served such as the control arm's).

        >>> store = DecisionStore()
        >>> _ = store.offer({"decision_id": "d1", "visitor_id": "v1", "slot": "hero",
        ...                  "created_at": 0, "ttl_ms": 10, "experiment_arm": "personalized"}, 0)
        >>> store.owner("d1"), store.owner("d2")
        ('v1', None)
        """
        return self._seen.get(decision_id)

    def _remember(self, decision_id: str, visitor_id: str | None = None) -> None:
        self._seen[decision_id] = visitor_id
        if len(self._seen) > self.remembered_ids:
            self._seen.popitem(last=False)

    def offer(self, decision: Decision, now_ms: int) -> Offered:
        """Consider ``decision`` (a Decision record); returns what was done with it."""
        decision_id = str(decision["decision_id"])
        if decision_id in self._seen:
            self.stats.duplicates += 1
            return Offered.DUPLICATE
        self._remember(decision_id)
        slot = str(decision["slot"])
        if slot in NOT_SERVED_SLOTS or decision.get("experiment_arm") == "control" or \
                decision.get("channel", "web") in NOT_SERVED_CHANNELS:
            self.stats.not_served += 1
            return Offered.NOT_SERVED
        ends = expires_at(decision)
        if ends <= now_ms:
            self.stats.expired += 1
            return Offered.EXPIRED
        visitor = str(decision["visitor_id"])
        slots = self._visitors.get(visitor)
        if slots is None:
            slots = self._visitors[visitor] = {}
        held = slots.get(slot)
        if held is not None and expires_at(held) > now_ms and \
                int(held["created_at"]) > int(decision["created_at"]):
            self.stats.superseded += 1
            self._visitors.move_to_end(visitor)
            return Offered.SUPERSEDED
        if held is None:
            if len(slots) >= self.max_slots_per_visitor:
                first = min(slots, key=lambda s: expires_at(slots[s]))
                del slots[first]
                self._held -= 1
            self._held += 1
        slots[slot] = decision
        self._seen[decision_id] = visitor
        self._visitors.move_to_end(visitor)
        self._sequence += 1
        heapq.heappush(self._expiry, (ends, self._sequence, visitor, slot, decision_id))
        self.stats.stored += 1
        while len(self._visitors) > self.max_visitors:
            _, evicted = self._visitors.popitem(last=False)
            self._held -= len(evicted)
            self.stats.evicted_visitors += 1
        self._compact()
        return Offered.STORED

    def current(self, visitor_id: str, now_ms: int,
                slots: Collection[str] | None = None) -> dict[str, Decision]:
        """Unexpired decisions of ``visitor_id`` by slot (only ``slots`` if given); read-only."""
        held = self._visitors.get(visitor_id)
        if not held:
            return {}
        out = {slot: d for slot, d in held.items()
               if expires_at(d) > now_ms and (slots is None or slot in slots)}
        if out:
            self._visitors.move_to_end(visitor_id)
        return out

    def forget(self, visitor_id: str) -> int:
        """Drop every decision held for ``visitor_id`` at once (erasure, consent withdrawn);
        returns how many. Their ids stay remembered as seen (a replay is not served again)
        but no longer as the visitor's, so no outcome is accepted for them any more.

        >>> store = DecisionStore()
        >>> _ = store.offer({"decision_id": "d1", "visitor_id": "v1", "slot": "hero",
        ...                  "created_at": 0, "ttl_ms": 10, "experiment_arm": "personalized"}, 0)
        >>> store.forget("v1"), store.current("v1", 0), store.owner("d1"), store.seen("d1")
        (1, {}, None, True)
        """
        slots = self._visitors.pop(visitor_id, None)
        if not slots:
            return 0
        for decision in slots.values():
            self._seen[str(decision["decision_id"])] = None
        self._held -= len(slots)
        self.stats.forgotten += len(slots)
        return len(slots)

    def purge(self, now_ms: int) -> int:
        """Drop decisions expired at ``now_ms``; returns how many were dropped."""
        dropped = 0
        while self._expiry and self._expiry[0][0] <= now_ms:
            _, _, visitor, slot, decision_id = heapq.heappop(self._expiry)
            slots = self._visitors.get(visitor)
            if slots is None or slot not in slots or slots[slot]["decision_id"] != decision_id:
                continue  # replaced or evicted since
            del slots[slot]
            self._held -= 1
            dropped += 1
            if not slots:
                del self._visitors[visitor]
        self.stats.purged += dropped
        return dropped

    def _compact(self) -> None:
        """Rebuild the expiry heap when replaced entries dominate it (keeps memory bounded)."""
        if len(self._expiry) <= 2 * self._held + 1024:
            return
        self._expiry = [(expires_at(d), i, v, s, str(d["decision_id"]))
                        for i, (v, s, d) in enumerate(
                            (v, s, d) for v, slots in self._visitors.items()
                            for s, d in slots.items())]
        heapq.heapify(self._expiry)
