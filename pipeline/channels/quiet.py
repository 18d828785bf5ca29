"""Quiet hours: a daily window, in the contact's time zone, when nothing is sent.

A window ``21:00-08:00`` wraps midnight; ``start == end`` means no quiet hours. A message
that falls due inside the window waits for its end (:meth:`QuietHours.release_ms`).

>>> quiet = QuietHours.parse("21:00-08:00")
>>> utc = ZoneInfo("UTC")
>>> quiet.contains(datetime(2026, 1, 5, 22, 30, tzinfo=utc)), quiet.contains(
...     datetime(2026, 1, 5, 12, 0, tzinfo=utc))
(True, False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.channels.errors import ChannelOptionsError

__all__ = ["QuietHours", "zone"]

_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; a clear error for an unknown one.

    >>> zone("Europe/Berlin").key
    'Europe/Berlin'
    >>> zone("Mars/Olympus")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.channels.errors.ChannelOptionsError: unknown time zone 'Mars/Olympus' ...
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ChannelOptionsError(f"unknown time zone {name!r} (an IANA name such as "
                                  f"Europe/Berlin): {exc}") from None


@dataclass(frozen=True)
class QuietHours:
    """A daily window ``[start, end)`` in local time; ``start == end``: never quiet.

    >>> QuietHours(time(9), time(9)).contains(datetime(2026, 1, 1, 9, tzinfo=ZoneInfo("UTC")))
    False
    """

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """``HH:MM-HH:MM`` (24 h), or ``off``.

        >>> QuietHours.parse("off").start == QuietHours.parse("off").end
        True
        >>> QuietHours.parse("25:00-08:00")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pipeline.channels.errors.ChannelOptionsError: quiet hours must be HH:MM-HH:MM ...
        """
        if text.strip().lower() in ("off", "none", ""):
            return cls(time(0), time(0))
        match = _WINDOW.match(text.strip())
        if match is None:
            raise ChannelOptionsError(
                f"quiet hours must be HH:MM-HH:MM (24 h, e.g. 21:00-08:00) or off, got {text!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        return cls(time(h1, m1), time(h2, m2))

    def __str__(self) -> str:
        return "off" if self.off else f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def off(self) -> bool:
        """No quiet hours at all.

        >>> QuietHours.parse("off").off
        True
        """
        return self.start == self.end

    def contains(self, local: datetime) -> bool:
        """Whether the local wall-clock time ``local`` is inside the window.

        >>> QuietHours.parse("08:00-12:00").contains(datetime(2026, 1, 1, 12, 0))
        False
        """
        if self.off:
            return False
        t = local.time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def release_ms(self, at_ms: int, tz: ZoneInfo) -> int:
        """``at_ms`` if it is outside the window in ``tz``, else the window's end (epoch ms).

        >>> quiet = QuietHours.parse("21:00-08:00")
        >>> at = int(datetime(2026, 1, 5, 23, 0, tzinfo=ZoneInfo("UTC")).timestamp() * 1000)
        >>> end = quiet.release_ms(at, ZoneInfo("UTC"))
        >>> datetime.fromtimestamp(end / 1000, ZoneInfo("UTC")).isoformat()
        '2026-01-06T08:00:00+00:00'
        >>> quiet.release_ms(end, ZoneInfo("UTC")) == end
        True
        """
        local = datetime.fromtimestamp(at_ms / 1000, tz)
        if not self.contains(local):
            return at_ms
        end = datetime.combine(local.date(), self.end, tzinfo=tz)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=tz)
        # A gap (a DST jump) can make that wall time not exist: step to the first real minute.
        while self.contains(end.astimezone(tz)):
            end += timedelta(minutes=1)
        return max(at_ms, int(end.timestamp() * 1000))
