"""Server-Sent Events: the frame format and a hub fanning decisions out to open streams.

Each ``GET /v1/stream?visitor=…`` connection is a :class:`Subscription` with a
bounded queue. :meth:`StreamHub.publish` puts a new decision on the queues of
that visitor's connections; a connection whose queue is full is marked
``overflowed`` and closed by its handler (the browser's EventSource reconnects
and receives the current state first, so nothing is lost, only repeated).
:meth:`StreamHub.close_all` ends every stream on shutdown.

>>> sse_frame('{"a": 1}', event="decision", event_id="d1")
b'id: d1\\nevent: decision\\ndata: {"a": 1}\\n\\n'
>>> hub = StreamHub(max_queue=1)
>>> sub = hub.subscribe("v1")
>>> hub.publish({"visitor_id": "v1", "decision_id": "d1"}), hub.publish({"visitor_id": "v2"})
(1, 0)
>>> sub.queue.get_nowait()["decision_id"], sub.overflowed
('d1', False)
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["StreamHub", "Subscription", "TooManyStreams", "sse_comment", "sse_frame"]


class TooManyStreams(RuntimeError):
    """The service holds its maximum of open streams; the client should retry later.

    >>> hub = StreamHub(max_streams=0)
    >>> hub.subscribe("v")
    Traceback (most recent call last):
    ...
    pipeline.delivery.stream.TooManyStreams: 0 streams are open; retry later
    """


def sse_frame(data: str, event: str | None = None, event_id: str | None = None,
              retry_ms: int | None = None) -> bytes:
    """One SSE message; multi-line ``data`` becomes several ``data:`` lines.

    >>> sse_frame("a\\nb", retry_ms=2000)
    b'retry: 2000\\ndata: a\\ndata: b\\n\\n'
    """
    lines = []
    if retry_ms is not None:
        lines.append(f"retry: {int(retry_ms)}")
    if event_id is not None:
        lines.append("id: " + event_id.replace("\n", " ").replace("\r", " "))
    if event is not None:
        lines.append("event: " + event.replace("\n", " ").replace("\r", " "))
    lines += ["data: " + line for line in data.replace("\r\n", "\n").split("\n")]
    return ("\n".join(lines) + "\n\n").encode()


def sse_comment(text: str = "") -> bytes:
    """A comment line (ignored by EventSource; keeps the connection alive).

    >>> sse_comment("ping")
    b': ping\\n\\n'
    """
    return f": {text}\n\n".encode()


@dataclass(eq=False)
class Subscription:
    """One open stream of one visitor; ``None`` on the queue means the stream ends.

    >>> sub = StreamHub().subscribe("v1")
    >>> sub.visitor_id, sub.queue.empty(), sub.overflowed
    ('v1', True, False)
    """

    visitor_id: str
    queue: asyncio.Queue[Mapping[str, Any] | None] = field(repr=False)
    overflowed: bool = False


class StreamHub:
    """Open streams by visitor.

    Parameters
    ----------
    max_queue
        Decisions buffered per stream before it is considered too slow.
    max_streams
        Open streams the service accepts in total.

    >>> hub = StreamHub()
    >>> sub = hub.subscribe("v1"); hub.close_all(); sub.queue.get_nowait() is None
    True
    """

    def __init__(self, max_queue: int = 64, max_streams: int = 10_000) -> None:
        self.max_queue = max_queue
        self.max_streams = max_streams
        self._by_visitor: dict[str, set[Subscription]] = {}
        self._open = 0
        self.published = 0

    @property
    def open_streams(self) -> int:
        """How many streams are open.

        >>> StreamHub().open_streams
        0
        """
        return self._open

    def subscribe(self, visitor_id: str) -> Subscription:
        """Open a stream for ``visitor_id``; raises :class:`TooManyStreams` when full."""
        if self._open >= self.max_streams:
            raise TooManyStreams(f"{self._open} streams are open; retry later")
        sub = Subscription(visitor_id, asyncio.Queue(maxsize=self.max_queue))
        self._by_visitor.setdefault(visitor_id, set()).add(sub)
        self._open += 1
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget ``sub`` (idempotent)."""
        subs = self._by_visitor.get(sub.visitor_id)
        if subs is None or sub not in subs:
            return
        subs.discard(sub)
        self._open -= 1
        if not subs:
            del self._by_visitor[sub.visitor_id]

    def publish(self, decision: Mapping[str, Any]) -> int:
        """Queue ``decision`` for its visitor's streams; returns how many got it."""
        delivered = 0
        for sub in list(self._by_visitor.get(str(decision.get("visitor_id")), ())):
            try:
                sub.queue.put_nowait(decision)
                delivered += 1
            except asyncio.QueueFull:
                sub.overflowed = True
        self.published += delivered
        return delivered

    def close_visitor(self, visitor_id: str) -> int:
        """End ``visitor_id``'s open streams at once, dropping what was still queued for
        them (erasure, consent withdrawn); returns how many streams.

        >>> hub = StreamHub()
        >>> sub = hub.subscribe("v1"); _ = hub.publish({"visitor_id": "v1"})
        >>> hub.close_visitor("v1"), sub.queue.get_nowait() is None, sub.queue.empty()
        (1, True, True)
        """
        subs = list(self._by_visitor.get(visitor_id, ()))
        for sub in subs:
            while not sub.queue.empty():
                sub.queue.get_nowait()
            sub.queue.put_nowait(None)
        return len(subs)

    def close_all(self) -> None:
        """End every open stream (shutdown)."""
        for subs in list(self._by_visitor.values()):
            for sub in list(subs):
                try:
                    sub.queue.put_nowait(None)
                except asyncio.QueueFull:
                    sub.overflowed = True
