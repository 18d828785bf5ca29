"""Write keys: Segment's HTTP Basic scheme, or ``writeKey`` in the body (the tracker's beacon).

Segment SDKs send ``Authorization: Basic base64("<writeKey>:")`` — the key as
user name, an empty password. ``sendBeacon`` cannot set headers, so the tracker
(and Segment's own batch format) may put ``writeKey`` in the JSON body instead.
Keys are compared in constant time.

>>> keys = WriteKeys(frozenset({"k1"}))
>>> keys.check("Basic " + base64.b64encode(b"k1:").decode(), None)
'k1'
>>> keys.check(None, {"writeKey": "nope"})
Traceback (most recent call last):
...
pipeline.collector.errors.Unauthorized: the write key is not accepted
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass

from pipeline.collector.errors import Unauthorized

__all__ = ["WriteKeys", "basic_user"]


def basic_user(authorization: str) -> str:
    """The user name of an HTTP Basic ``Authorization`` header.

    >>> basic_user("Basic " + base64.b64encode(b"key:").decode())
    'key'
    >>> basic_user("Bearer x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.collector.errors.Unauthorized: Authorization must be HTTP Basic with the write ...
    """
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise Unauthorized("Authorization must be HTTP Basic with the write key as user name")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Unauthorized("Authorization is not valid base64 of '<writeKey>:'") from None
    return decoded.partition(":")[0]


@dataclass(frozen=True)
class WriteKeys:
    """The accepted keys; ``required=False`` accepts everything (local experiments only).

    >>> WriteKeys(frozenset(), required=False).check(None, {})
    ''
    """

    keys: frozenset[str]
    required: bool = True

    def check(self, authorization: str | None, body: object) -> str:
        """The caller's write key (from the header, else the body), or :class:`Unauthorized`."""
        if authorization:
            key: object = basic_user(authorization)
        elif isinstance(body, dict):
            key = body.get("writeKey")
        else:
            key = None
        if not self.required:
            return key if isinstance(key, str) else ""
        if key is None:
            raise Unauthorized("no write key: send HTTP Basic auth with the write key as user "
                               "name, or writeKey in the body")
        if not isinstance(key, str):
            raise Unauthorized("writeKey must be a string")
        encoded = key.encode()
        if not any(hmac.compare_digest(encoded, k.encode()) for k in self.keys):
            raise Unauthorized("the write key is not accepted")
        return key
