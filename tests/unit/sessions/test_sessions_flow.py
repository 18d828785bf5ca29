"""A journey in, signals and session ends out (the seed's headphones story)."""

from __future__ import annotations

from pipeline.sessions import Sessionizer
from pipeline.signals import SignalEngine

MIN = 60_000


def _flow(events):
    sessionizer, engine = Sessionizer(), SignalEngine()
    state, out = None, []
    for ev in events:
        step = sessionizer.apply(state, ev)
        if step.previous is not None:
            out += [("signal", s["rule"]) for s in
                    engine.close(step.previous.signals, step.previous.session_id, "v1")]
            out.append(("ended", step.ended.session_id, step.ended.converted))
        if step.late:
            out.append(("late", ev["event_id"]))
        elif not step.duplicate:
            out += [("signal", s["rule"]) for s in
                    engine.observe(step.state.signals, ev, step.state.session_id, "v1")]
        state = step.state
    return state, out


def test_headphones_hesitation_journey(make_event):
    hp = {"page_type": "product", "category": "headphones", "product_id": "nc-700",
          "timezone": "UTC"}
    events = [
        make_event(at=0, event_id="a", page_type="listing", timezone="UTC"),
        make_event(at=20_000, event_id="b", **hp),
        make_event(at=60_000, event_id="c", page_type="listing", timezone="UTC"),
        make_event(at=80_000, event_id="d", **hp),
        make_event(at=120_000, event_id="e", page_type="shipping_returns", timezone="UTC"),
        make_event("scroll", 150_000, event_id="f", page_type="shipping_returns", scroll=90.0,
                   timezone="UTC"),
        make_event(at=170_000, event_id="g", **hp),  # third view of the same product
        make_event("click", 175_000, event_id="h", click=(300, 40, False), timezone="UTC", **{
            k: v for k, v in hp.items() if k != "timezone"}),
        make_event(at=5_000, event_id="late", page_type="home", timezone="UTC"),
        make_event(at=175_000 + 31 * MIN, event_id="next", page_type="home", timezone="UTC"),
    ]
    state, out = _flow(events)
    assert out == [
        ("signal", "hesitation"),  # 30 s on shipping & returns, seen at the scroll "f"
        # "g" (third view of the product) is hesitation again, inside the 5 min cool-down
        ("late", "late"),  # 170 s behind the latest event: beyond the 2 min lateness
        ("signal", "dead_click"),  # "h" was pending; decided when the session closed
        ("ended", "v1:1700000000000", False),
    ]
    assert state.session_id == "v1:" + str(1_700_000_000_000 + 175_000 + 31 * MIN)
