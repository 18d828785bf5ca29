"""What the delivery service refuses, each with a message for the caller.

>>> BadRequest("visitor is missing").status
400
"""

from __future__ import annotations

__all__ = ["BadRequest", "DeliveryError", "FeedError"]


class DeliveryError(Exception):
    """Base class of the delivery service's errors.

    >>> issubclass(BadRequest, DeliveryError) and issubclass(FeedError, DeliveryError)
    True
    """


class BadRequest(DeliveryError, ValueError):
    """The caller sent something unusable; answered with ``status`` and the message.

    >>> str(BadRequest("kind is missing")), BadRequest.status
    ('kind is missing', 400)
    """

    status = 400


class FeedError(DeliveryError, RuntimeError):
    """The actions topic cannot be read (missing topic, unreachable broker).

    >>> isinstance(FeedError("no topic"), RuntimeError)
    True
    """
