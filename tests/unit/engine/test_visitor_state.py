"""Visitor state bytes: round trip, the previous format still read, garbage refused."""

from __future__ import annotations

import struct

import pytest

from pipeline.client.samples import click_event
from pipeline.engine import Engine, VisitorState, VisitorStateError


def test_round_trip_keeps_the_source_offset() -> None:
    state = Engine().on_event(None, click_event("v", "page_view", 1_800_000_000_000)).state
    assert state is not None
    state.source_offset = 42
    back = VisitorState.from_bytes(state.to_bytes())
    assert back == state and back.source_offset == 42


def test_version_1_states_are_still_read_without_an_offset() -> None:
    state = Engine().on_event(None, click_event("v", "page_view", 1_800_000_000_000)).state
    assert state is not None and state.session is not None
    session, history = state.session.to_bytes(), state.history.to_bytes()
    v1 = struct.pack("<BII", 1, len(session), len(history)) + session + history + b"browsing"
    back = VisitorState.from_bytes(v1)
    assert back.session == state.session and back.source_offset == -1


@pytest.mark.parametrize("data", [b"", b"\x09" + bytes(20), b"\x02\x00"])
def test_unknown_or_short_formats_are_refused(data: bytes) -> None:
    with pytest.raises(VisitorStateError):
        VisitorState.from_bytes(data)
