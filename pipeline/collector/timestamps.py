"""Event times from what clients send: ISO 8601 strings (Segment) or epoch milliseconds.

Segment's clock-skew correction is applied when the client says when it sent the
request (``sentAt``): ``event_time = received - (sent_at - timestamp)``, so a
browser whose clock is off still yields server-aligned times.

>>> parse_time("2027-01-15T08:30:00.250Z", "timestamp")
1800001800250
>>> parse_time(1_800_001_800_250, "time")
1800001800250
>>> corrected(timestamp_ms=1_000_000_000_000, sent_at_ms=1_000_000_005_000,
...           received_ms=1_000_000_065_000)
1000000060000
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from pipeline.collector.errors import BadPayload

__all__ = ["corrected", "parse_time"]

_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def parse_time(value: object, where: str) -> int:
    """Epoch ms from an ISO 8601 string (no zone = UTC) or a number of milliseconds.

    >>> parse_time("yesterday", "timestamp")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.collector.errors.BadPayload: timestamp must be an ISO 8601 ... (got 'yesterday')
    >>> parse_time(10**400, "time")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.collector.errors.BadPayload: time is not a time in epoch milliseconds (got 1000...)
    """
    if isinstance(value, bool):
        raise BadPayload(f"{where} must be an ISO 8601 time or epoch milliseconds (got a boolean)")
    if isinstance(value, int | float):
        # an int is compared as an int: float() of one with hundreds of digits overflows
        if (isinstance(value, float) and not math.isfinite(value)) or not 0 <= value <= _MAX_MS:
            raise BadPayload(f"{where} is not a time in epoch milliseconds (got {value!r:.40})")
        return int(value)
    if isinstance(value, str) and 0 < len(value) <= 64:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            try:
                return int(parsed.timestamp() * 1000)
            except (OverflowError, OSError, ValueError):
                pass
    raise BadPayload(f"{where} must be an ISO 8601 time or epoch milliseconds "
                     f"(got {str(value)[:40]!r})")


def corrected(timestamp_ms: int, sent_at_ms: int | None, received_ms: int) -> int:
    """``timestamp_ms`` moved by the client's clock offset (Segment's rule); as is without
    ``sent_at_ms``.

    >>> corrected(5_000, None, 9_000)
    5000
    """
    if sent_at_ms is None:
        return timestamp_ms
    return received_ms - (sent_at_ms - timestamp_ms)
