"""A finished session makes the person a returning visitor next time.

>>> state = apply_session_end(None, key="v1", session_id="v1:1", ended_ms=1_700_000_000_000)
>>> state.sessions, state.view().returning
(1, True)
"""

from __future__ import annotations

from pipeline.profiles.options import ProfileOptions
from pipeline.profiles.state import ProfileState

__all__ = ["apply_session_end"]


def apply_session_end(
    state: ProfileState | None,
    *,
    key: str,
    session_id: str,
    ended_ms: int,
    options: ProfileOptions | None = None,
) -> ProfileState | None:
    """Count a completed session (idempotent for the same ``session_id``).

    ``key`` is the profile key (user id if the visitor is identified, else the
    visitor id), used only to create the profile when there is none yet. Returns
    ``None`` when there is no profile and consent is required but not given, and
    ``state`` unchanged when personalization is not allowed or the session was
    already counted.

    >>> s = apply_session_end(None, key="v1", session_id="v1:1", ended_ms=5)
    >>> apply_session_end(s, key="v1", session_id="v1:1", ended_ms=5).sessions
    1
    """
    opts = options or ProfileOptions()
    if state is None:
        state = ProfileState(key=key)
        if not state.allows_personalization(opts):
            return None
    elif not state.allows_personalization(opts) or state.last_session_id == session_id:
        return state
    new = state.copy()
    new.sessions += 1
    new.last_session_id = session_id
    new.updated_ms = max(new.updated_ms, ended_ms)
    return new
