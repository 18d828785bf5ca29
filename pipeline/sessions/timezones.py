"""Visitor time zones: resolve IANA names leniently, find local-day boundaries.

An unknown or malformed zone is treated as unknown (``None``), never an error.

>>> resolve_timezone("Europe/Amsterdam").key, resolve_timezone("Mars/Olympus") is None
('Europe/Amsterdam', True)
>>> local_day_bounds(1_700_000_000_000, resolve_timezone("UTC"))
(1699920000000, 1700006400000)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["local_day_bounds", "resolve_timezone"]


@lru_cache(maxsize=1024)
def resolve_timezone(name: str | None) -> ZoneInfo | None:
    """The :class:`~zoneinfo.ZoneInfo` for an IANA name, or ``None`` if unknown (cached).

    >>> resolve_timezone(None) is None, resolve_timezone("../etc/passwd") is None
    (True, True)
    """
    if not name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
        return None


def local_day_bounds(time_ms: int, zone: ZoneInfo) -> tuple[int, int] | None:
    """Epoch-ms bounds ``[start, end)`` of the local calendar day containing ``time_ms``.

    Days are 23 or 25 hours long across DST changes; a midnight that does not
    exist (DST starting at 00:00) maps to the moment the clocks jump. ``None``
    for times outside what :mod:`datetime` can represent.

    >>> ny = resolve_timezone("America/New_York")
    >>> start, end = local_day_bounds(1_710_000_000_000, ny)  # 2024-03-09, a normal day
    >>> (end - start) // 3_600_000
    24
    """
    recent = _recent_days.get(zone)
    if recent is not None and recent[0] <= time_ms < recent[1]:
        return recent  # the zone's day asked for last: most new sessions of a zone share it
    try:
        day = datetime.fromtimestamp(time_ms / 1000, UTC).astimezone(zone).date()
        start_ms, end_ms = _day_bounds(zone, day)
    except (OverflowError, ValueError, OSError):
        return None
    if not start_ms <= time_ms < end_ms:  # pathological zone data: no split rather than a bad one
        return None
    if len(_recent_days) < _RECENT_ZONES or zone in _recent_days:
        _recent_days[zone] = (start_ms, end_ms)
    return start_ms, end_ms


#: Per zone, the bounds :func:`local_day_bounds` found last: a time within them is in that
#: local day (local midnights split the time line into days), so no datetime is built for
#: it. At most this many zones are kept.
_RECENT_ZONES = 1024
_recent_days: dict[ZoneInfo, tuple[int, int]] = {}


@lru_cache(maxsize=4096)
def _day_bounds(zone: ZoneInfo, day: date) -> tuple[int, int]:
    """Epoch-ms local midnights starting and ending ``day`` in ``zone`` (cached: a new
    session asks for its day's, and most sessions of a zone share a few days).

    >>> _day_bounds(resolve_timezone("UTC"), date(2023, 11, 14))
    (1699920000000, 1700006400000)
    """
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)
