"""The SSE hub and frame format."""

from __future__ import annotations

import pytest

from pipeline.delivery.stream import StreamHub, TooManyStreams, sse_frame


def test_frames_follow_the_event_stream_format() -> None:
    frame = sse_frame('{"a":1}', event="decision", event_id="d\n1")
    assert frame == b'id: d 1\nevent: decision\ndata: {"a":1}\n\n'


def test_publish_reaches_only_that_visitors_streams() -> None:
    hub = StreamHub()
    a1, a2, b = hub.subscribe("a"), hub.subscribe("a"), hub.subscribe("b")
    assert hub.publish({"visitor_id": "a", "decision_id": "d"}) == 2
    assert a1.queue.qsize() == a2.queue.qsize() == 1 and b.queue.empty()
    hub.unsubscribe(a1)
    hub.unsubscribe(a1)  # idempotent
    assert hub.open_streams == 2


def test_a_slow_stream_is_marked_overflowed() -> None:
    hub = StreamHub(max_queue=1)
    sub = hub.subscribe("a")
    hub.publish({"visitor_id": "a"})
    hub.publish({"visitor_id": "a"})
    assert sub.overflowed


def test_close_all_ends_streams_and_the_limit_holds() -> None:
    hub = StreamHub(max_streams=1)
    sub = hub.subscribe("a")
    with pytest.raises(TooManyStreams):
        hub.subscribe("b")
    hub.close_all()
    assert sub.queue.get_nowait() is None
