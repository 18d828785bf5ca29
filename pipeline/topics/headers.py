"""Record headers rtp reads beside a record's value.

``rtp-wait: 1`` on a ``clickstream.events`` record says a client waits for that event's
decision (delivery's ``GET /v1/decisions?trigger=<event id>``): the worker then answers
"decided: nothing" on ``personalization.answers`` when the event delivers no action
(:mod:`pipeline.engine.answers`). A header, not a ClickEvent field: it is about the
client's request, not what the visitor did, so the contract, the decision log and replay
stay as they are, and an event without it costs the worker one look at its headers.

>>> is_awaited(wait_headers()), is_awaited(None), is_awaited([("other", b"1")])
(True, False, False)
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["WAIT_HEADER", "is_awaited", "wait_headers"]

#: The record header that marks an event a client waits on (value ``1``).
WAIT_HEADER = "rtp-wait"


def wait_headers() -> list[tuple[str, bytes]]:
    """The headers to produce an awaited event with.

    >>> wait_headers()
    [('rtp-wait', b'1')]
    """
    return [(WAIT_HEADER, b"1")]


def is_awaited(headers: Sequence[tuple[str, bytes | None]] | None) -> bool:
    """Whether a consumed record's headers mark it as waited on (``rtp-wait: 1``).

    >>> is_awaited([(WAIT_HEADER, b"0")]), is_awaited([])
    (False, False)
    """
    if not headers:
        return False
    return any(name == WAIT_HEADER and value == b"1" for name, value in headers)
