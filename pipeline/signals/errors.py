"""Why an event or a stored detector state could not be used.

>>> issubclass(InvalidSignalEventError, SignalError), issubclass(SignalError, ValueError)
(True, True)
"""

from __future__ import annotations

__all__ = ["InvalidSignalEventError", "SignalError", "SignalStateFormatError"]


class SignalError(ValueError):
    """Base class of every signals error.

    >>> SignalError("x").args
    ('x',)
    """


class InvalidSignalEventError(SignalError):
    """A ClickEvent dict the detectors cannot read (missing id, time or page).

    >>> InvalidSignalEventError("ClickEvent.event_id is missing").args[0]
    'ClickEvent.event_id is missing'
    """


class SignalStateFormatError(SignalError):
    """Stored detector state that cannot be read back.

    >>> SignalStateFormatError("bad").args[0]
    'bad'
    """
