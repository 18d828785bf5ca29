"""bench/state_codec.py's pure helpers (no timing)."""

from __future__ import annotations

import doctest

import bench.state_codec
from bench.state_codec import new_visitor_events
from pipeline.decide import assign_arm


def test_doctests() -> None:
    result = doctest.testmod(bench.state_codec, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_new_visitor_events_are_first_home_views_of_distinct_personalized_visitors() -> None:
    events = new_visitor_events("t-", 30, 1_000)
    visitors = [e["visitor_id"] for e in events]
    assert len(set(visitors)) == 30
    assert all(assign_arm(v) == "personalized" for v in visitors)
    assert {e["event_type"] for e in events} == {"page_view"}
    assert [e["event_time"] for e in events] == list(range(1_000, 1_030))
