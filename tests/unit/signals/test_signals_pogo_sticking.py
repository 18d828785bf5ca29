"""pogo_sticking: >= 3 switches between same-category products within 5 min, with a revisit."""

from __future__ import annotations

from pipeline.signals import SignalEngine, SignalState


def _views(make_event, products, step_ms=20_000, start=0, category="headphones"):
    return [make_event("page_view", start + i * step_ms, page_type="product", category=category,
                       product_id=p) for i, p in enumerate(products)]


def _pogo(engine, state, events):
    out = []
    for ev in events:
        out += [s for s in engine.observe(state, ev, "s", "v1") if s["rule"] == "pogo_sticking"]
    return out


def test_fires_at_threshold(make_event, assert_valid_signal):
    events = _views(make_event, "ABAB")
    out = _pogo(SignalEngine(), SignalState(), events)
    assert [s["trigger_event_id"] for s in out] == [events[3]["event_id"]]
    assert out[0]["details"]["switches"] == "3"
    assert out[0]["details"]["category"] == "headphones"
    assert_valid_signal(out[0])


def test_listing_pages_in_between_do_not_break_the_run(make_event):
    a, b = _views(make_event, "AB")
    events = [a, make_event("page_view", 10_000, page_type="listing"), b,
              *_views(make_event, "AB", start=60_000)]
    assert len(_pogo(SignalEngine(), SignalState(), events)) == 1


def test_does_not_fire_below_threshold(make_event):
    assert _pogo(SignalEngine(), SignalState(), _views(make_event, "ABA")) == []
    assert _pogo(SignalEngine(), SignalState(), _views(make_event, "ABCD")) == []  # no revisit
    assert _pogo(SignalEngine(), SignalState(), _views(make_event, "AABB")) == []  # 1 switch


def test_other_category_or_slow_views_do_not_count(make_event):
    a, b, _, _ = _views(make_event, "ABAB")
    mixed = [a, b, *_views(make_event, "AB", start=40_000, category="tv")]
    assert _pogo(SignalEngine(), SignalState(), mixed) == []
    slow = _views(make_event, "ABAB", step_ms=120_000)  # spans 6 min
    assert _pogo(SignalEngine(), SignalState(), slow) == []


def test_respects_cooldown(make_event):
    engine, state = SignalEngine(), SignalState()
    first = _pogo(engine, state, _views(make_event, "ABAB", step_ms=10_000))
    again = _pogo(engine, state, _views(make_event, "ABAB", step_ms=10_000, start=60_000))
    later = _pogo(engine, state, _views(make_event, "ABAB", step_ms=10_000, start=400_000))
    assert (len(first), len(again), len(later)) == (1, 0, 1)
