"""Why the collector refuses a request; each carries the HTTP status and a message.

>>> RateLimited("slow down", retry_after_s=2).status, Unauthorized("no key").status
(429, 401)
"""

from __future__ import annotations

__all__ = ["BadPayload", "CollectorError", "Forbidden", "RateLimited", "Unauthorized"]


class CollectorError(ValueError):
    """Base: the request is refused as a whole and nothing is produced.

    >>> all(issubclass(e, CollectorError) for e in (BadPayload, Unauthorized, RateLimited))
    True
    """

    status = 400


class BadPayload(CollectorError):
    """Malformed JSON, a wrong type, a missing field, or a record that makes no sense.

    >>> BadPayload("body.visitor is required").status
    400
    """

    status = 400


class Unauthorized(CollectorError):
    """No write key, or one that is not accepted.

    >>> str(Unauthorized("the write key is not accepted"))
    'the write key is not accepted'
    """

    status = 401


class Forbidden(CollectorError):
    """A credential that was checked and does not hold (a ``userHash`` that does not match).

    >>> Forbidden("userHash does not match").status
    403
    """

    status = 403


class RateLimited(CollectorError):
    """A visitor or a write key sent more than its rate allows.

    >>> RateLimited("retry in 0.5 s", retry_after_s=0.5).retry_after_s
    0.5
    """

    status = 429

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
