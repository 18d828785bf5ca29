"""rage_click: >= 3 clicks within 1 s within 30 px of each other."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

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


def _old_observe(state, event, options):
    """observe_rage_click before the early exits (as of b279252), kept to compare."""
    from pipeline.signals.detection import Detection
    from pipeline.signals.rage_click import _close
    from pipeline.signals.rules import RAGE_CLICK

    if not event.is_click:
        return None
    current = (event.time, event.click_x, event.click_y)
    state.clicks.append(current)
    del state.clicks[: max(0, len(state.clicks) - max(options.history, options.min_clicks))]
    candidates = sorted(
        (c for c in state.clicks[:-1]
         if abs(c[0] - current[0]) <= options.window_ms and _close(c, current, options.radius_px)),
        key=lambda c: abs(c[0] - current[0]),
    )
    cluster = [current]
    for c in candidates:
        times = [m[0] for m in cluster] + [c[0]]
        if max(times) - min(times) <= options.window_ms and all(
            _close(c, m, options.radius_px) for m in cluster
        ):
            cluster.append(c)
    if len(cluster) < options.min_clicks:
        return None
    used = set(cluster)
    state.clicks = [c for c in state.clicks if c not in used]
    times = [m[0] for m in cluster]
    return Detection(
        rule=RAGE_CLICK, trigger_event_id=event.event_id, event_time=event.time,
        strength=len(cluster) / options.min_clicks, page_url=event.url,
        details={"clicks": str(len(cluster)), "span_ms": str(max(times) - min(times)),
                 "target": (event.click_target or "")[:128]})


_CLICK = st.tuples(st.integers(0, 3_000), st.integers(0, 80), st.integers(0, 80),
                   st.sampled_from(["click", "page_view", "scroll"]))


@settings(max_examples=300, deadline=None)
@given(clicks=st.lists(_CLICK, max_size=25), min_clicks=st.integers(1, 5),
       history=st.integers(1, 8), window_ms=st.integers(0, 1_500),
       radius_px=st.integers(0, 60))
def test_the_early_exits_change_nothing(clicks, min_clicks, history, window_ms, radius_px):
    """observe_rage_click (early exits when too few clicks are near) gives what it gave
    before, detection by detection, and leaves the same state, on random click streams."""
    from pipeline.signals.event import SignalEvent
    from pipeline.signals.rage_click import RageClickState, observe_rage_click

    options = RageClickOptions(min_clicks=min_clicks, window_ms=window_ms,
                               radius_px=radius_px, history=history)
    new, old = RageClickState(), RageClickState()
    for i, (t, x, y, kind) in enumerate(clicks):
        event = SignalEvent(f"e{i}", kind, t, "/p", "product", click_x=x, click_y=y,
                            click_target="#b", click_interactive=True)
        assert observe_rage_click(new, event, options) == _old_observe(old, event, options)
        assert new == old
