"""Device authentication: a browser may name a visitor id only with that visitor's token.

The write key is public (every page carries it), so without this check anyone who knows
a visitor id could send events or traits for that visitor, alias it to a user, opt it out,
or steer its state and so its decisions. The collector therefore treats a visitor id sent
from a browser like the delivery service does: it must come with the signed visitor token
(:mod:`pipeline.web.visitor_token`) that the collector issued for that id — the tracker's
batch ``token``, a Segment call's ``context.visitorToken`` (the message's, else the
batch's). Every record a request would produce names a visitor (``anonymousId``, else
``userId``; an alias's ``previousId``; the tracker's ``visitor``), and each must be the
visitor of a valid token sent with it:

- no token: 401 (ask ``POST /v1/visitor`` for a new visitor id and its token);
- a token that is malformed, forged, signed with a retired key or expired: 401;
- a valid token of another visitor: 403;

and nothing of the request is produced. Exempt: a request with a server write key
(``RTP_COLLECTOR_SERVER_KEYS``: a site's server-side SDK, trusted to name any id), and the
tracker's first batch, which names no visitor (the collector chooses a new id and answers
with its token).

When the request's one visitor's token has less than half of its lifetime left, the answer
renews it (:attr:`DeviceProof.renew`).

>>> from pipeline.collector.records import MappedRecord
>>> tokens = VisitorTokens(("0123456789abcdef",), clock=lambda: 1_000.0)
>>> def record(visitor: str, token: object) -> MappedRecord:
...     return MappedRecord("ClickEvent", {"visitor_id": visitor}, "e", visitor_token=token)
>>> prove_devices([record("v-1", tokens.issue("v-1"))], tokens).visitors
('v-1',)
>>> prove_devices([record("v-1", tokens.issue("v-2"))], tokens)
Traceback (most recent call last):
...
pipeline.collector.errors.Forbidden: message 0: the visitor token is for another visitor
>>> prove_devices([record("v-1", None)], tokens)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
pipeline.collector.errors.Unauthorized: message 0: a visitor id sent from a browser needs ...
>>> prove_devices([record("v-1", None)], tokens, trusted=True).visitors
()
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.collector.errors import Forbidden, Unauthorized
from pipeline.collector.records import MappedRecord
from pipeline.web.visitor_token import BadToken, VisitorTokens

__all__ = ["NO_TOKEN", "DeviceProof", "prove_devices"]

#: What a request naming a visitor without its token is told.
NO_TOKEN = ("a visitor id sent from a browser needs that visitor's token (the tracker's "
            "'token', a Segment call's context.visitorToken); without one, ask POST /v1/visitor "
            "for a new visitor id and its token")


@dataclass(frozen=True)
class DeviceProof:
    """What a request proved: the visitors its valid tokens name, and the visitor whose token
    the answer renews (None: none is due, or the request named several visitors).

    >>> DeviceProof().visitors, DeviceProof().renew
    ((), None)
    """

    visitors: tuple[str, ...] = ()
    renew: str | None = None


def prove_devices(records: Sequence[MappedRecord], tokens: VisitorTokens, *,
                  trusted: bool = False) -> DeviceProof:
    """Check that every record's visitor is proven by the visitor token sent with it.

    ``trusted`` (a server write key) skips the check. Raises
    :class:`~pipeline.collector.errors.Unauthorized` (no token, or an invalid or expired one)
    or :class:`~pipeline.collector.errors.Forbidden` (another visitor's token), naming the
    message at fault, never the ids. Each distinct token is verified once.

    >>> tokens = VisitorTokens(("0123456789abcdef",), ttl_s=100, clock=lambda: 0.0)
    >>> old = tokens.issue("v-1")
    >>> later = VisitorTokens(("0123456789abcdef",), ttl_s=100, clock=lambda: 60.0)
    >>> from pipeline.collector.records import MappedRecord
    >>> prove_devices([MappedRecord("ClickEvent", {"visitor_id": "v-1"}, "e",
    ...                             visitor_token=old)], later).renew
    'v-1'
    >>> prove_devices([MappedRecord("ClickEvent", {"visitor_id": "v-1"}, "e",
    ...                             visitor_token=old)], VisitorTokens(
    ...     ("0123456789abcdef",), ttl_s=100, clock=lambda: 100.0))
    Traceback (most recent call last):
    ...
    pipeline.collector.errors.Unauthorized: message 0: the visitor token has expired
    """
    if trusted:
        return DeviceProof()
    verified: dict[str, str] = {}
    for i, mapped in enumerate(records):
        token = mapped.visitor_token
        if token is None or token == "":
            raise Unauthorized(f"message {i}: {NO_TOKEN}")
        if not isinstance(token, str):
            raise Unauthorized(f"message {i}: the visitor token must be a string")
        if token not in verified:
            try:
                verified[token] = tokens.verify(token)
            except BadToken as exc:
                raise Unauthorized(f"message {i}: {exc}") from None
        if not hmac.compare_digest(verified[token].encode("utf-8", "surrogatepass"),
                                   mapped.visitor_id.encode("utf-8", "surrogatepass")):
            raise Forbidden(f"message {i}: the visitor token is for another visitor")
    visitors = tuple(sorted({verified[str(m.visitor_token)] for m in records}))
    renew = None
    if len(visitors) == 1 and any(tokens.due_for_renewal(t) for t in verified):
        renew = visitors[0]
    return DeviceProof(visitors, renew)
