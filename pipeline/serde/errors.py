"""Why a message could not be used: one exception per dead-letter reason.

Each class carries a stable ``reason`` code, written to ``DeadLetter.error_class``.

>>> UnknownSchema("fingerprint 0x1 is not in the registry").reason
'unknown_schema'
"""

from __future__ import annotations

__all__ = [
    "DecodeError",
    "GarbageBytes",
    "InvalidEvent",
    "LateEvent",
    "ProcessingError",
    "SerdeError",
    "TruncatedMessage",
    "UnknownSchema",
    "WrongSchema",
]


class SerdeError(ValueError):
    """Base class: the message or record is unusable; ``reason`` names why."""

    reason = "error"


class DecodeError(SerdeError):
    """The bytes are not a readable Avro single-object message."""

    reason = "corrupt"


class GarbageBytes(DecodeError):
    """No single-object marker (``C3 01``): not an rtp message at all."""

    reason = "garbage"


class TruncatedMessage(DecodeError):
    """The body ended before the record did (or bytes were left over)."""

    reason = "truncated"


class UnknownSchema(DecodeError):
    """The fingerprint names no schema the registry knows."""

    reason = "unknown_schema"


class WrongSchema(DecodeError):
    """A known schema, but not one this topic carries."""

    reason = "wrong_schema"


class InvalidEvent(SerdeError):
    """Schema-valid but meaningless (missing ids, future time, negative values...)."""

    reason = "invalid"


class LateEvent(SerdeError):
    """Older than the allowed lateness of its session: it cannot be folded in."""

    reason = "late_event"


class ProcessingError(SerdeError):
    """A valid record the core could not process (kept in the DLQ, never crashes a worker)."""

    reason = "processing_error"
