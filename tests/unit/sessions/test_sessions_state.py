"""SessionState: compact serialization, version refusal, expiry, summaries."""

from __future__ import annotations

import json
import random

import pytest

from pipeline.sessions import (
    Sessionizer,
    SessionOptions,
    SessionState,
    SessionStateFormatError,
    SessionStateVersionError,
)
from pipeline.signals import SignalEngine

BASE_MS = 1_700_000_000_000
TYPES = ["page_view", "click", "scroll", "mouse_move", "search", "add_to_cart", "form_error",
         "custom"]
PAGES = ["home", "listing", "search", "product", "pricing", "shipping_returns", "checkout"]


def _typical_session(make_event, n=50, seed=7):
    rng = random.Random(seed)
    sessionizer, engine = Sessionizer(), SignalEngine()
    state, at = None, 0
    for i in range(n):
        at += rng.randint(500, 25_000)
        kind, page = rng.choice(TYPES), rng.choice(PAGES)
        ev = make_event(
            kind, at, event_id=f"{i:08d}-5f3c-4b1e-9a7d-2c8e4f6a1b3d",
            visitor_id="3f2b8c1e-7d4a-4e9b-a6c5-1d8f0e2b9a7c", page_type=page,
            category=rng.choice(["audio", "tv", "phones"]),
            product_id=f"sku-{rng.randint(1, 20)}" if page == "product" else None,
            click=(rng.randint(0, 40), rng.randint(0, 40), rng.random() < 0.5)
            if kind == "click" else None,
            scroll=rng.random() * 100 if kind == "scroll" else None,
            cart_value=49.0 if kind == "add_to_cart" else None,
            query=rng.choice(["headphones", "noise cancelling"]) if kind == "search" else None,
            form_id="checkout" if kind == "form_error" else None,
            custom="calculator_change" if kind == "custom" else None,
        )
        state = sessionizer.apply(state, ev).state
        engine.observe(state.signals, ev, state.session_id, ev["visitor_id"])
    return state


def test_typical_50_event_session_is_well_under_2_kb(make_event):
    state = _typical_session(make_event)
    assert state.events == 50
    assert state.signals.signal_count > 0  # the detectors' state is included
    assert len(state.to_bytes()) < 1_200


def test_round_trip_is_exact(make_event):
    state = _typical_session(make_event)
    restored = SessionState.from_bytes(state.to_bytes())
    assert restored == state
    assert restored.features(BASE_MS + 10**6) == state.features(BASE_MS + 10**6)


def test_other_versions_are_refused_with_a_clear_error(make_event):
    obj = json.loads(_typical_session(make_event, n=3).to_bytes())
    obj[0] = 2
    with pytest.raises(SessionStateVersionError, match="version 2 is not supported"):
        SessionState.from_bytes(json.dumps(obj).encode())


@pytest.mark.parametrize("data", [b"", b"{}", b"[]", b"not json", b"[1, 2, 3]",
                                  b'[1,"v",0,[0,0,null,null,null],null,null,0,[1],0,0,[0],[],[],'
                                  b'0,[null,null,null],[null,null,null,null,null],null,0,0,null,'
                                  b'0,[null,null,null],0,[],[]]'])
def test_malformed_bytes_are_refused(data):
    with pytest.raises(SessionStateFormatError):
        SessionState.from_bytes(data)


def test_expiry_and_end(make_event):
    opts = SessionOptions()
    state = Sessionizer(opts).apply(None, make_event(at=0, timezone=None)).state
    assert not state.has_ended(BASE_MS + 29 * 60_000, opts)
    assert state.has_ended(BASE_MS + 30 * 60_000, opts)
    assert not state.is_expired(BASE_MS + 2 * 3_600_000 - 1, opts)
    assert state.is_expired(BASE_MS + 2 * 3_600_000, opts)
    summary = state.summary("expired")
    assert summary.to_dict() == {
        "session_id": f"v1:{BASE_MS}", "visitor_id": "v1", "user_id": None,
        "started_ms": BASE_MS, "ended_ms": BASE_MS, "converted": False,
        "conversion_value": 0.0, "conversion_kind": None, "events": 1, "page_views": 1,
        "end_reason": "expired",
    }


def test_has_ended_at_local_midnight(make_event):
    opts = SessionOptions()
    sessionizer = Sessionizer(opts)
    state = sessionizer.apply(None, make_event(at=0)).state  # 23:13:20 Amsterdam
    state = sessionizer.apply(state, make_event(at=25 * 60_000)).state
    assert not state.has_ended(BASE_MS + 46 * 60_000, opts)
    assert state.has_ended(BASE_MS + 47 * 60_000, opts)
