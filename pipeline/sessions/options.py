"""When sessions end, how late an event may be, how long state lives.

>>> SessionOptions().inactivity_gap_ms // 60_000, SessionOptions().allowed_lateness_ms // 1000
(30, 120)
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.sessions.errors import SessionError

__all__ = ["SessionOptions"]


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """Sessionization options (all times in event-time milliseconds).

    Attributes
    ----------
    inactivity_gap_ms
        A session ends after 30 min without events (the web-analytics standard:
        Google Analytics, Adobe, Segment). One dwell interval is capped at it too.
    allowed_lateness_ms
        Out-of-order events up to 2 min behind the session's latest event are
        folded in; older ones are late (routed to the DLQ by the caller).
    state_ttl_ms
        Visitor state idle this long (2 h) is expired: perishable data.
    split_at_local_midnight
        Also end a session at midnight in the visitor's time zone (as Google
        Analytics does), when the zone is known.
    recent_event_ids
        Event ids remembered to recognise redelivered duplicates (at-least-once).
    max_categories, max_products
        Distinct categories / products counted per session (bounded state).

    >>> SessionOptions(inactivity_gap_ms=10 * 60_000).state_ttl_ms
    7200000
    """

    inactivity_gap_ms: int = 30 * 60 * 1000
    allowed_lateness_ms: int = 2 * 60 * 1000
    state_ttl_ms: int = 2 * 60 * 60 * 1000
    split_at_local_midnight: bool = True
    recent_event_ids: int = 8
    max_categories: int = 16
    max_products: int = 16

    def __post_init__(self) -> None:
        """Refuse inconsistent options.

        >>> SessionOptions(allowed_lateness_ms=3_600_000)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pipeline.sessions.errors.SessionError: allowed_lateness_ms must be shorter than ...
        """
        if self.inactivity_gap_ms <= 0 or self.allowed_lateness_ms < 0 or self.state_ttl_ms <= 0:
            raise SessionError("session gap and TTL must be positive and lateness not negative")
        if self.allowed_lateness_ms >= self.inactivity_gap_ms:
            raise SessionError("allowed_lateness_ms must be shorter than inactivity_gap_ms")
