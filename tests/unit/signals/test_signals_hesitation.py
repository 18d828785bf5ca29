"""hesitation: >= 30 s on a doubt page (shipping, pricing, eligibility) or 3 product views."""

from __future__ import annotations

from pipeline.signals import SignalEngine, SignalState


def _hes(signals):
    return [s for s in signals if s["rule"] == "hesitation"]


def test_dwell_fires_on_the_next_event(make_event, assert_valid_signal):
    engine, state = SignalEngine(), SignalState()
    page = make_event("page_view", 0, page_type="shipping_returns", url="https://s.example/ship?x=1")
    assert engine.observe(state, page, "s", "v1") == []
    out = _hes(engine.observe(state, make_event("page_view", 30_000, page_type="home"), "s", "v1"))
    assert [s["trigger_event_id"] for s in out] == [page["event_id"]]
    assert out[0]["details"] == {"variant": "dwell", "page_type": "shipping_returns",
                                 "dwell_ms": "30000"}
    assert out[0]["page_url"] == "https://s.example/ship"  # query string never kept
    assert_valid_signal(out[0])


def test_dwell_fires_while_still_on_the_page_and_only_once(make_event):
    engine, state = SignalEngine(), SignalState()
    engine.observe(state, make_event("page_view", 0, page_type="pricing"), "s", "v1")
    assert _hes(engine.observe(state, make_event("scroll", 10_000, page_type="pricing"),
                               "s", "v1")) == []
    out = _hes(engine.observe(state, make_event("scroll", 31_000, page_type="pricing"), "s", "v1"))
    assert len(out) == 1
    assert _hes(engine.observe(state, make_event("scroll", 400_000, page_type="pricing"),
                               "s", "v1")) == []  # same page visit: once


def test_flush_detects_dwell_with_the_same_signal_id(make_event):
    engine = SignalEngine()
    page = make_event("page_view", 0, page_type="eligibility")
    by_flush, by_event = SignalState(), SignalState()
    engine.observe(by_flush, page, "s", "v1")
    engine.observe(by_event, page, "s", "v1")
    assert engine.flush(by_flush, page["event_time"] + 29_999, "s", "v1") == []
    flushed = engine.flush(by_flush, page["event_time"] + 45_000, "s", "v1")
    seen = _hes(engine.observe(by_event, make_event("click", 45_000, click=(1, 1, True)),
                               "s", "v1"))
    assert [s["signal_id"] for s in flushed] == [s["signal_id"] for s in seen]


def test_does_not_fire_below_threshold(make_event):
    engine, state = SignalEngine(), SignalState()
    engine.observe(state, make_event("page_view", 0, page_type="pricing"), "s", "v1")
    assert _hes(engine.observe(state, make_event("page_view", 29_999), "s", "v1")) == []
    engine.observe(state, make_event("page_view", 40_000, page_type="checkout"), "s", "v1")
    assert _hes(engine.observe(state, make_event("page_view", 200_000), "s", "v1")) == []
    views = [make_event("page_view", 300_000 + i, page_type="product", product_id="sku-1")
             for i in range(2)]
    assert _hes([s for v in views for s in engine.observe(state, v, "s", "v1")]) == []


def test_product_viewed_three_times_fires(make_event):
    engine, state = SignalEngine(), SignalState()
    views = [make_event("page_view", i * 60_000, page_type="product", product_id="sku-9")
             for i in range(3)]
    out = _hes([s for v in views for s in engine.observe(state, v, "s", "v1")])
    assert [s["trigger_event_id"] for s in out] == [views[2]["event_id"]]
    assert out[0]["details"]["variant"] == "revisits"


def test_respects_cooldown(make_event):
    engine, state = SignalEngine(), SignalState()
    out = []
    for start in (0, 100_000, 400_000):
        out += _hes(engine.observe(state, make_event("page_view", start, page_type="pricing"),
                                   "s", "v1"))
        out += _hes(engine.observe(state, make_event("page_view", start + 40_000), "s", "v1"))
    times = [s["event_time"] for s in out]
    assert len(times) == 2
    assert times[1] - times[0] >= 300_000
