"""form_struggle: >= 2 form_error events for the same form_id."""

from __future__ import annotations

from pipeline.signals import FormStruggleOptions, SignalEngine, SignalOptions, SignalState


def _form(engine, state, events):
    return [s for ev in events for s in engine.observe(state, ev, "s", "v1")
            if s["rule"] == "form_struggle"]


def test_fires_at_threshold(make_event, assert_valid_signal):
    errors = [make_event("form_error", i * 5_000, page_type="checkout", form_id="address",
                         field="zip") for i in range(2)]
    out = _form(SignalEngine(), SignalState(), errors)
    assert [s["trigger_event_id"] for s in out] == [errors[1]["event_id"]]
    assert out[0]["details"] == {"form_id": "address", "errors": "2", "field": "zip"}
    assert_valid_signal(out[0])


def test_does_not_fire_below_threshold(make_event):
    one_each = [make_event("form_error", i, form_id=f) for i, f in enumerate(["a", "b", "c"])]
    assert _form(SignalEngine(), SignalState(), one_each) == []
    submits = [make_event("form_submit", i, form_id="a") for i in range(3)]
    assert _form(SignalEngine(), SignalState(), submits) == []


def test_respects_cooldown(make_event):
    engine, state = SignalEngine(), SignalState()
    times = [0, 1_000, 60_000, 120_000, 301_000]
    out = _form(engine, state, [make_event("form_error", t, form_id="pay") for t in times])
    assert [s["event_time"] - out[0]["event_time"] for s in out] == [0, 300_000]


def test_custom_threshold(make_event):
    engine = SignalEngine(SignalOptions(form_struggle=FormStruggleOptions(min_errors=3)))
    errors = [make_event("form_error", i, form_id="pay") for i in range(3)]
    out = _form(engine, SignalState(), errors)
    assert [s["trigger_event_id"] for s in out] == [errors[2]["event_id"]]
