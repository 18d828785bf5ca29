"""dead_click: a non-interactive click with no page_view within 1 s.

Decided when a later event past the window arrives, by flush(now), or by close().
"""

from __future__ import annotations

from pipeline.signals import SignalEngine, SignalState


def _dead(signals):
    return [s for s in signals if s["rule"] == "dead_click"]


def test_fires_when_the_next_event_is_past_the_window(make_event, assert_valid_signal):
    engine, state = SignalEngine(), SignalState()
    click = make_event("click", 0, click=(5, 5, False), target="img.hero")
    assert engine.observe(state, click, "s", "v1") == []
    assert engine.observe(state, make_event("scroll", 500), "s", "v1") == []  # inside window
    out = _dead(engine.observe(state, make_event("scroll", 1_001), "s", "v1"))
    assert [s["trigger_event_id"] for s in out] == [click["event_id"]]
    assert out[0]["event_time"] == click["event_time"]
    assert out[0]["details"]["target"] == "img.hero"
    assert_valid_signal(out[0])


def test_does_not_fire_below_threshold(make_event):
    engine, state = SignalEngine(), SignalState()
    engine.observe(state, make_event("click", 0, click=(5, 5, False)), "s", "v1")
    # a page_view within 1 s means the click did something
    assert engine.observe(state, make_event("page_view", 1_000), "s", "v1") == []
    assert _dead(engine.observe(state, make_event("scroll", 5_000), "s", "v1")) == []
    assert engine.flush(state, 60_000, "s", "v1") == []


def test_interactive_clicks_are_not_candidates(make_event):
    engine, state = SignalEngine(), SignalState()
    engine.observe(state, make_event("click", 0, click=(5, 5, True)), "s", "v1")
    assert _dead(engine.observe(state, make_event("scroll", 5_000), "s", "v1")) == []


def test_flush_and_close_decide_pending_clicks_once(make_event):
    engine = SignalEngine()
    state = SignalState()
    click = make_event("click", 0, click=(5, 5, False))
    engine.observe(state, click, "s", "v1")
    assert engine.flush(state, click["event_time"] + 999, "s", "v1") == []
    flushed = engine.flush(state, click["event_time"] + 1_001, "s", "v1")
    assert [s["trigger_event_id"] for s in flushed] == [click["event_id"]]
    assert engine.close(state, "s", "v1") == []

    other = SignalState()
    engine.observe(other, click, "s", "v1")
    closed = engine.close(other, "s", "v1")
    assert [s["signal_id"] for s in closed] == [flushed[0]["signal_id"]]  # same id either way


def test_respects_cooldown(make_event):
    engine, state = SignalEngine(), SignalState()
    fired = []
    for at in (0, 10_000, 20_000, 400_000, 410_000):
        fired += _dead(engine.observe(state, make_event("click", at, click=(1, 1, False)),
                                      "s", "v1"))
    fired += _dead(engine.close(state, "s", "v1"))
    times = [s["event_time"] for s in fired]
    assert len(times) == 2
    assert times[1] - times[0] >= 300_000
