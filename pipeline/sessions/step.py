"""What one event did to a visitor's session.

>>> from pipeline.sessions.state import SessionState
>>> st = SessionState(visitor_id="v", first_event_ms=0, started_ms=0, last_ms=0)
>>> step = SessionStep(state=st, late=True, late_reason="too late")
>>> step.late, step.new_session, step.ended is None
(True, False, True)
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.sessions.state import SessionState
from pipeline.sessions.summary import SessionSummary

__all__ = ["SessionStep"]


@dataclass(frozen=True, slots=True)
class SessionStep:
    """The result of :meth:`Sessionizer.apply`.

    Attributes
    ----------
    state
        The visitor's state to write back (``table[visitor_id] = state``); the
        same object passed in unless a new session started.
    new_session
        This event started a session (first event of the visitor, or the
        previous session ended).
    ended
        Final summary of the session this event ended (gap or midnight), else ``None``.
    previous
        Final state of that ended session (decide its pending signals with
        ``SignalEngine.close(previous.signals, ...)``), else ``None``.
    late
        The event is older than the allowed lateness (or belongs to a session
        that already ended): ``state`` is unchanged; route it to the DLQ with
        ``late_reason``.
    late_reason
        Why it is late.
    duplicate
        The event id was already folded in (redelivery): ``state`` is unchanged,
        nothing to emit, not an error.

    >>> SessionStep(state=SessionState(visitor_id="v", first_event_ms=0, started_ms=0,
    ...             last_ms=0), new_session=True).new_session
    True
    """

    state: SessionState
    new_session: bool = False
    ended: SessionSummary | None = None
    previous: SessionState | None = None
    late: bool = False
    late_reason: str | None = None
    duplicate: bool = False
