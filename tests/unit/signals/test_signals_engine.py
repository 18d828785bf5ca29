"""SignalEngine: cool-down bookkeeping, ids, options, errors, state serialization."""

from __future__ import annotations

import json

import pytest

from pipeline.signals import (
    STRUGGLE_RULES,
    InvalidSignalEventError,
    SignalEngine,
    SignalOptions,
    SignalState,
    SignalStateFormatError,
    signal_id,
)


def _rage_burst(make_event, start):
    return [make_event("click", start + i * 100, click=(10, 10, True)) for i in range(3)]


def test_signals_are_deterministic_across_replays(make_event):
    events = _rage_burst(make_event, 0)

    def run():
        state = SignalState()
        return [s for ev in events for s in SignalEngine().observe(state, ev, "s", "v")]

    first, replay = run(), run()
    assert first == replay
    assert [s["signal_id"] for s in first] == [signal_id(events[2]["event_id"], "rage_click")]


def test_fired_rules_and_counts_are_recorded(make_event):
    engine, state = SignalEngine(), SignalState()
    for ev in _rage_burst(make_event, 0) + _rage_burst(make_event, 400_000):
        engine.observe(state, ev, "s", "v")
    assert state.has_fired("rage_click") and not state.has_fired("dead_click")
    assert state.signal_count == 2


def test_disabled_rules_do_not_run(make_event):
    engine = SignalEngine(SignalOptions(enabled_rules=frozenset({"dead_click"})))
    state = SignalState()
    out = [s for ev in _rage_burst(make_event, 0) for s in engine.observe(state, ev, "s", "v")]
    assert out == []


def test_unknown_rule_in_options_is_refused():
    with pytest.raises(ValueError, match="unknown struggle rules"):
        SignalOptions(enabled_rules=frozenset({"rage_clik"}))


def test_cooldown_is_configurable(make_event):
    engine, state = SignalEngine(SignalOptions(cooldown_ms=0)), SignalState()
    out = [s for ev in _rage_burst(make_event, 0) + _rage_burst(make_event, 1_500)
           for s in engine.observe(state, ev, "s", "v")]
    assert len(out) == 2


def test_invalid_event_raises_before_touching_state(make_event):
    state = SignalState()
    before = state.to_obj()
    bad = make_event("click", 0, click=(1, 1, False))
    del bad["event_time"]
    with pytest.raises(InvalidSignalEventError, match="event_time"):
        SignalEngine().observe(state, bad, "s", "v")
    assert state.to_obj() == before


def test_state_round_trips_through_json(make_event):
    engine, state = SignalEngine(), SignalState()
    events = [
        make_event("click", 0, click=(3, 4, False)),
        make_event("page_view", 2_000, page_type="pricing"),
        make_event("page_view", 40_000, page_type="product", category="c", product_id="A"),
        make_event("form_error", 41_000, form_id="f"),
        make_event("search", 42_000, query="q"),
        make_event("custom", 43_000, custom="calculator_change"),
    ]
    for ev in events:
        engine.observe(state, ev, "s", "v")
    restored = SignalState.from_obj(json.loads(json.dumps(state.to_obj())))
    assert restored == state


@pytest.mark.parametrize("bad", [None, [], [1, 2], ["x", [], [], [], [], [None, [], []],
                                                       [], [], []]])
def test_malformed_state_is_refused(bad):
    with pytest.raises(SignalStateFormatError):
        SignalState.from_obj(bad)


def test_rule_names_match_the_contract():
    assert STRUGGLE_RULES == ("rage_click", "dead_click", "pogo_sticking", "hesitation",
                              "form_struggle", "calculator_fiddling", "search_refresh_loop")
