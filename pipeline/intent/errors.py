"""Errors of the intent package.

>>> issubclass(CheckpointMismatch, CheckpointError)
True
"""

from __future__ import annotations

__all__ = ["CheckpointError", "CheckpointMismatch"]


class CheckpointError(ValueError):
    """A checkpoint cannot be read: not a checkpoint, truncated or corrupt.

    >>> str(CheckpointError("not an rtp intent checkpoint"))
    'not an rtp intent checkpoint'
    """


class CheckpointMismatch(CheckpointError):
    """A checkpoint was written by another River version, checkpoint schema or model setup.

    River models are pickled and pickles break across River versions, so a mismatch is
    refused instead of loaded and silently wrong.

    >>> raise CheckpointMismatch("river 0.21.0 != 0.26.1")
    Traceback (most recent call last):
    ...
    pipeline.intent.errors.CheckpointMismatch: river 0.21.0 != 0.26.1
    """
