"""Identity verification: only a user id the site vouched for may join a device to a person.

Anyone holding the public write key (every browser) can send an ``identify`` — or a batch's
``user`` — naming *someone else's* user id. Taken as sent, the profile side would link that
device to the person and fan the person's profile view (tier, purchases, traits) out to it.
So, as with Intercom's or Segment's identity verification, the site's server signs each
user id with a secret the collector shares::

    userHash = hex(HMAC-SHA256(identity key, userId))      # e.g. Python:
    hmac.new(key.encode(), user_id.encode(), hashlib.sha256).hexdigest()

and the page passes it with the id (the tracker's batch ``userHash``, an identify event's
``userHash``; a Segment call's ``context.userHash``). A user id is *verified* when

- the request used a server write key (``RTP_COLLECTOR_SERVER_KEYS``: secret, for
  server-side SDKs, which could name anyone anyway), or
- its ``userHash`` matches under one of the identity keys (``RTP_COLLECTOR_IDENTITY_KEYS``,
  comma-separated; rotation: add the new key, move the site's signing to it, drop the old).

A user id without a ``userHash`` is a *claim*: kept as a device-scoped pseudonym
(:func:`~pipeline.profiles.pseudonym.device_claim`) that never links the device to anyone.
A ``userHash`` that does not match gets 403 and nothing of the request is produced.

>>> keys = IdentityKeys(frozenset({"site-identity-key-1"}))
>>> good = user_hash("site-identity-key-1", "42")
>>> keys.verified("42", good), keys.verified("42", None), keys.verified("43", None)
(True, False, False)
>>> keys.verified("43", good)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
pipeline.collector.errors.Forbidden: userHash does not match the user id ...
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from pipeline.collector.errors import BadPayload, Forbidden

__all__ = ["MIN_IDENTITY_KEY_CHARS", "IdentityKeys", "user_hash"]

#: Shortest identity key accepted.
MIN_IDENTITY_KEY_CHARS = 16
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def user_hash(key: str, user_id: str) -> str:
    """What the site's server sends with ``user_id``: hex HMAC-SHA256 under ``key``.

    >>> user_hash("site-identity-key-1", "42")[:16]
    'ddf7a577a90b3528'
    """
    return hmac.new(key.encode(), user_id.encode("utf-8", "surrogatepass"),
                    hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class IdentityKeys:
    """The identity keys a ``userHash`` may be signed with (empty: no browser is verified)."""

    keys: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if any(len(k) < MIN_IDENTITY_KEY_CHARS for k in self.keys):
            raise ValueError(f"identity keys must be at least {MIN_IDENTITY_KEY_CHARS} "
                             "characters (RTP_COLLECTOR_IDENTITY_KEYS)")

    def verified(self, user_id: str, given: object) -> bool:
        """Whether ``given`` (a ``userHash`` as sent; None or "" when absent) vouches for the id:
        False when absent; :class:`Forbidden` when it does not match; :class:`BadPayload`
        when it is not 64 hex digits.

        >>> IdentityKeys().verified("42", "00")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pipeline.collector.errors.BadPayload: userHash must be 64 hex digits ...
        """
        if given is None or given == "":  # absent ("" is how rtp.js stores "no hash")
            return False
        if not isinstance(given, str) or not _HEX64.fullmatch(given):
            raise BadPayload("userHash must be 64 hex digits (HMAC-SHA256 of the user id)")
        sent = given.lower().encode()
        # every key is compared (constant time, no early exit that tells which one)
        matches = [hmac.compare_digest(sent, user_hash(k, user_id).encode()) for k in self.keys]
        if not any(matches):
            raise Forbidden("userHash does not match the user id (sign it with an identity key)")
        return True
