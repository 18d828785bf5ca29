"""Why an event or a stored session could not be used.

>>> issubclass(SessionStateVersionError, SessionStateFormatError)
True
"""

from __future__ import annotations

__all__ = [
    "InvalidSessionEventError",
    "SessionError",
    "SessionStateFormatError",
    "SessionStateVersionError",
]


class SessionError(ValueError):
    """Base class of every sessions error.

    >>> isinstance(SessionError("x"), ValueError)
    True
    """


class InvalidSessionEventError(SessionError):
    """A ClickEvent dict the sessionizer cannot use (missing id, visitor, time or page).

    >>> InvalidSessionEventError("ClickEvent.visitor_id is missing or empty").args[0]
    'ClickEvent.visitor_id is missing or empty'
    """


class SessionStateFormatError(SessionError):
    """Stored session bytes that cannot be read back.

    >>> SessionStateFormatError("not JSON").args[0]
    'not JSON'
    """


class SessionStateVersionError(SessionStateFormatError):
    """Stored session bytes of a format version this code does not read.

    >>> SessionStateVersionError("version 2").args[0]
    'version 2'
    """
