"""bench/paint.py's reading of paint logs, its summary math and its cross-check, against
hand-computed values."""

from __future__ import annotations

import doctest
import math

import pytest

import bench.paint
from bench.common import BenchError
from bench.paint import (
    AFTER_BUDGET,
    CONTROL,
    FIRST_VISIT,
    LATE,
    NO_ACTION,
    PERSONALIZED,
    UNDECIDED,
    PageLoad,
    classify,
    cross_check,
    page_load,
    summarize,
)


def test_percentiles_and_shares_match_hand_computed_values() -> None:
    # (category, navigation start -> paint, ask -> paint)
    pages = ([(PERSONALIZED, ms, ms - 50.0) for ms in (130.0, 80.0, 110.0, 90.0, 120.0, 100.0)]
             + [(NO_ACTION, 180.0, 125.0), (NO_ACTION, 170.0, 122.0), (LATE, 200.0, 151.0),
                (UNDECIDED, 400.0, 300.0)])
    rows = {row["pages"]: row for row in summarize(pages)}
    assert list(rows) == ["all", PERSONALIZED, AFTER_BUDGET, NO_ACTION, LATE, UNDECIDED,
                          CONTROL]
    # all, sorted: 80 90 100 110 120 130 170 180 200 400; nearest rank: p50 = 5th, p99 = 10th
    assert (rows["all"]["n"], rows["all"]["share"]) == (10, 1.0)
    assert (rows["all"]["paint_p50_ms"], rows["all"]["paint_p99_ms"]) == (120.0, 400.0)
    assert rows["all"]["paint_max_ms"] == 400.0
    # ask -> paint, sorted: 30 40 50 60 70 80 122 125 151 300
    assert (rows["all"]["ask_to_paint_p50_ms"], rows["all"]["ask_to_paint_p99_ms"]) == (
        70.0, 300.0)
    # personalized: 80..130, p50 = 3rd of 6 = 100, p99 = 6th = 130
    assert (rows[PERSONALIZED]["n"], rows[PERSONALIZED]["share"]) == (6, 0.6)
    assert (rows[PERSONALIZED]["paint_p50_ms"], rows[PERSONALIZED]["paint_p99_ms"]) == (
        100.0, 130.0)
    assert rows[PERSONALIZED]["ask_to_paint_p50_ms"] == 50.0
    assert (rows[NO_ACTION]["n"], rows[NO_ACTION]["share"]) == (2, 0.2)
    assert (rows[NO_ACTION]["paint_p50_ms"], rows[NO_ACTION]["paint_p99_ms"]) == (170.0, 180.0)
    assert (rows[LATE]["share"], rows[UNDECIDED]["share"], rows[AFTER_BUDGET]["n"]) == (
        0.1, 0.1, 0)
    # every page in exactly one category: nothing lost, nothing counted twice
    categories = (PERSONALIZED, AFTER_BUDGET, NO_ACTION, LATE, UNDECIDED, CONTROL)
    assert sum(rows[c]["n"] for c in categories) == 10
    assert sum(rows[c]["share"] for c in categories) == pytest.approx(1.0)


def test_an_empty_category_has_no_percentiles() -> None:
    rows = {row["pages"]: row for row in summarize([(PERSONALIZED, 50.0, 20.0)])}
    assert rows[LATE]["n"] == 0 and rows[LATE]["share"] == 0.0
    assert math.isnan(rows[LATE]["paint_p99_ms"])


# A default page as rtp.js records it: the hero hidden, the budget runs out, the default shown.
DEFAULT_LOG = [
    {"t": 31.2, "step": "ask", "slot": None, "trigger": "pv-1", "budgetMs": 150, "waitMs": 120},
    {"t": 35.0, "step": "frame", "slot": "hero", "visible": False, "content": "default"},
    {"t": 153.0, "step": "answer", "slot": None, "wait": "timeout"},
    {"t": 153.4, "step": "reveal-default", "slot": "hero"},
    {"t": 153.5, "step": "mutation", "slot": "hero", "visible": True, "content": "default"},
    {"t": 160.1, "step": "frame", "slot": "hero", "visible": True, "content": "default"},
    {"t": 900.0, "step": "sse-apply", "slot": "hero", "decision": "d-late"},
    {"t": 901.0, "step": "frame", "slot": "hero", "visible": True, "content": "personalized"},
]


def test_the_first_visible_frame_is_the_paint_and_later_changes_do_not_count() -> None:
    page = page_load("v1", DEFAULT_LOG)
    # the mutation at 153.5 is not a painted frame; the stream's later decision is not the
    # first paint
    assert page == PageLoad(visitor="v1", trigger="pv-1", paint_ms=160.1, ask_ms=31.2,
                            content="default", applied=None, applied_by=None,
                            answer="answer", wait="timeout")
    assert page.ask_to_paint_ms == pytest.approx(128.9)


def test_a_page_that_never_asked_or_never_painted_stops_the_bench() -> None:
    with pytest.raises(BenchError, match="never asked"):
        page_load("v1", [e for e in DEFAULT_LOG if e["step"] != "ask"])
    with pytest.raises(BenchError, match="never painted"):
        page_load("v1", [e for e in DEFAULT_LOG if not e.get("visible")])


def test_defaults_are_explained_by_the_logged_decision_of_their_own_trigger() -> None:
    page = page_load("v1", DEFAULT_LOG)
    assert classify(page, {"pv-1": "no_action"}) == NO_ACTION
    assert classify(page, {"pv-1": "hero_by_traffic_source"}) == LATE
    assert classify(page, {"pv-0": "no_action"}) == UNDECIDED  # another page view's decision
    painted = PageLoad("v1", "pv-1", 120.0, 30.0, "personalized", "d1", "apply", "answer")
    assert classify(painted, {"pv-1": "hero_by_traffic_source"}) == PERSONALIZED


def test_a_decision_painted_first_after_the_budget_is_not_counted_within_it() -> None:
    # the default never became visible (e.g. the hero was off screen) and the stream's
    # decision was the first thing painted: personalized, but not within the budget
    log = [e for e in DEFAULT_LOG if not (e.get("visible") and e["content"] == "default")]
    page = page_load("v1", log)
    assert (page.content, page.applied, page.applied_by) == ("personalized", "d-late",
                                                             "sse-apply")
    assert classify(page, {"pv-1": "hero_by_traffic_source"}) == AFTER_BUDGET


def test_the_cross_check_needs_the_painted_decision_of_that_trigger_and_visitor() -> None:
    painted = PageLoad("v1", "pv-1", 120.0, 30.0, "personalized", "d1", "apply", "answer")
    default = PageLoad("v2", "pv-2", 160.0, 30.0, "default", None, None, "answer")
    good = {"decision_id": "d1", "trigger_event_id": "pv-1", "visitor_id": "v1"}
    assert cross_check([painted, default], [good]) == []
    # missing, another trigger's, another visitor's: each is reported
    assert cross_check([painted], []) == ["v1: painted d1 for trigger pv-1; not on the "
                                          "actions topic"]
    assert len(cross_check([painted], [{**good, "trigger_event_id": "pv-9"}])) == 1
    assert len(cross_check([painted], [{**good, "visitor_id": "v9"}])) == 1
    # a default page needs nothing on the topic
    assert cross_check([default], []) == []


def test_a_first_visit_in_the_control_group_is_its_own_category() -> None:
    page = page_load("v-minted", DEFAULT_LOG)
    # the control arm's decision names an action, but it was never sent to be shown
    assert classify(page, {"pv-1": "hero_by_traffic_source"}, control={"pv-1"}) == CONTROL
    assert classify(page, {"pv-1": "hero_by_traffic_source"}, control={"pv-0"}) == LATE
    rows = {r["pages"]: r for r in summarize([(CONTROL, 160.0, 40.0), (PERSONALIZED, 90.0,
                                                                        20.0)], FIRST_VISIT)}
    assert (rows[CONTROL]["n"], rows[CONTROL]["share"]) == (1, 0.5)
    assert {r["visitors"] for r in rows.values()} == {FIRST_VISIT}


@pytest.mark.parametrize("module", [bench.paint])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.attempted > 0
    assert result.failed == 0


def test_the_first_visit_note_counts_pages_that_asked_only_after_the_paint() -> None:
    from bench.paint import _group_note

    pages = [PageLoad("v-a", "pv-a", 160.0, 400.0, "default", None, None, "late-answer"),
             PageLoad("v-b", "pv-b", 120.0, 60.0, "personalized", "d-b", "apply", "answer")]
    decided = {"pv-a": "hero_by_traffic_source", "pv-b": "hero_by_traffic_source"}
    categories = [classify(p, decided) for p in pages]
    assert categories == [LATE, PERSONALIZED]
    rows = summarize([(c, p.paint_ms, p.ask_to_paint_ms) for c, p in zip(categories, pages,
                                                                          strict=True)],
                     FIRST_VISIT)
    actions = [{"decision_id": "d-b", "trigger_event_id": "pv-b", "visitor_id": "v-b",
                "action_id": "hero_by_traffic_source"}]
    note = _group_note(FIRST_VISIT, pages, {r["pages"]: r for r in rows}, decided, (), actions)
    assert "**50.0% personalized within the 150 ms budget**" in note
    assert "1 decided too late" in note and "1 of 2 were painted with it" in note
    assert "2 in the decision log, 1 on personalization.actions" in note
    assert "1 asked only after the hero was painted" in note
    assert rows[0]["ask_to_paint_p99_ms"] == 60.0 and min(
        p.ask_to_paint_ms for p in pages) == -240.0
