"""The final summary of a session, emitted when it ends (to label intent later).

>>> s = SessionSummary("v1:5", "v1", None, 5, 65, True, 20.0, "purchase", 3, 2, "inactivity")
>>> s.to_dict()["converted"], s.duration_ms
(True, 60)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["SessionSummary"]


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """What a finished session amounted to.

    Attributes
    ----------
    session_id, visitor_id, user_id
        Identity (``user_id`` if the visitor identified during the session).
    started_ms, ended_ms
        Event times of the earliest and the latest event.
    converted, conversion_value, conversion_kind
        Whether a purchase event occurred, its summed value and its kind
        (purchase, signup, application, booking).
    events, page_views
        Counts.
    end_reason
        ``inactivity``, ``midnight`` or ``expired`` (state TTL reached).

    >>> SessionSummary("s", "v", None, 0, 0, False, 0.0, None, 1, 1, "expired").end_reason
    'expired'
    """

    session_id: str
    visitor_id: str
    user_id: str | None
    started_ms: int
    ended_ms: int
    converted: bool
    conversion_value: float
    conversion_kind: str | None
    events: int
    page_views: int
    end_reason: str

    @property
    def duration_ms(self) -> int:
        """``ended_ms - started_ms``.

        >>> SessionSummary("s", "v", None, 10, 40, False, 0.0, None, 2, 1, "midnight").duration_ms
        30
        """
        return self.ended_ms - self.started_ms

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (e.g. for JSON or a topic).

        >>> sorted(SessionSummary("s", "v", None, 0, 0, False, 0.0, None, 0, 0,
        ...                       "inactivity").to_dict())[:3]
        ['conversion_kind', 'conversion_value', 'converted']
        """
        return asdict(self)
