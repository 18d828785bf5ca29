"""rage_click: >= 3 clicks within 1 s within 30 px of each other."""

from __future__ import annotations

from pipeline.signals import RageClickOptions, SignalEngine, SignalOptions, SignalState


def _clicks(make_event, times, xs, y=100):
    return [make_event("click", t, page_type="product", click=(x, y, True))
            for t, x in zip(times, xs, strict=True)]


def _run(engine, events):
    state = SignalState()
    out = []
    for ev in events:
        out.extend(engine.observe(state, ev, "v1:s", "v1"))
    return [s for s in out if s["rule"] == "rage_click"]


def test_fires_at_threshold(make_event, assert_valid_signal):
    events = _clicks(make_event, [0, 300, 600], [100, 110, 120])
    signals = _run(SignalEngine(), events)
    assert [s["trigger_event_id"] for s in signals] == [events[2]["event_id"]]
    assert_valid_signal(signals[0])
    assert signals[0]["details"]["clicks"] == "3"
    assert signals[0]["event_time"] == events[2]["event_time"]


def test_does_not_fire_below_threshold(make_event):
    assert _run(SignalEngine(), _clicks(make_event, [0, 300], [100, 105])) == []


def test_does_not_fire_when_too_slow_or_too_far(make_event):
    slow = _clicks(make_event, [0, 600, 1_200], [100, 100, 100])  # span 1.2 s
    far = _clicks(make_event, [0, 100, 200], [100, 125, 150])  # 50 px between first and last
    assert _run(SignalEngine(), slow) == []
    assert _run(SignalEngine(), far) == []


def test_window_and_radius_edges_are_inclusive(make_event):
    edge = _clicks(make_event, [0, 500, 1_000], [100, 115, 130])  # 1 000 ms, 30 px
    assert len(_run(SignalEngine(), edge)) == 1


def test_respects_cooldown(make_event):
    engine = SignalEngine()
    burst = [0, 100, 200]
    events = (_clicks(make_event, burst, [10] * 3)
              + _clicks(make_event, [t + 60_000 for t in burst], [10] * 3)  # 1 min later
              + _clicks(make_event, [t + 301_000 for t in burst], [10] * 3))  # after 5 min
    signals = _run(engine, events)
    assert [s["trigger_event_id"] for s in signals] == [
        events[2]["event_id"], events[8]["event_id"]]


def test_custom_threshold(make_event):
    engine = SignalEngine(SignalOptions(rage_click=RageClickOptions(min_clicks=4)))
    assert _run(engine, _clicks(make_event, [0, 100, 200], [5] * 3)) == []
    assert len(_run(engine, _clicks(make_event, [0, 100, 200, 300], [5] * 4))) == 1


def test_out_of_order_click_completes_the_cluster(make_event):
    events = _clicks(make_event, [0, 800, 400], [50, 52, 54])
    assert len(_run(SignalEngine(), events)) == 1
