"""Sessionizer: starts, gaps, local midnight, lateness, duplicates, ids."""

from __future__ import annotations

import pytest

from pipeline.sessions import (
    InvalidSessionEventError,
    Sessionizer,
    SessionOptions,
)

BASE_MS = 1_700_000_000_000  # 2023-11-14 23:13:20 in Amsterdam

MIN = 60_000


def _run(sessionizer, events, state=None):
    steps = []
    for ev in events:
        step = sessionizer.apply(state, ev)
        steps.append(step)
        state = step.state
    return steps


def test_first_event_starts_a_session_with_a_deterministic_id(make_event):
    step = Sessionizer().apply(None, make_event(at=0))
    assert step.new_session and step.ended is None and step.previous is None
    assert step.state.session_id == f"v1:{BASE_MS}"
    assert step.state.started_ms == step.state.last_ms == BASE_MS


def test_inactivity_gap_ends_the_session_with_a_summary(make_event):
    events = [make_event(at=0), make_event("purchase", 5 * MIN, purchase_value=42.5,
                                           event_id="buy"),
              make_event(at=5 * MIN + 30 * MIN)]
    steps = _run(Sessionizer(), events)
    assert [s.new_session for s in steps] == [True, False, True]
    ended = steps[2].ended
    assert ended is not None
    assert ended.session_id == f"v1:{BASE_MS}"
    assert (ended.converted, ended.conversion_value, ended.conversion_kind) == (
        True, 42.5, "purchase")
    assert (ended.started_ms, ended.ended_ms, ended.end_reason) == (
        BASE_MS, BASE_MS + 5 * MIN, "inactivity")
    assert steps[2].previous is steps[1].state
    new = steps[2].state
    assert new.session_id == f"v1:{BASE_MS + 35 * MIN}"
    assert new.sessions_before == 1 and new.previous_end_ms == BASE_MS + 5 * MIN
    assert not new.converted


def test_just_under_the_gap_continues(make_event):
    steps = _run(Sessionizer(), [make_event(at=0), make_event(at=30 * MIN - 1)])
    assert not steps[1].new_session


def test_local_midnight_splits_the_session(make_event):
    # BASE_MS is 23:13:20 in Amsterdam: midnight comes 46 min 40 s later.
    events = [make_event(at=0), make_event(at=20 * MIN), make_event(at=40 * MIN),
              make_event(at=50 * MIN)]
    steps = _run(Sessionizer(), events)
    assert [s.new_session for s in steps] == [True, False, False, True]
    assert steps[3].ended.end_reason == "midnight"


def _across_midnight(make_event, zone="Europe/Amsterdam"):
    # 23:13:20, 23:38:20, 00:01:20 in Amsterdam; gaps of 25 and 23 minutes
    return [make_event(at=0, timezone=zone), make_event(at=25 * MIN, timezone=zone),
            make_event(at=48 * MIN, timezone=zone)]


def test_midnight_split_follows_the_visitors_zone_and_can_be_disabled(make_event):
    assert [s.new_session for s in _run(Sessionizer(), _across_midnight(make_event))] == [
        True, False, True]
    ny = _across_midnight(make_event, "America/New_York")  # 17:13 -> 18:01 local
    assert [s.new_session for s in _run(Sessionizer(), ny)] == [True, False, False]
    off = Sessionizer(SessionOptions(split_at_local_midnight=False))
    assert [s.new_session for s in _run(off, _across_midnight(make_event))] == [
        True, False, False]


@pytest.mark.parametrize("zone", ["Not/AZone", "", None, "../../etc/passwd", "x" * 300])
def test_unknown_zone_means_no_midnight_split_and_no_error(make_event, zone):
    steps = _run(Sessionizer(), _across_midnight(make_event, zone))
    assert [s.new_session for s in steps] == [True, False, False]
    assert steps[-1].state.timezone is None


def test_out_of_order_event_within_lateness_is_folded_in(make_event):
    events = [make_event(at=0), make_event(at=60_000, page_type="pricing"),
              make_event("click", 30_000, click=(1, 1, True))]
    steps = _run(Sessionizer(), events)
    state = steps[2].state
    assert not steps[2].late and not steps[2].new_session
    assert state.clicks == 1 and state.events == 3
    assert state.last_ms == BASE_MS + 60_000 and state.page_type == "pricing"
    assert all(d >= 0 for d in state.dwell_ms)


def test_event_beyond_allowed_lateness_is_late_and_changes_nothing(make_event):
    sessionizer = Sessionizer()
    state = _run(sessionizer, [make_event(at=0), make_event(at=10 * MIN)])[-1].state
    before = state.to_bytes()
    step = sessionizer.apply(state, make_event("click", 10 * MIN - 120_001, click=(1, 1, True)))
    assert step.late and "allowed lateness" in step.late_reason
    assert step.state.to_bytes() == before
    edge = sessionizer.apply(state, make_event("click", 10 * MIN - 120_000, click=(1, 1, True)))
    assert not edge.late


def test_late_event_of_the_previous_session_is_late(make_event):
    sessionizer = Sessionizer(SessionOptions(split_at_local_midnight=False))
    steps = _run(sessionizer, [make_event(at=0), make_event(at=31 * MIN)])
    assert steps[1].new_session
    # within the lateness of the new session, but within the gap of the old one's end
    late = sessionizer.apply(steps[1].state, make_event(at=29 * MIN + 30_000))
    assert late.late and "previous session" in late.late_reason
    fits = sessionizer.apply(steps[1].state, make_event(at=30 * MIN))
    assert not fits.late and fits.state.started_ms == BASE_MS + 30 * MIN


def test_event_before_local_midnight_after_a_midnight_split_is_late(make_event):
    steps = _run(Sessionizer(), [make_event(at=40 * MIN), make_event(at=47 * MIN)])
    assert steps[1].ended.end_reason == "midnight"
    late = Sessionizer().apply(steps[1].state, make_event(at=46 * MIN))
    assert late.late and "midnight" in late.late_reason


def test_early_out_of_order_event_extends_the_start_but_keeps_the_id(make_event):
    steps = _run(Sessionizer(), [make_event(at=60_000), make_event(at=0)])
    state = steps[1].state
    assert not steps[1].late
    assert state.started_ms == BASE_MS and state.session_id == f"v1:{BASE_MS + 60_000}"


def test_redelivered_event_is_a_duplicate(make_event):
    first = make_event(at=0)
    click = make_event("click", 1_000, click=(1, 1, True))
    steps = _run(Sessionizer(), [first, click, dict(click)])
    assert steps[2].duplicate and not steps[2].late
    assert steps[2].state.clicks == 1


def test_redelivery_of_the_previous_sessions_last_event_is_a_duplicate(make_event):
    last_of_first = make_event(at=0)
    steps = _run(Sessionizer(), [last_of_first, make_event(at=31 * MIN), dict(last_of_first)])
    assert steps[1].new_session
    assert steps[2].duplicate and not steps[2].late


def test_user_id_is_carried_into_the_next_session(make_event):
    steps = _run(Sessionizer(), [make_event(at=0, user_id="u1"), make_event(at=31 * MIN)])
    assert steps[1].ended.user_id == "u1" and steps[1].state.user_id == "u1"


def test_event_of_another_visitor_is_refused(make_event):
    state = Sessionizer().apply(None, make_event(at=0)).state
    with pytest.raises(InvalidSessionEventError, match="visitor"):
        Sessionizer().apply(state, make_event(at=1, visitor_id="v2"))


@pytest.mark.parametrize("field", ["event_id", "visitor_id", "event_time", "page"])
def test_unusable_events_raise_a_clear_error(make_event, field):
    event = make_event(at=0)
    del event[field]
    with pytest.raises(InvalidSessionEventError, match=field.split("_")[0]):
        Sessionizer().apply(None, event)


def test_options_are_validated():
    with pytest.raises(ValueError, match="lateness"):
        SessionOptions(allowed_lateness_ms=30 * MIN)
