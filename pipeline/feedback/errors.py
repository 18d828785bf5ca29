"""Errors of the feedback package.

>>> str(PendingRewardsError("bad bytes"))
'bad bytes'
"""

from __future__ import annotations

__all__ = ["PendingRewardsError", "RewardInputError", "RewardOptionsError", "UnknownOutcomeKind"]


class RewardOptionsError(ValueError):
    """A reward option is out of range.

    >>> str(RewardOptionsError("max_pending 0 must be >= 1"))
    'max_pending 0 must be >= 1'
    """


class UnknownOutcomeKind(ValueError):
    """An outcome kind that is not in the Outcome schema.

    >>> str(UnknownOutcomeKind("unknown outcome kind 'liked'"))
    "unknown outcome kind 'liked'"
    """


class RewardInputError(ValueError):
    """A decision that cannot be awaited (e.g. a non-finite context vector).

    >>> issubclass(RewardInputError, ValueError)
    True
    """


class PendingRewardsError(ValueError):
    """Serialized pending rewards cannot be decoded.

    >>> issubclass(PendingRewardsError, ValueError)
    True
    """
