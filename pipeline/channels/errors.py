"""Errors of the channels package.

>>> issubclass(SinkError, ChannelError) and issubclass(ChannelOptionsError, ChannelError)
True
"""

from __future__ import annotations

__all__ = ["ChannelError", "ChannelOptionsError", "SinkError"]


class ChannelError(Exception):
    """Base of every channels error."""


class ChannelOptionsError(ChannelError, ValueError):
    """A channel option (quiet hours, time zone, caps, sink) is invalid."""


class SinkError(ChannelError):
    """A sink could not take a message (the message stays due and is tried again)."""
