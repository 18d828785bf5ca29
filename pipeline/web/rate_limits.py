"""Request rate limits per client address and per visitor, for the collector and delivery.

One token bucket per key (:class:`TokenBuckets`, least recently
used keys dropped beyond ``max_keys``). A request costs one token of its address's bucket
and, once the visitor is known (from its signed token), one of the visitor's; a request
whose bucket is empty is refused with :class:`TooManyRequests` (429, a
message and ``Retry-After``). Addresses are never kept as they are: a bucket's key is a
digest of the address under a random key made at start (BLAKE2b), so the process holds
no IP address, not even in memory, and nothing is logged.

Behind a proxy every request comes from the proxy's address: give the per-address limit
room for it, or rate-limit at the proxy.

>>> limits = RequestLimits(address_rate_per_s=1.0, address_burst=2, monotonic=lambda: 0.0)
>>> limits.check("10.0.0.1"); limits.check("10.0.0.1")
>>> limits.check("10.0.0.1")
Traceback (most recent call last):
...
pipeline.web.rate_limits.TooManyRequests: too many requests from this address: retry in 1.0 s
>>> limits.check("10.0.0.2")  # another address has its own bucket
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

__all__ = ["RequestLimits", "TokenBuckets", "TooManyRequests"]


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

    def take_one(self, key: str, now_s: float) -> float:
        """``retry_after({key: 1}, now_s)`` without building the mapping or reading the
        bucket twice: the one-token case every limited request takes (the same arithmetic,
        inlined: it runs twice per request on the hot path).

        >>> b = TokenBuckets(rate_per_s=10.0, burst=1, max_keys=1)
        >>> b.take_one("a", 0.0), b.take_one("a", 0.0), b.retry_after({"a": 1}, 0.1)
        (0.0, 0.1, 0.0)
        """
        buckets = self._buckets
        held = buckets.get(key)
        if held is None:
            tokens = float(self.burst)
        else:
            tokens, since = held
            if now_s > since:
                tokens += (now_s - since) * self.rate_per_s
                if tokens > self.burst:
                    tokens = float(self.burst)
        if tokens < 1:
            return (1 - tokens) / self.rate_per_s
        buckets[key] = (tokens - 1, now_s)
        if held is not None:
            buckets.move_to_end(key)
        else:  # a new key, already the newest
            while len(buckets) > self.max_keys:
                buckets.popitem(last=False)
        return 0.0

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




class TooManyRequests(Exception):
    """A client or visitor sent more requests than its rate allows (HTTP 429).

    >>> TooManyRequests("slow down", 1.5).retry_after_s, TooManyRequests.status
    (1.5, 429)
    """

    status = 429

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RequestLimits:
    """Per-address (and optionally per-visitor) request buckets of one service.

    >>> limits = RequestLimits(100.0, 100, visitor_rate_per_s=1.0, visitor_burst=1,
    ...                        monotonic=lambda: 0.0)
    >>> limits.check("10.0.0.1"); limits.check_visitor("v1")
    >>> limits.check_visitor("v1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.web.rate_limits.TooManyRequests: too many requests for this visitor: retry in ...
    """

    def __init__(self, address_rate_per_s: float, address_burst: int, *,
                 visitor_rate_per_s: float | None = None, visitor_burst: int | None = None,
                 max_keys: int = 100_000,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.addresses = TokenBuckets(address_rate_per_s, address_burst, max_keys)
        self.visitors = (TokenBuckets(visitor_rate_per_s, visitor_burst or 1, max_keys)
                         if visitor_rate_per_s is not None else None)
        self._key = secrets.token_bytes(16)
        self._monotonic = monotonic

    def _address_key(self, address: str | None) -> str:
        digest = hashlib.blake2b((address or "").encode("utf-8", "surrogatepass"),
                                 key=self._key, digest_size=8)
        return digest.hexdigest()

    def check(self, address: str | None) -> None:
        """Take a token for ``address``, or raise :class:`TooManyRequests` (before anything
        else is read: forged tokens and bad bodies count too)."""
        key = self._address_key(address)
        wait = self.addresses.take_one(key, self._monotonic())
        if wait > 0:
            raise TooManyRequests(f"too many requests from this address: retry in {wait:.1f} s",
                                  wait)

    def check_visitor(self, visitor: str) -> None:
        """Take a token for ``visitor`` (known from its checked token), or raise
        :class:`TooManyRequests`; nothing when there is no per-visitor limit."""
        if self.visitors is None:
            return
        wait = self.visitors.take_one(visitor, self._monotonic())
        if wait > 0:
            raise TooManyRequests(f"too many requests for this visitor: retry in {wait:.1f} s",
                                  wait)
