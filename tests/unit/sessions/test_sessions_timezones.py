"""Local-day boundaries across DST and for odd zones."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pipeline.sessions import local_day_bounds, resolve_timezone


def _ms(zone: str, *parts: int) -> int:
    return int(datetime(*parts, tzinfo=ZoneInfo(zone)).timestamp() * 1000)


@pytest.mark.parametrize(("zone", "day", "hours"), [
    ("Europe/Amsterdam", (2024, 3, 31), 23),   # spring forward
    ("Europe/Amsterdam", (2024, 10, 27), 25),  # fall back
    ("America/New_York", (2024, 3, 10), 23),
    ("Asia/Kolkata", (2024, 3, 31), 24),       # half-hour offset, no DST
])
def test_day_length_across_dst(zone, day, hours):
    noon = _ms(zone, *day, 12)
    start, end = local_day_bounds(noon, resolve_timezone(zone))
    assert start == _ms(zone, *day, 0)
    assert (end - start) == hours * 3_600_000


def test_midnight_that_does_not_exist():
    # Sao Paulo started DST at 00:00 on 2018-11-04: clocks jumped to 01:00.
    zone = resolve_timezone("America/Sao_Paulo")
    t = _ms("America/Sao_Paulo", 2018, 11, 4, 12)
    start, end = local_day_bounds(t, zone)
    assert start <= t < end
    assert (end - start) == 23 * 3_600_000


@pytest.mark.parametrize("name", ["Nowhere/Atlantis", "", None, "/etc/localtime", "UTC\x00",
                                  "a" * 65, "Europe/../../etc/passwd"])
def test_invalid_zones_are_unknown(name):
    assert resolve_timezone(name) is None


def test_out_of_range_time_is_unknown():
    assert local_day_bounds(10**18, resolve_timezone("UTC")) is None
