"""Rate limits and message de-duplication for the collector (pure, clocks passed in).

:class:`TokenBuckets` — one bucket per key (a visitor, a write key) holding up to
``burst`` tokens, refilled at ``rate_per_s``. A request costs one token per
event; it passes only if *every* key it touches has enough, and only then are
tokens taken (all or nothing, like the rest of the request).

:class:`DedupWindow` — ids seen within ``window_ms``; a message whose id is
still in the window is a duplicate (acknowledged, not produced again).

>>> buckets = TokenBuckets(rate_per_s=1.0, burst=2)
>>> buckets.retry_after({"v1": 2}, now_s=0.0), buckets.retry_after({"v1": 1}, now_s=0.0)
(0.0, 1.0)
>>> window = DedupWindow(window_ms=1000)
>>> window.add("m1", now_ms=0); window.seen("m1", now_ms=999), window.seen("m1", now_ms=1000)
(True, False)
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping

__all__ = ["DedupWindow", "TokenBuckets"]


class TokenBuckets:
    """Token buckets by key, bounded to ``max_keys`` (least recently used dropped).

    >>> b = TokenBuckets(rate_per_s=10.0, burst=1, max_keys=1)
    >>> b.retry_after({"a": 1}, 0.0), b.retry_after({"a": 1}, 0.0)
    (0.0, 0.1)
    """

    def __init__(self, rate_per_s: float, burst: int, max_keys: int = 100_000) -> None:
        if rate_per_s <= 0 or burst < 1 or max_keys < 1:
            raise ValueError("rate_per_s must be positive, burst and max_keys at least 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, key: str, now_s: float) -> float:
        held = self._buckets.get(key)
        if held is None:
            return float(self.burst)
        tokens, since = held
        return min(float(self.burst), tokens + max(0.0, now_s - since) * self.rate_per_s)

    def retry_after(self, costs: Mapping[str, int], now_s: float, take: bool = True) -> float:
        """Take ``costs`` (tokens per key) if all fit and return 0; else seconds until they
        would (``inf`` when a cost exceeds the burst), taking nothing. ``take=False`` only
        checks.

        >>> TokenBuckets(1.0, 2).retry_after({"v": 3}, 0.0)
        inf
        """
        wait = 0.0
        for key, cost in costs.items():
            if cost > self.burst:
                return math.inf
            missing = cost - self._tokens(key, now_s)
            if missing > 0:
                wait = max(wait, missing / self.rate_per_s)
        if wait > 0 or not take:
            return wait
        for key, cost in costs.items():
            self._buckets[key] = (self._tokens(key, now_s) - cost, now_s)
            self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return 0.0


class DedupWindow:
    """Ids seen in the last ``window_ms`` (at most ``max_entries``, oldest forgotten first).

    >>> w = DedupWindow(window_ms=10, max_entries=1)
    >>> w.add("a", 0); w.add("b", 0); w.seen("a", 1), w.seen("b", 1)
    (False, True)
    """

    def __init__(self, window_ms: int, max_entries: int = 200_000) -> None:
        if window_ms < 0 or max_entries < 1:
            raise ValueError("window_ms must not be negative, max_entries at least 1")
        self.window_ms = window_ms
        self.max_entries = max_entries
        self._expiry: OrderedDict[str, int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._expiry)

    def _forget(self, now_ms: int) -> None:
        while self._expiry:
            key, ends = next(iter(self._expiry.items()))
            if ends > now_ms and len(self._expiry) <= self.max_entries:
                break
            del self._expiry[key]

    def seen(self, key: str, now_ms: int) -> bool:
        """Whether ``key`` was added less than ``window_ms`` before ``now_ms``."""
        self._forget(now_ms)
        ends = self._expiry.get(key)
        return ends is not None and ends > now_ms

    def add(self, key: str, now_ms: int) -> None:
        """Remember ``key`` from ``now_ms`` on."""
        self._expiry.pop(key, None)
        self._expiry[key] = now_ms + self.window_ms
        self._forget(now_ms)
