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

from collections import OrderedDict

from pipeline.web.rate_limits import TokenBuckets

__all__ = ["DedupWindow", "TokenBuckets"]


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
