"""search_refresh_loop: same search query or listing refresh >= 3 times within 5 min."""

from __future__ import annotations

from pipeline.signals import SignalEngine, SignalState


def _loop(engine, state, events):
    return [s for ev in events for s in engine.observe(state, ev, "s", "v1")
            if s["rule"] == "search_refresh_loop"]


def test_same_query_three_times_fires(make_event, assert_valid_signal):
    queries = ["Hotels Paris", "hotels  paris", " HOTELS PARIS"]
    events = [make_event("search", i * 60_000, page_type="search", query=q)
              for i, q in enumerate(queries)]
    out = _loop(SignalEngine(), SignalState(), events)
    assert [s["trigger_event_id"] for s in out] == [events[2]["event_id"]]
    assert out[0]["details"]["kind"] == "search"
    assert "paris" not in str(out[0]).lower()  # the query itself is never emitted
    assert_valid_signal(out[0])


def test_listing_refresh_three_times_fires(make_event):
    events = [make_event("custom", i * 30_000, page_type="listing", custom="listing_refresh",
                         properties={"listing": "hotels-amsterdam-centre"}) for i in range(3)]
    out = _loop(SignalEngine(), SignalState(), events)
    assert out[0]["details"]["listing"] == "hotels-amsterdam-centre"


def test_does_not_fire_below_threshold(make_event):
    two = [make_event("search", i, query="tv") for i in range(2)]
    assert _loop(SignalEngine(), SignalState(), two) == []
    different = [make_event("search", i, query=q) for i, q in enumerate(["tv", "radio", "tv"])]
    assert _loop(SignalEngine(), SignalState(), different) == []
    spread = [make_event("search", i * 160_000, query="tv") for i in range(3)]  # 320 s
    assert _loop(SignalEngine(), SignalState(), spread) == []


def test_respects_cooldown(make_event):
    engine, state = SignalEngine(), SignalState()
    times = [0, 1_000, 2_000, 10_000, 11_000, 12_000, 310_000, 311_000, 312_000]
    out = _loop(engine, state, [make_event("search", t, query="flights") for t in times])
    assert [s["event_time"] - out[0]["event_time"] for s in out] == [0, 310_000]
