"""Property tests: arbitrary event sequences never raise, signals are schema-valid,
a rule never fires twice within its cool-down, and state survives serialization."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.signals import SignalEngine, SignalOptions, SignalState

PAGE_TYPES = ["home", "listing", "search", "product", "pricing", "shipping_returns", "checkout",
              "eligibility", "calculator", "feature", "signup", "other", "weird"]
EVENT_TYPES = ["page_view", "click", "scroll", "mouse_move", "search", "add_to_cart",
               "purchase", "form_error", "form_submit", "custom"]


@st.composite
def event_specs(draw):
    return {
        "event_type": draw(st.sampled_from(EVENT_TYPES)),
        "delta": draw(st.integers(-5_000, 120_000)),
        "page_type": draw(st.sampled_from(PAGE_TYPES)),
        "category": draw(st.sampled_from([None, "audio", "tv"])),
        "product_id": draw(st.sampled_from([None, "A", "B", "C"])),
        "click": (draw(st.integers(0, 60)), draw(st.integers(0, 60)), draw(st.booleans())),
        "query": draw(st.sampled_from(["tv", "TV ", "radio", "x" * 40])),
        "form_id": draw(st.sampled_from(["pay", "address"])),
        "custom": draw(st.sampled_from(["calculator_change", "listing_refresh", "feature_view",
                                        ""])),
        "properties": draw(st.dictionaries(st.sampled_from(["calculator", "input", "listing"]),
                                           st.text(max_size=5), max_size=2)),
        "redeliver": draw(st.none() | st.integers(0, 1_000)),
    }


def _events(make_event, specs):
    at = 0
    events = []
    for i, s in enumerate(specs):
        if s["redeliver"] is not None and events:  # at-least-once: the same event again
            events.append(dict(events[s["redeliver"] % len(events)]))
            continue
        at += s["delta"]
        kind = s["event_type"]
        events.append(make_event(
            kind, at, event_id=f"e{i}", page_type=s["page_type"], category=s["category"],
            product_id=s["product_id"],
            click=s["click"] if kind == "click" else None,
            query=s["query"] if kind == "search" else None,
            form_id=s["form_id"] if kind in ("form_error", "form_submit") else None,
            custom=s["custom"] if kind == "custom" else None,
            properties=s["properties"], validate_schema=False,
        ))
    return events


SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(specs=st.lists(event_specs(), max_size=60), cooldown=st.sampled_from([0, 60_000, 300_000]))
def test_arbitrary_sequences(make_event, assert_valid_signal, specs, cooldown):
    engine = SignalEngine(SignalOptions(cooldown_ms=cooldown))
    state = SignalState()
    emitted = []
    for ev in _events(make_event, specs):
        emitted += engine.observe(state, ev, "v1:1", "v1")
        restored = SignalState.from_obj(json.loads(json.dumps(state.to_obj())))
        assert restored == state
        state = restored
        if ev["event_time"] % 3 == 0:
            emitted += engine.flush(state, ev["event_time"] + 2_000, "v1:1", "v1")
    emitted += engine.close(state, "v1:1", "v1")

    by_rule = defaultdict(list)
    for signal in emitted:
        assert_valid_signal(signal)
        by_rule[signal["rule"]].append(signal["event_time"])
    for times in by_rule.values():
        ordered = sorted(times)
        assert all(b - a >= cooldown for a, b in itertools.pairwise(ordered))
    assert state.signal_count == len(emitted)
    if cooldown > 0:  # a redelivered trigger is suppressed, so ids never repeat
        assert len({s["signal_id"] for s in emitted}) == len(emitted)


@SETTINGS
@given(specs=st.lists(event_specs(), min_size=1, max_size=80))
def test_state_stays_small(make_event, specs):
    engine, state = SignalEngine(), SignalState()
    for ev in _events(make_event, specs):
        engine.observe(state, ev, "v1:1", "v1")
    assert len(json.dumps(state.to_obj(), separators=(",", ":"))) < 1_500
