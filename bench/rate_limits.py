"""µs per request of the rate limits (``pipeline/web/rate_limits.py``), in process.

What one request costs the service for its limits: delivery checks the client address
(a keyed BLAKE2b digest of it, then its token bucket) and, once the token is checked, the
visitor's bucket; the collector checks the address. Measured for one hot address, for
addresses that are all new (every check adds a bucket and, past ``max_keys``, drops the
least recently used: what a flood from many addresses costs), and for a refused request
(the exception and its message). The visitor token check (HMAC-SHA256) is measured beside
it for scale. No server, no network: the cost of the limits alone, best of 5 rounds of
the mean time per call; absolute µs vary with machine load.

``python -m bench.rate_limits`` (or ``python -m bench rate_limits``) writes
bench/results/rate_limits.{json,md}.
"""

from __future__ import annotations

import contextlib
import itertools

from bench.common import per_call_us
from bench.record import write
from pipeline.web.rate_limits import RequestLimits, TooManyRequests
from pipeline.web.visitor_token import VisitorTokens


def address(n: int) -> str:
    """The ``n``-th client address of the flood (an IPv4 address and a port: all distinct).

    >>> address(0), address(258), address(2**24 + 1)
    ('10.0.0.0:0', '10.0.1.2:0', '10.0.0.1:1')
    """
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}:{n >> 24}"


def run() -> list[dict[str, object]]:
    """Measure and record; returns the rows."""
    roomy = dict(address_rate_per_s=1e12, address_burst=10**12,
                 visitor_rate_per_s=1e12, visitor_burst=10**12)
    hot = RequestLimits(**roomy)  # type: ignore[arg-type]
    fresh = RequestLimits(**roomy, max_keys=100_000)  # type: ignore[arg-type]
    numbers = itertools.count()

    def new_address() -> None:
        fresh.check(address(next(numbers)))

    for _ in range(100_000):  # fill to max_keys: later checks each evict one bucket
        new_address()
    empty = RequestLimits(address_rate_per_s=1e-9, address_burst=1,
                          monotonic=lambda: 0.0)
    empty.check("10.0.0.9")

    def refused() -> None:
        with contextlib.suppress(TooManyRequests):
            empty.check("10.0.0.9")

    def delivery_request() -> None:
        hot.check("10.0.0.1")
        hot.check_visitor("v-0123456789abcdef")

    tokens = VisitorTokens(("k" * 32,))
    token = tokens.issue("v-0123456789abcdef")
    results = {
        "address check, one address": per_call_us(lambda: hot.check("10.0.0.1")),
        "address check, a new address each time (100,000 held, LRU evicts)":
            per_call_us(new_address),
        "visitor check": per_call_us(lambda: hot.check_visitor("v-0123456789abcdef")),
        "delivery request: address + visitor": per_call_us(delivery_request),
        "refused request (429 raised)": per_call_us(refused),
        "for scale: visitor token check (HMAC-SHA256)":
            per_call_us(lambda: tokens.check(token, None)),
    }
    rows: list[dict[str, object]] = [
        {"operation": k, "us_per_request": v, "requests_per_s_one_core": 1e6 / v}
        for k, v in results.items()]
    write("rate_limits", rows, notes=(
        "In process, no server: the limits' own cost per request. Delivery's recorded knee "
        "(bench/results/delivery.md) is about 3,000 requests/s, i.e. ~330 µs of a shared "
        "core per request, against which the limits' cost is to be read. Absolute µs vary "
        "with machine load."))
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
