"""Signed visitor tokens: who may read a visitor's decisions and report its outcomes.

A token is ``<visitor id, base64url>.<expiry, epoch s>.<HMAC-SHA256, base64url>``,
the HMAC taken with a secret key over a domain tag, the visitor id and the expiry.
The collector issues tokens (``POST /v1/visitor``: a new, server-chosen visitor id,
or a renewal of a token it signed); the delivery service checks them on
``GET /v1/decisions``, ``GET /v1/stream`` and ``POST /v1/outcomes``. Knowing a
visitor id is not enough to read its decisions.

Rotation: :class:`VisitorTokens` signs with the first key and accepts any of its
keys (normally two). To rotate, put the new key first and keep the old one second
(``RTP_VISITOR_TOKEN_KEYS=new,old``) on every service; once the old tokens have
expired (``ttl_s``, 1 day) drop the old key.

>>> tokens = VisitorTokens(("new-key-0123456789", "old-key-0123456789"), clock=lambda: 1_000.0)
>>> token = tokens.issue("v-1")
>>> tokens.verify(token)
'v-1'
>>> VisitorTokens(("old-key-0123456789",), clock=lambda: 1_000.0).verify(token)
Traceback (most recent call last):
...
pipeline.web.visitor_token.BadToken: the visitor token is not valid
>>> rotated = VisitorTokens(("other-key-0123456789", "new-key-0123456789"), clock=lambda: 1e3)
>>> rotated.verify(token)
'v-1'
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["MAX_TOKEN_CHARS", "BadToken", "VisitorTokens", "bearer", "check_bearer",
           "check_metrics_token", "new_key", "tokens_for"]

#: Longest token accepted (a 256-character visitor id encoded, an expiry and a MAC).
MAX_TOKEN_CHARS = 512
_TAG = b"rtp-visitor-token-v1\x1f"


class BadToken(ValueError):
    """A token that is missing, malformed, forged, expired (401), or for another visitor
    or decision (403).

    >>> BadToken("the visitor token has expired").status, BadToken("x", status=403).status
    (401, 403)
    """

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None.

    >>> bearer("Bearer abc"), bearer("Basic abc"), bearer(None)
    ('abc', None, None)
    """
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def new_key() -> str:
    """A fresh random key (32 bytes, URL-safe text).

    >>> len(new_key()) >= 43
    True
    """
    return secrets.token_urlsafe(32)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class VisitorTokens:
    """Issue and verify tokens with ``keys`` (first signs, all verify).

    Parameters
    ----------
    keys
        Secret keys, newest first; at least one, each at least 16 characters.
    ttl_s
        How long a token is valid (1 day).
    renew_s
        How long after its expiry a token may still be exchanged for a new one
        (30 days): a returning visitor keeps its id.

    >>> VisitorTokens(("short",))
    Traceback (most recent call last):
    ...
    ValueError: visitor token keys must be at least 16 characters
    """

    keys: tuple[str, ...]
    ttl_s: int = 24 * 3600
    renew_s: int = 30 * 24 * 3600
    clock: Callable[[], float] = field(default=time.time, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("at least one visitor token key is needed")
        if any(len(k) < 16 for k in self.keys):
            raise ValueError("visitor token keys must be at least 16 characters")
        if self.ttl_s < 1 or self.renew_s < 0:
            raise ValueError("ttl_s must be positive and renew_s not negative")

    @staticmethod
    def _mac(key: str, visitor_id: str, expires_s: int) -> bytes:
        message = _TAG + visitor_id.encode() + b"\x1f" + str(expires_s).encode()
        return hmac.new(key.encode(), message, hashlib.sha256).digest()

    def issue(self, visitor_id: str) -> str:
        """A token for ``visitor_id`` valid for ``ttl_s`` from now.

        >>> t = VisitorTokens(("0123456789abcdef",), clock=lambda: 0.0).issue("v")
        >>> t.split(".")[:2]
        ['dg', '86400']
        """
        expires = int(self.clock()) + self.ttl_s
        return ".".join((_b64(visitor_id.encode()), str(expires),
                         _b64(self._mac(self.keys[0], visitor_id, expires))))

    def expires_at(self, token: str) -> int:
        """The expiry (epoch s) written in ``token`` (not verified: for the client's use)."""
        return int(token.split(".")[1])

    def due_for_renewal(self, token: str) -> bool:
        """Whether ``token`` (already verified) has less than half of ``ttl_s`` left: the
        collector's answer to a request carrying it then brings a new one.

        >>> tokens = VisitorTokens(("0123456789abcdef",), ttl_s=100, clock=lambda: 0.0)
        >>> token = tokens.issue("v")
        >>> tokens.due_for_renewal(token)
        False
        >>> VisitorTokens(("0123456789abcdef",), ttl_s=100, clock=lambda: 51.0
        ...               ).due_for_renewal(token)
        True
        """
        return self.expires_at(token) - self.clock() < self.ttl_s / 2

    def verify(self, token: str | None, *, renewing: bool = False) -> str:
        """The visitor id of a valid ``token``, or :class:`BadToken` saying why not.

        ``renewing`` accepts a token up to ``renew_s`` past its expiry.

        >>> tokens = VisitorTokens(("0123456789abcdef",), ttl_s=10, clock=lambda: 0.0)
        >>> old = tokens.issue("v")
        >>> later = VisitorTokens(("0123456789abcdef",), ttl_s=10, clock=lambda: 60.0)
        >>> later.verify(old)
        Traceback (most recent call last):
        ...
        pipeline.web.visitor_token.BadToken: the visitor token has expired
        >>> later.verify(old, renewing=True)
        'v'
        >>> later.verify(old[:-2] + "AA")
        Traceback (most recent call last):
        ...
        pipeline.web.visitor_token.BadToken: the visitor token is not valid
        """
        if not token:
            raise BadToken("a visitor token is required (from the collector's /v1/visitor)")
        if len(token) > MAX_TOKEN_CHARS:
            raise BadToken("the visitor token is too long")
        parts = token.split(".")
        if len(parts) != 3 or not parts[1].isascii() or not parts[1].isdigit() \
                or len(parts[1]) > 12:
            raise BadToken("the visitor token is malformed")
        try:
            raw_visitor, mac = _unb64(parts[0]), _unb64(parts[2])
            visitor = raw_visitor.decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise BadToken("the visitor token is malformed") from None
        if _b64(raw_visitor) != parts[0] or _b64(mac) != parts[2]:
            raise BadToken("the visitor token is malformed")  # one spelling per token
        expires = int(parts[1])
        if not any(hmac.compare_digest(mac, self._mac(k, visitor, expires)) for k in self.keys):
            raise BadToken("the visitor token is not valid")
        now = self.clock()
        if now >= expires + (self.renew_s if renewing else 0):
            raise BadToken("the visitor token has expired")
        return visitor

    def check(self, token: str | None, visitor_id: str | None) -> str:
        """The token's visitor, which must be ``visitor_id`` when that is given.

        >>> tokens = VisitorTokens(("0123456789abcdef",), clock=lambda: 0.0)
        >>> tokens.check(tokens.issue("v1"), "v2")
        Traceback (most recent call last):
        ...
        pipeline.web.visitor_token.BadToken: the visitor token is for another visitor
        """
        visitor = self.verify(token)
        if visitor_id is not None and not hmac.compare_digest(visitor.encode(),
                                                              visitor_id.encode()):
            raise BadToken("the visitor token is for another visitor", status=403)
        return visitor


def tokens_for(keys: tuple[str, ...], log: Callable[..., object] | None = None,
               ttl_s: int = 24 * 3600) -> VisitorTokens:
    """Tokens with ``keys``, or with a fresh random key when there are none (``log`` is
    told: such tokens do not survive a restart and no other process accepts them).

    >>> tokens_for(("0123456789abcdef",)).keys
    ('0123456789abcdef',)
    >>> len(tokens_for(()).keys)
    1
    """
    if keys:
        return VisitorTokens(keys, ttl_s)
    if log is not None:
        log("no RTP_VISITOR_TOKEN_KEYS: a random key is used; visitor tokens end with this "
            "process and only it accepts them")
    return VisitorTokens((new_key(),), ttl_s)


def check_bearer(expected: str, authorization: str | None, what: str, setting: str) -> None:
    """Let ``what`` through only with ``Authorization: Bearer <expected>``; with no token
    configured (``setting`` unset) it is refused (403), so it is never open by accident.
    Compared in constant time.

    >>> check_bearer("0123456789abcdef", "Bearer 0123456789abcdef", "/x", "RTP_X_TOKEN")
    >>> check_bearer("", "Bearer anything", "/x", "RTP_X_TOKEN")
    Traceback (most recent call last):
    ...
    pipeline.web.visitor_token.BadToken: /x is off: set RTP_X_TOKEN and send it as \
Authorization: Bearer <token>
    """
    if not expected:
        raise BadToken(f"{what} is off: set {setting} and send it as "
                       "Authorization: Bearer <token>", status=403)
    given = bearer(authorization) or ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise BadToken(f"{what} needs Authorization: Bearer <token> ({setting})")


def check_metrics_token(expected: str, authorization: str | None) -> None:
    """Let ``/metrics`` through only with ``Authorization: Bearer <expected>``; with no
    token configured it is refused (403), so it is never open by accident.

    >>> check_metrics_token("0123456789abcdef", "Bearer 0123456789abcdef")
    >>> check_metrics_token("0123456789abcdef", "Bearer guess")
    Traceback (most recent call last):
    ...
    pipeline.web.visitor_token.BadToken: /metrics needs Authorization: Bearer <token> \
(RTP_*_METRICS_TOKEN)
    """
    check_bearer(expected, authorization, "/metrics", "RTP_*_METRICS_TOKEN")
