"""Requests held until the decision triggered by a given event is consumed: same-page decisions.

A page sends its page view (event id ``e``) and, in the same moment, asks delivery for
its decisions with ``trigger=e``. The worker decides on that page view a few tens of
milliseconds later; :class:`TriggerWaits` holds the request until the feed hands over
a Decision whose ``trigger_event_id`` is ``e`` (:meth:`TriggerWaits.arrived`), or the
worker's answer that ``e`` was decided and delivers nothing
(:meth:`TriggerWaits.answered`, from ``personalization.answers``: most page views), or
the request's budget runs out, whichever comes first.

Holds are keyed by visitor *and* trigger: a decision or an answer releases only the
requests of its own visitor for its own trigger, never another visitor's.

No polling: each held request is an :class:`asyncio.Future` keyed by (visitor, trigger),
resolved by the feeds' hand-over (on the event loop) or by its deadline. Deadlines share
one loop timer: requests with the same budget queue in the order they came (so their
deadlines are in order too), and the timer is armed for the earliest deadline of any queue;
when it fires, every request past its deadline is answered ``timeout`` and it is armed for
the next. A request answered early is left in its queue until its deadline is reached (no
timer to cancel per request). Triggers already decided are remembered (a bounded, oldest-first
set, with how they ended), so a request that reaches delivery after its decision or
answer is answered at once. At most ``max_held`` requests are held; beyond it a request
is answered at once with what is held (``WaitResult.FULL``).

>>> import asyncio
>>> async def main() -> list[str]:
...     waits = TriggerWaits(max_held=10)
...     pending = asyncio.ensure_future(waits.wait("e1", timeout_s=5.0, visitor="v1"))
...     nothing = asyncio.ensure_future(waits.wait("e3", timeout_s=60.0, visitor="v1"))
...     await asyncio.sleep(0)
...     waits.arrived({"trigger_event_id": "e1", "visitor_id": "v1"})
...     waits.answered({"trigger_event_id": "e3", "visitor_id": "v1", "decided": "nothing"})
...     late = await waits.wait("e1", timeout_s=5.0, visitor="v1")   # seen before: no wait
...     missing = await waits.wait("e2", timeout_s=0.01, visitor="v1")
...     return [await pending, await nothing, late, missing]
>>> asyncio.run(main())  # doctest: +NORMALIZE_WHITESPACE
[<WaitResult.ARRIVED: 'arrived'>, <WaitResult.NOTHING: 'nothing'>, <WaitResult.SEEN: 'seen'>,
 <WaitResult.TIMEOUT: 'timeout'>]
"""

from __future__ import annotations

import asyncio
import math
from collections import OrderedDict, deque
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

__all__ = ["TriggerWaits", "WaitResult"]


class WaitResult(StrEnum):
    """How a held request ended.

    >>> WaitResult.FULL == "full"
    True
    """

    #: The decision arrived while the request was held.
    ARRIVED = "arrived"
    #: The decision had arrived before the request: answered at once.
    SEEN = "seen"
    #: The budget ran out first.
    TIMEOUT = "timeout"
    #: ``max_held`` requests were already held: answered at once, without waiting.
    FULL = "full"
    #: The service is stopping: answered at once with what is held.
    RELEASED = "released"
    #: The worker decided the trigger and it delivers no action (an answer on
    #: ``personalization.answers``, before or while the request was held): answered at once.
    NOTHING = "nothing"


class TriggerWaits:
    """Held requests by trigger event id (see the module docstring).

    Parameters
    ----------
    max_held
        Requests held at once; more are answered at once (:attr:`WaitResult.FULL`).
    remembered
        Trigger ids remembered as arrived (oldest forgotten first).

    >>> waits = TriggerWaits(max_held=1, remembered=2)
    >>> for e in ("a", "b", "c"):
    ...     _ = waits.arrived({"trigger_event_id": e, "visitor_id": "v"})
    >>> waits.seen("a", "v"), waits.seen("c", "v"), waits.seen("c", "w"), waits.held
    (False, True, False, 0)
    """

    def __init__(self, max_held: int = 10_000, remembered: int = 100_000) -> None:
        if max_held < 0 or remembered < 1:
            raise ValueError("TriggerWaits: max_held must not be negative, remembered at least 1")
        self.max_held = max_held
        self.remembered = remembered
        # keyed by _key(visitor, trigger)
        self._waiting: dict[str, list[asyncio.Future[WaitResult]]] = {}
        self._held = 0
        #: what ended each trigger remembered: SEEN (a decision) or NOTHING (an answer)
        self._seen: OrderedDict[str, WaitResult] = OrderedDict()
        #: by budget (s): the held requests' [deadline in loop time, future], oldest first
        #: (the future is dropped, None, once its request is answered: not kept alive until
        #: its deadline)
        self._due: dict[float, deque[list[Any]]] = {}
        #: the one timer, armed for the earliest deadline (``_timer_at``)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    @property
    def held(self) -> int:
        """Requests held right now."""
        return self._held

    def seen(self, trigger: str, visitor: str = "") -> bool:
        """Whether ``visitor``'s decision or answer of ``trigger`` arrived (and is still
        remembered)."""
        return _key(visitor, trigger) in self._seen

    async def wait(self, trigger: str, timeout_s: float, visitor: str = "") -> WaitResult:
        """Hold until ``visitor``'s decision (or "nothing" answer) of ``trigger`` arrives or
        ``timeout_s`` passes (on the loop)."""
        key = _key(visitor, trigger)
        before = self._seen.get(key)
        if before is not None:
            return before
        if timeout_s <= 0:
            return WaitResult.TIMEOUT
        if self._held >= self.max_held:
            return WaitResult.FULL
        loop = asyncio.get_running_loop()
        future: asyncio.Future[WaitResult] = loop.create_future()
        waiting = self._waiting.get(key)
        if waiting is None:
            waiting = self._waiting[key] = []
        waiting.append(future)
        self._held += 1
        deadline = loop.time() + timeout_s
        due = self._due.get(timeout_s)
        if due is None:
            due = self._due[timeout_s] = deque()
        entry = [deadline, future]
        due.append(entry)
        if deadline < self._timer_at or self._timer_loop is not loop:
            self._arm(loop, deadline)  # (another loop: the held requests of the last are gone)
        try:
            return await future
        finally:  # also when the request is cancelled (the client went away)
            entry[1] = None
            self._held -= 1
            waiting.remove(future)
            if not waiting and self._waiting.get(key) is waiting:
                del self._waiting[key]

    def _arm(self, loop: asyncio.AbstractEventLoop, at: float) -> None:
        """The timer fires at ``at`` (loop time) instead of when it was armed for."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(at, self._expire, loop)
        self._timer_at, self._timer_loop = at, loop

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        """The timer: answer ``timeout`` to every request past its deadline; drop the queues'
        answered heads; arm for the earliest deadline left."""
        self._timer, self._timer_at = None, math.inf
        now = loop.time()
        nearest = math.inf
        for budget, due in list(self._due.items()):
            while due:
                deadline, future = due[0]
                if future is not None:  # still held
                    if deadline > now:
                        nearest = min(nearest, deadline)
                        break
                    _settle(future, WaitResult.TIMEOUT)
                due.popleft()
            if not due:
                del self._due[budget]
        if nearest < math.inf:
            self._arm(loop, nearest)

    def arrived(self, decision: Mapping[str, Any]) -> int:
        """A decision was consumed: release the requests its visitor holds for its trigger;
        returns how many."""
        return self._ended(decision, WaitResult.SEEN, WaitResult.ARRIVED)

    def answered(self, answer: Mapping[str, Any]) -> int:
        """The worker's answer that a trigger was decided and delivers nothing (an
        ``Answer`` record): release the requests its visitor holds for it; returns how many.

        A decision of the same trigger seen before wins (it stays remembered as SEEN).

        >>> waits = TriggerWaits()
        >>> waits.answered({"visitor_id": "v1", "trigger_event_id": "e1"})  # none held
        0
        >>> waits.seen("e1", "v1"), waits.seen("e1", "v2")
        (True, False)
        """
        return self._ended(answer, WaitResult.NOTHING, WaitResult.NOTHING)

    def _ended(self, record: Mapping[str, Any], later: WaitResult, now: WaitResult) -> int:
        trigger = record.get("trigger_event_id")
        if not trigger:
            return 0
        key = _key(str(record.get("visitor_id") or ""), str(trigger))
        if self._seen.get(key) is not WaitResult.SEEN:
            self._seen[key] = later
        self._seen.move_to_end(key)
        if len(self._seen) > self.remembered:
            self._seen.popitem(last=False)
        released = 0
        for future in self._waiting.get(key, ()):
            released += _settle(future, now)
        return released

    def release_all(self) -> int:
        """Answer every held request now (shutdown); returns how many were held."""
        released = 0
        for waiting in list(self._waiting.values()):
            for future in waiting:
                released += _settle(future, WaitResult.RELEASED)
        return released


def _key(visitor: str, trigger: str) -> str:
    """One str per (visitor, trigger): visitor ids hold no NUL (the contracts' id check)."""
    return visitor + "\0" + trigger


def _settle(future: asyncio.Future[WaitResult], result: WaitResult) -> bool:
    if future.done():
        return False
    future.set_result(result)
    return True
