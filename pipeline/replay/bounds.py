"""Where a replay starts and stops: ``--from`` / ``--to`` as offsets or as times.

A bound is written as:

- an offset, for every partition: ``1500`` or ``offset:1500`` (a file's record
  number, 0-based, when replaying a file);
- per-partition offsets: ``0:1200,1:1310,3:990`` (partitions not listed start at
  their beginning / run to their end);
- a time: an ISO 8601 timestamp (``2025-03-01T12:00:00Z``; no zone means UTC),
  epoch milliseconds (any integer from ``1000000000000`` on, i.e. after
  2001-09-09) or ``time:<either>``.

Ranges are half-open: ``--from`` is included, ``--to`` is not. On a topic, time
bounds use the Kafka record timestamps (what the broker indexes, set by the
producer); on a file they apply to ``event_time``.

>>> parse_bound("1500"), parse_bound("2025-03-01T12:00:00Z").time_ms
(RangeBound(kind='offset', offset=1500, offsets=None, time_ms=None), 1740830400000)
>>> parse_bound("0:10,2:30").offsets
{0: 10, 2: 30}
>>> parse_bound("1740830400000").kind
'time'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pipeline.replay.errors import InvalidOptions

__all__ = ["EPOCH_MS_FROM", "RangeBound", "parse_bound"]

#: Integers from here on are epoch milliseconds, below it offsets (2001-09-09 in ms).
EPOCH_MS_FROM = 1_000_000_000_000

_PER_PARTITION = re.compile(r"^\d+:\d+(,\d+:\d+)*$")


@dataclass(frozen=True)
class RangeBound:
    """One end of a replay range: ``offset`` (every partition), ``offsets`` or ``time_ms``.

    >>> RangeBound("time", time_ms=5).offset_for(3) is None
    True
    """

    kind: Literal["offset", "time"]
    offset: int | None = None
    offsets: Mapping[int, int] | None = None
    time_ms: int | None = None

    def offset_for(self, partition: int) -> int | None:
        """The offset bound of ``partition`` (``None``: unbounded there, or a time bound).

        >>> parse_bound("0:10").offset_for(0), parse_bound("0:10").offset_for(1)
        (10, None)
        """
        if self.kind != "offset":
            return None
        if self.offsets is not None:
            return self.offsets.get(partition)
        return self.offset


def _time(text: str) -> int:
    value = text.strip()
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidOptions(
            f"{text!r} is neither an offset, 'P:OFFSET,...', epoch milliseconds nor an ISO 8601 "
            "time (e.g. 2025-03-01T12:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def parse_bound(text: str) -> RangeBound:
    """Parse a ``--from`` / ``--to`` value (see the module docstring).

    >>> parse_bound("offset:7").offset, parse_bound("time:2025-01-01").time_ms
    (7, 1735689600000)
    >>> parse_bound("yesterday")
    Traceback (most recent call last):
    ...
    pipeline.replay.errors.InvalidOptions: 'yesterday' is neither an offset, 'P:OFFSET,...', \
epoch milliseconds nor an ISO 8601 time (e.g. 2025-03-01T12:00:00Z)
    """
    value = text.strip()
    if value.startswith("offset:"):
        digits = value[len("offset:"):]
        if not digits.isdigit():
            raise InvalidOptions(f"{text!r}: an offset must be a non-negative integer")
        return RangeBound("offset", offset=int(digits))
    if value.startswith("time:"):
        return RangeBound("time", time_ms=_time(value[len("time:"):]))
    if _PER_PARTITION.match(value):
        pairs = (part.split(":") for part in value.split(","))
        offsets: dict[int, int] = {}
        for p, o in pairs:
            if int(p) in offsets:
                raise InvalidOptions(f"{text!r}: partition {p} is given twice")
            offsets[int(p)] = int(o)
        return RangeBound("offset", offsets=offsets)
    if value.isdigit():
        number = int(value)
        if number >= EPOCH_MS_FROM:
            return RangeBound("time", time_ms=number)
        return RangeBound("offset", offset=number)
    return RangeBound("time", time_ms=_time(value))
