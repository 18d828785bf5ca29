"""Per-visitor state: the session (with detector state), decision history, last intent class.

One compact value per visitor in the worker's ``visitors`` table.

>>> state = VisitorState()
>>> VisitorState.from_bytes(state.to_bytes()) == state
True
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from pipeline.decide import DecisionHistory
from pipeline.sessions import SessionState

__all__ = ["VisitorState", "VisitorStateError"]

_VERSION = 2
_HEADER_V1 = struct.Struct("<BII")  # version, len(session), len(history)
_HEADER = struct.Struct("<BIIq")  # version, len(session), len(history), source offset


class VisitorStateError(ValueError):
    """Stored visitor state is not in a format this version reads."""


@dataclass
class VisitorState:
    """What the engine keeps per visitor between events."""

    session: SessionState | None = None
    history: DecisionHistory = field(default_factory=DecisionHistory)
    intent_class: str = "browsing"
    #: Offset (in the visitor's partition of clickstream.events) of the last event applied;
    #: a redelivered event at or below it is already in this state. -1: none known.
    source_offset: int = -1

    def to_bytes(self) -> bytes:
        """Length-prefixed parts, each in its own versioned format."""
        session = self.session.to_bytes() if self.session is not None else b""
        history = self.history.to_bytes()
        intent = self.intent_class.encode()
        header = _HEADER.pack(_VERSION, len(session), len(history), self.source_offset)
        return header + session + history + intent

    @classmethod
    def from_bytes(cls, data: bytes) -> VisitorState:
        """Read what :meth:`to_bytes` wrote; refuses other versions with a clear error."""
        if len(data) < _HEADER_V1.size:
            raise VisitorStateError(f"visitor state of {len(data)} bytes is too short")
        version = data[0]
        if version == 1:
            _, n_session, n_history = _HEADER_V1.unpack_from(data)
            source_offset, start = -1, _HEADER_V1.size
        elif version == _VERSION and len(data) >= _HEADER.size:
            _, n_session, n_history, source_offset = _HEADER.unpack_from(data)
            start = _HEADER.size
        else:
            raise VisitorStateError(f"visitor state version {version} is not {_VERSION}")
        session_bytes = data[start:start + n_session]
        history_bytes = data[start + n_session:start + n_session + n_history]
        intent = data[start + n_session + n_history:].decode()
        return cls(
            session=SessionState.from_bytes(session_bytes) if n_session else None,
            history=DecisionHistory.from_bytes(history_bytes),
            intent_class=intent or "browsing",
            source_offset=source_offset,
        )
