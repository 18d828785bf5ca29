"""Quiet hours and frequency caps: examples, and properties over any window and any sends."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.channels import ChannelOptionsError, ContactCaps, QuietHours
from pipeline.channels.caps import DAY_MS, WEEK_MS

UTC = ZoneInfo("UTC")
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def test_quiet_hours_wrapping_midnight_hold_until_their_end_in_the_contacts_zone() -> None:
    quiet = QuietHours.parse("21:00-08:00")
    berlin = ZoneInfo("Europe/Berlin")
    at = _ms(datetime(2026, 6, 1, 22, 30, tzinfo=berlin))
    assert quiet.release_ms(at, berlin) == _ms(datetime(2026, 6, 2, 8, 0, tzinfo=berlin))
    # The same instant is 20:30 in UTC: not quiet there.
    assert quiet.release_ms(at, UTC) == at
    noon = _ms(datetime(2026, 6, 1, 12, 0, tzinfo=berlin))
    assert quiet.release_ms(noon, berlin) == noon


def test_quiet_hours_within_one_day_and_off() -> None:
    quiet = QuietHours.parse("12:00-14:00")
    assert quiet.contains(datetime(2026, 1, 1, 12, 0))
    assert quiet.contains(datetime(2026, 1, 1, 13, 59))
    assert not quiet.contains(datetime(2026, 1, 1, 14, 0))
    assert not quiet.contains(datetime(2026, 1, 1, 11, 59))
    assert QuietHours.parse("off").release_ms(5, UTC) == 5


@pytest.mark.parametrize("text", ["8-9", "21:00", "24:00-08:00", "21:60-08:00", "x", "9:00-10:00"])
def test_bad_quiet_hours_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(ChannelOptionsError, match="HH:MM-HH:MM"):
        QuietHours.parse(text)


def test_unknown_time_zone_is_refused() -> None:
    from pipeline.channels.quiet import zone

    with pytest.raises(ChannelOptionsError, match="unknown time zone"):
        zone("Nowhere/Atlantis")


@given(st.times(), st.times(), st.integers(1_500_000_000_000, 2_100_000_000_000),
       st.sampled_from(ZONES))
def test_release_is_never_quiet_never_early_and_within_a_day(
        start: time, end: time, at: int, tz_name: str) -> None:
    quiet = QuietHours(start.replace(second=0, microsecond=0), end.replace(second=0,
                                                                           microsecond=0))
    tz = ZoneInfo(tz_name)
    release = quiet.release_ms(at, tz)
    assert release >= at
    assert not quiet.contains(datetime.fromtimestamp(release / 1000, tz))
    assert release - at <= DAY_MS + 2 * 3600_000  # a day, plus a DST hour and a minute step
    if not quiet.contains(datetime.fromtimestamp(at / 1000, tz)):
        assert release == at


def test_caps_count_sliding_windows_both_ways() -> None:
    caps = ContactCaps(per_day=2, per_week=3)
    assert caps.allows([0], 1)
    assert not caps.allows([0, 1], 2)
    assert caps.allows([0, 1], DAY_MS + 1)
    assert not caps.allows([0, DAY_MS + 1, 2 * DAY_MS + 2], 3 * DAY_MS + 3)
    assert caps.allows([0, DAY_MS + 1, 2 * DAY_MS + 2], WEEK_MS + 1)


@given(st.integers(1, 3), st.integers(1, 6),
       st.lists(st.integers(0, 3 * WEEK_MS), min_size=1, max_size=60))
def test_greedy_sends_never_exceed_either_cap_in_any_window(
        per_day: int, per_week: int, attempts: list[int]) -> None:
    caps = ContactCaps(per_day=per_day, per_week=per_week)
    sent: list[int] = []
    for at in sorted(attempts):
        if caps.allows(sent, at):
            sent.append(at)
    for t in sent:  # every window ending at a send
        assert sum(1 for s in sent if t - DAY_MS < s <= t) <= per_day
        assert sum(1 for s in sent if t - WEEK_MS < s <= t) <= per_week
    assert sent  # the first attempt always goes
