"""Property tests over arbitrary event sequences: sessionizer + signal engine together."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

from fastavro.validation import validate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.profiles import ProfileView
from pipeline.sessions import (
    CATEGORICAL_FEATURES,
    NUMERIC_FEATURES,
    Sessionizer,
    SessionOptions,
    SessionState,
)
from pipeline.signals import SignalEngine

BASE_MS = 1_700_000_000_000
EVENT_TYPES = ["page_view", "click", "scroll", "mouse_move", "search", "add_to_cart",
               "purchase", "form_error", "form_submit", "custom"]
PAGE_TYPES = ["home", "listing", "search", "product", "pricing", "shipping_returns", "checkout",
              "eligibility", "calculator", "feature", "signup", "other", "blog"]
ZONES = ["Europe/Amsterdam", "America/New_York", "Asia/Kolkata", "UTC", "Bad/Zone", None]
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def spec(draw):
    return {
        "kind": draw(st.sampled_from(EVENT_TYPES)),
        "delta": draw(st.one_of(st.integers(-150_000, 60_000), st.integers(60_000, 2_400_000))),
        "page_type": draw(st.sampled_from(PAGE_TYPES)),
        "category": draw(st.sampled_from([None, "audio", "tv"])),
        "product_id": draw(st.sampled_from([None, "A", "B"])),
        "zone": draw(st.sampled_from(ZONES)),
        "user_id": draw(st.sampled_from([None, None, "u1"])),
        "x": draw(st.integers(0, 50)),
        "interactive": draw(st.booleans()),
        "value": draw(st.floats(0, 1e6)),
        "custom": draw(st.sampled_from(["calculator_change", "listing_refresh", "other"])),
        "redeliver": draw(st.none() | st.integers(0, 100)),
    }


profiles = st.none() | st.builds(
    ProfileView, personalization_allowed=st.booleans(), returning=st.booleans(),
    loyalty_tier=st.sampled_from([None, "gold"]), past_purchases=st.integers(0, 5),
)


def _events(make_event, specs, base):
    events, at = [], base - BASE_MS
    for i, s in enumerate(specs):
        if s["redeliver"] is not None and events:
            events.append(dict(events[s["redeliver"] % len(events)]))
            continue
        at += s["delta"]
        kind = s["kind"]
        events.append(make_event(
            kind, at, event_id=f"e{i}", user_id=s["user_id"], page_type=s["page_type"],
            category=s["category"], product_id=s["product_id"], timezone=s["zone"],
            click=(s["x"], s["x"], s["interactive"]) if kind == "click" else None,
            scroll=min(100.0, s["value"]) if kind == "scroll" else None,
            cart_value=s["value"] if kind == "add_to_cart" else None,
            purchase_value=s["value"] if kind == "purchase" else None,
            query="tv" if kind == "search" else None,
            form_id="f" if kind in ("form_error", "form_submit") else None,
            custom=s["custom"] if kind == "custom" else None,
            validate_schema=False,
        ))
    return events


@SETTINGS
@given(specs=st.lists(spec(), max_size=60), profile=profiles,
       base=st.sampled_from([BASE_MS, 1_711_843_000_000, 1_729_990_000_000]))
def test_arbitrary_sequences(make_event, signal_schema, specs, profile, base):
    opts = SessionOptions()
    sessionizer, engine = Sessionizer(opts), SignalEngine()
    events = _events(make_event, specs, base)
    state: SessionState | None = None
    signals: list[dict] = []
    summaries = []
    counted = late = duplicates = 0
    for ev in events:
        before = None if state is None else state.to_bytes()
        step = sessionizer.apply(state, ev, profile)
        if step.late or step.duplicate:
            assert step.state.to_bytes() == before
            late += step.late
            duplicates += step.duplicate
            assert not step.late or step.late_reason
        else:
            signals += engine.observe(step.state.signals, ev, step.state.session_id, "v1")
        if step.ended is not None:
            assert step.new_session and step.previous is not None
            assert step.ended.session_id == step.previous.session_id
            assert step.ended.ended_ms >= step.ended.started_ms
            summaries.append(step.ended)
            counted += step.previous.events
            signals += engine.close(step.previous.signals, step.previous.session_id, "v1")
        state = SessionState.from_bytes(step.state.to_bytes())
        assert state == step.state
        assert len(step.state.to_bytes()) < 2_048
        features = state.features(ev["event_time"])
        assert tuple(features.numeric) == NUMERIC_FEATURES
        assert tuple(features.categorical) == CATEGORICAL_FEATURES
        assert all(math.isfinite(v) and v >= 0 for v in features.numeric.values())
        assert all(d >= 0 for d in state.dwell_ms)
    if state is not None:
        counted += state.events
    assert counted + late + duplicates == len(events)
    assert len({s.session_id for s in summaries}) == len(summaries)

    cooldown = engine.options.cooldown_ms
    by_session_rule = defaultdict(list)
    for signal in signals:
        assert validate(signal, signal_schema, raise_errors=True)
        by_session_rule[signal["session_id"], signal["rule"]].append(signal["event_time"])
    for times in by_session_rule.values():
        ordered = sorted(times)
        assert all(b - a >= cooldown for a, b in itertools.pairwise(ordered))
