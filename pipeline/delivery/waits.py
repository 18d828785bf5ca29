"""Requests held until the decision triggered by a given event is consumed: same-page decisions.

A page sends its page view (event id ``e``) and, in the same moment, asks delivery for
its decisions with ``trigger=e``. The worker decides on that page view a few tens of
milliseconds later; :class:`TriggerWaits` holds the request until the feed hands over
a Decision whose ``trigger_event_id`` is ``e`` (whatever the decision: an action, "no
action", the control arm) or the request's budget runs out, whichever comes first.

No polling: each held request is an :class:`asyncio.Future` keyed by the trigger id,
resolved by :meth:`TriggerWaits.arrived` (the feed's hand-over, on the event loop) or
by a timer (``loop.call_later``). Triggers already seen are remembered (a bounded,
oldest-first set), so a request that reaches delivery after its decision is answered
at once. At most ``max_held`` requests are held; beyond it a request is answered at
once with what is held (``WaitResult.FULL``).

>>> import asyncio
>>> async def main() -> list[str]:
...     waits = TriggerWaits(max_held=10)
...     pending = asyncio.ensure_future(waits.wait("e1", timeout_s=5.0))
...     await asyncio.sleep(0)
...     waits.arrived({"trigger_event_id": "e1"})
...     late = await waits.wait("e1", timeout_s=5.0)   # seen before: no wait
...     missing = await waits.wait("e2", timeout_s=0.01)
...     return [await pending, late, missing]
>>> asyncio.run(main())
[<WaitResult.ARRIVED: 'arrived'>, <WaitResult.SEEN: 'seen'>, <WaitResult.TIMEOUT: 'timeout'>]
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
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
    ...     _ = waits.arrived({"trigger_event_id": e})
    >>> waits.seen("a"), waits.seen("c"), waits.held
    (False, True, 0)
    """

    def __init__(self, max_held: int = 10_000, remembered: int = 100_000) -> None:
        if max_held < 0 or remembered < 1:
            raise ValueError("TriggerWaits: max_held must not be negative, remembered at least 1")
        self.max_held = max_held
        self.remembered = remembered
        self._waiting: dict[str, list[asyncio.Future[WaitResult]]] = {}
        self._held = 0
        self._seen: OrderedDict[str, None] = OrderedDict()

    @property
    def held(self) -> int:
        """Requests held right now."""
        return self._held

    def seen(self, trigger: str) -> bool:
        """Whether a decision of ``trigger`` arrived (and is still remembered)."""
        return trigger in self._seen

    async def wait(self, trigger: str, timeout_s: float) -> WaitResult:
        """Hold until the decision of ``trigger`` arrives or ``timeout_s`` passes (on the loop)."""
        if trigger in self._seen:
            return WaitResult.SEEN
        if timeout_s <= 0:
            return WaitResult.TIMEOUT
        if self._held >= self.max_held:
            return WaitResult.FULL
        loop = asyncio.get_running_loop()
        future: asyncio.Future[WaitResult] = loop.create_future()
        waiting = self._waiting.setdefault(trigger, [])
        waiting.append(future)
        self._held += 1
        timer = loop.call_later(timeout_s, _settle, future, WaitResult.TIMEOUT)
        try:
            return await future
        finally:  # also when the request is cancelled (the client went away)
            timer.cancel()
            self._held -= 1
            waiting.remove(future)
            if not waiting and self._waiting.get(trigger) is waiting:
                del self._waiting[trigger]

    def arrived(self, decision: Mapping[str, Any]) -> int:
        """A decision was consumed: release the requests held for its trigger; returns how many."""
        trigger = decision.get("trigger_event_id")
        if not trigger:
            return 0
        trigger = str(trigger)
        self._seen[trigger] = None
        self._seen.move_to_end(trigger)
        if len(self._seen) > self.remembered:
            self._seen.popitem(last=False)
        released = 0
        for future in self._waiting.get(trigger, ()):
            released += _settle(future, WaitResult.ARRIVED)
        return released

    def release_all(self) -> int:
        """Answer every held request now (shutdown); returns how many were held."""
        released = 0
        for waiting in list(self._waiting.values()):
            for future in waiting:
                released += _settle(future, WaitResult.RELEASED)
        return released


def _settle(future: asyncio.Future[WaitResult], result: WaitResult) -> bool:
    if future.done():
        return False
    future.set_result(result)
    return True
