"""Detector timers in the pure engine: which visitors are due, what firing produces.

The guarantee: a timer's outputs are a pure function of the visitor's state and the due
time. Firing them from a tick at any moment (the worker's wall clock) or only when the
visitor's next event comes (and at the end of the stream) yields the same records.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.client.samples import click_event
from pipeline.engine import Engine, EngineOptions, EventResult, timer_trigger_id
from pipeline.engine.visitors import Visitors
from pipeline.signals import DeadClickOptions, HesitationOptions

T0 = 1_800_000_000_000
DWELL = HesitationOptions().min_dwell_ms
WINDOW = DeadClickOptions().window_ms
ENGINE = Engine(EngineOptions(), learn_inline=False)  # never learns: shared by the examples

#: (event type, page type, interactive click?) a visitor may do next.
STEPS = [("page_view", "shipping_returns", None), ("page_view", "pricing", None),
         ("page_view", "product", None), ("page_view", "home", None),
         ("click", "home", False), ("click", "product", True), ("scroll", "product", None)]


def _event(visitor: str, i: int, t: int, step: tuple[str, str, bool | None]) -> dict[str, Any]:
    kind, page_type, interactive = step
    parts: dict[str, Any] = {}
    if kind == "click":
        parts["click"] = {"x": 5, "y": 5, "target": "#x", "interactive": interactive}
    if kind == "scroll":
        parts["scroll"] = {"depth_pct": 50}
    return click_event(visitor, kind, t, event_id=f"{visitor}-{i}", page_type=page_type,
                       url=f"https://shop.example/{page_type}", **parts)


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[int]]:
    """Several visitors' events merged in event-time order, and tick times among them."""
    events = []
    for v in range(draw(st.integers(1, 4))):
        t = T0 + draw(st.integers(0, 5_000))
        for i in range(draw(st.integers(1, 6))):
            t += draw(st.sampled_from([200, 900, 1_000, 1_001, 1_500, 20_000, 29_999,
                                       30_000, 45_000]))
            events.append(_event(f"v{v}", i, t, draw(st.sampled_from(STEPS))))
    events.sort(key=lambda e: (e["event_time"], e["event_id"]))
    end = events[-1]["event_time"] + DWELL + WINDOW + 1
    ticks = draw(st.lists(st.integers(T0, end), max_size=8))
    return events, sorted(ticks)


def _records(result: EventResult) -> list[Any]:
    out: list[Any] = [("signal", s) for s in result.signals]
    if result.decision is not None:
        out.append(("decision", result.decision.decision, result.decision.log))
    return out


def _run(events: list[dict[str, Any]], ticks: list[int]) -> dict[str, list[Any]]:
    """Per visitor, every signal and decision, with a tick before each event past it."""
    visitors = Visitors(ENGINE)
    out: dict[str, list[Any]] = {}
    ticks = list(ticks)

    def fire(now: int) -> None:
        for visitor, fired in visitors.fire_due(now):
            out.setdefault(visitor, []).extend(_records(fired))

    for event in events:
        while ticks and ticks[0] <= event["event_time"]:
            fire(ticks.pop(0))
        result = visitors.event(event)
        mine = out.setdefault(str(event["visitor_id"]), [])
        for fired in result.timers:
            mine.extend(_records(fired))
        mine.extend(_records(result))
    fire(events[-1]["event_time"] + DWELL + WINDOW + 1)  # the end of the stream
    return out


@settings(max_examples=60, deadline=None)
@given(streams())
def test_ticks_at_any_moment_produce_what_the_next_events_would(
        stream: tuple[list[dict[str, Any]], list[int]]) -> None:
    events, ticks = stream
    assert _run(events, ticks) == _run(events, [])


@settings(max_examples=60, deadline=None)
@given(streams())
def test_the_due_index_fires_exactly_the_visitors_a_scan_finds_due(
        stream: tuple[list[dict[str, Any]], list[int]]) -> None:
    events, ticks = stream
    visitors = Visitors(ENGINE)
    for event in events:
        while ticks and ticks[0] <= event["event_time"]:
            now = ticks.pop(0)
            scan = {v for v, s in visitors.states.items()
                    if (due := ENGINE.timer_due_ms(s)) is not None and due <= now}
            fired = visitors.fire_due(now)
            assert {v for v, _ in fired} == scan  # nothing missed, nothing extra
            assert all(ENGINE.timer_due_ms(visitors.states[v]) is None
                       or ENGINE.timer_due_ms(visitors.states[v]) > now  # type: ignore[operator]
                       for v in visitors.states)
        visitors.event(event)


def test_a_dwell_timer_fires_at_its_due_time_through_the_decision() -> None:
    engine = Engine(EngineOptions(), learn_inline=False)
    page = click_event("v", "page_view", T0, event_id="p1", page_type="shipping_returns",
                       url="https://shop.example/shipping")
    state = engine.on_event(None, page).state
    assert state is not None and engine.timer_due_ms(state) == T0 + DWELL
    assert engine.on_timers(state, T0 + DWELL - 1) == []
    [fired] = engine.on_timers(state, T0 + DWELL + 12_345)  # late: decided at the due time
    [signal] = fired.signals
    assert (signal["rule"], signal["trigger_event_id"], signal["event_time"],
            signal["details"]) == ("hesitation", "p1", T0,
                                   {"variant": "dwell", "page_type": "shipping_returns",
                                    "dwell_ms": str(DWELL)})
    assert fired.decision is not None
    decision = fired.decision.decision
    assert (decision["trigger_event_id"], decision["created_at"]) == (
        timer_trigger_id("v", T0 + DWELL), T0 + DWELL)
    assert fired.decision.log["categorical_features"]["page_type"] == "shipping_returns"
    assert engine.timer_due_ms(state) is None and engine.on_timers(state, T0 + 10 * DWELL) == []


def test_a_dead_click_timer_fires_one_ms_past_its_window() -> None:
    engine = Engine(EngineOptions(), learn_inline=False)
    click = click_event("v", "click", T0, event_id="c1", page_type="home",
                        click={"x": 1, "y": 1, "target": "img", "interactive": False})
    state = engine.on_event(None, click).state
    assert state is not None and engine.timer_due_ms(state) == T0 + WINDOW + 1
    [fired] = engine.on_timers(state, T0 + WINDOW + 1)
    assert [(s["rule"], s["trigger_event_id"]) for s in fired.signals] == [("dead_click", "c1")]
    assert engine.timer_due_ms(state) is None


def test_a_timer_silenced_by_the_cool_down_changes_the_state_and_decides_nothing() -> None:
    engine = Engine(EngineOptions(), learn_inline=False)
    state = None
    for i in range(3):  # three views of one product: the revisit hesitation fires
        state = engine.on_event(state, click_event("v", "page_view", T0 + i * 1_000,
                                                   event_id=f"p{i}")).state
    page = click_event("v", "page_view", T0 + 5_000, event_id="s", page_type="pricing",
                       url="https://shop.example/pricing")
    state = engine.on_event(state, page).state
    assert state is not None and engine.timer_due_ms(state) == T0 + 5_000 + DWELL
    [fired] = engine.on_timers(state, T0 + 5_000 + DWELL)  # within the 5-minute cool-down
    assert (fired.signals, fired.decision) == ([], None)
    assert engine.timer_due_ms(state) is None  # not due again


def test_the_next_event_fires_a_due_timer_first_at_its_due_time() -> None:
    engine = Engine(EngineOptions(), learn_inline=False)
    page = click_event("v", "page_view", T0, event_id="p1", page_type="pricing",
                       url="https://shop.example/pricing")
    state = engine.on_event(None, page).state
    later = engine.on_event(state, click_event("v", "page_view", T0 + 90_000, event_id="p2",
                                               page_type="home"))
    [fired] = later.timers
    assert [s["details"]["dwell_ms"] for s in fired.signals] == [str(DWELL)]
    assert later.signals == []  # the event itself finds the dwell already fired
    assert fired.decision is not None
    assert fired.decision.decision["trigger_event_id"] == timer_trigger_id("v", T0 + DWELL)


def test_an_outcome_after_a_timers_due_time_fires_the_timer_first() -> None:
    page = click_event("v", "page_view", T0, event_id="p1", page_type="pricing",
                       url="https://shop.example/pricing")

    def outcome(decision_id: str) -> dict[str, Any]:
        return {"outcome_id": "o1", "decision_id": decision_id, "visitor_id": "v",
                "kind": "dismissed", "value": 0.0, "event_time": T0 + 40_000}

    ticked = ENGINE.on_event(None, page)
    assert ticked.state is not None and ticked.decision is not None
    [by_tick] = ENGINE.on_timers(ticked.state, T0 + DWELL)
    after_tick = ENGINE.on_outcome(ticked.state, outcome(ticked.decision.decision_id))
    assert after_tick.timers == []

    direct = ENGINE.on_event(None, page)
    assert direct.state is not None and direct.decision is not None
    by_outcome = ENGINE.on_outcome(direct.state, outcome(direct.decision.decision_id))
    assert [_records(t) for t in by_outcome.timers] == [_records(by_tick)]
    assert by_outcome.state == after_tick.state
