"""calculator_fiddling: >= 3 calculator changes on the same calculator in the session."""

from __future__ import annotations

from pipeline.signals import SignalEngine, SignalState


def _calc(engine, state, events):
    return [s for ev in events for s in engine.observe(state, ev, "s", "v1")
            if s["rule"] == "calculator_fiddling"]


def _changes(make_event, n, *, start=0, props=None, page_type="pricing"):
    return [make_event("custom", start + i * 10_000, page_type=page_type,
                       custom="calculator_change", properties=props or {"calculator": "loan"})
            for i in range(n)]


def test_fires_at_threshold(make_event, assert_valid_signal):
    events = _changes(make_event, 3)
    out = _calc(SignalEngine(), SignalState(), events)
    assert [s["trigger_event_id"] for s in out] == [events[2]["event_id"]]
    assert out[0]["details"] == {"calculator": "calc:loan", "changes": "3"}
    assert_valid_signal(out[0])


def test_any_change_on_a_calculator_page_counts(make_event):
    events = [make_event("form_submit", i * 1_000, page_type="calculator", form_id="mortgage")
              for i in range(3)]
    assert len(_calc(SignalEngine(), SignalState(), events)) == 1


def test_does_not_fire_below_threshold(make_event):
    assert _calc(SignalEngine(), SignalState(), _changes(make_event, 2)) == []
    split = [*_changes(make_event, 2, props={"calculator": "loan"}),
             *_changes(make_event, 2, start=50_000, props={"calculator": "mortgage"})]
    assert _calc(SignalEngine(), SignalState(), split) == []
    other = [make_event("custom", i, page_type="home", custom="feature_view") for i in range(5)]
    assert _calc(SignalEngine(), SignalState(), other) == []


def test_respects_cooldown(make_event):
    engine, state = SignalEngine(), SignalState()
    out = _calc(engine, state, _changes(make_event, 8, props={"input": "rate"}))  # 70 s
    out += _calc(engine, state, _changes(make_event, 1, start=400_000, props={"input": "rate"}))
    assert [s["event_time"] - out[0]["event_time"] for s in out] == [0, 380_000]
