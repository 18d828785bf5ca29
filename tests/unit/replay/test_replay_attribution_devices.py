"""Cross-device attribution by person (issue 11): a purchase on one device of a person
credits that person's decisions on every device, in either arm, within the window; the
report counts the person once.

The person is the experiment unit each decision records (DecisionLog v5). Logs written
before v5 have no unit: the rule is then the per-visitor one, unchanged.
"""

from __future__ import annotations

import bisect
import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.replay.attribution import Purchase, attribute
from pipeline.replay.join import JoinedRow, join_records
from pipeline.replay.report import ReportOptions, build_report_from_rows
from tests.unit.replay.replay_helpers import decision_log

MIN = 60_000
WINDOW = 30 * MIN


def row(did: str, visitor: str, at: int, arm: str = "control", unit: str = "",
        trigger: str = "") -> JoinedRow:
    return JoinedRow(decision_id=did, visitor_id=visitor, session_id="s", created_at=at,
                     action_id="no_action", propensity=1.0, eligible={"no_action": 1.0},
                     arm=arm, served=arm == "personalized", trigger_event_id=trigger or did,
                     control_share=0.5, experiment_unit=unit)


def test_a_purchase_on_the_phone_credits_the_laptops_decisions_of_the_same_person() -> None:
    for arm in ("control", "personalized"):
        rows = [row("laptop-1", "laptop", 0, arm, "laptop"),
                row("laptop-2", "laptop", 10 * MIN, arm, "laptop"),
                row("phone-1", "phone", 20 * MIN, arm, "laptop"),
                row("stranger", "other", 20 * MIN, arm, "other")]
        found = attribute(rows, [Purchase("buy", "phone", 25 * MIN, 60.0)])
        assert {d: c.revenue for d, c in found.decisions.items()} == {
            "laptop-1": 20.0, "laptop-2": 20.0, "phone-1": 20.0}, arm
        assert {u: (c.purchases, c.revenue) for u, c in found.visitors.items()} == {
            "laptop": (("buy",), 60.0)}, arm
        report = build_report_from_rows(rows, 0.5, ReportOptions(n_boot=20),
                                        purchases=[Purchase("buy", "phone", 25 * MIN, 60.0)])
        # Two persons (laptop+phone is one): one converted.
        n = report.srm.control_visitors + report.srm.personalized_visitors
        assert n == 2
        conv = report.metric("conversion_rate")
        assert (conv.control if arm == "control" else conv.personalized) == 0.5


def test_the_window_still_bounds_the_other_devices_decisions() -> None:
    rows = [row("old", "laptop", 0, unit="laptop"), row("recent", "laptop", 40 * MIN,
                                                        unit="laptop"),
            row("phone", "phone", 45 * MIN, unit="laptop")]
    found = attribute(rows, [Purchase("buy", "phone", 50 * MIN, 9.0)])
    assert sorted(found.decisions) == ["phone", "recent"]


def test_the_phones_decisions_before_it_was_stitched_are_its_own_and_still_credited() -> None:
    # The phone was seen anonymously first (its own unit), then identified as the laptop's
    # person: its later decisions carry the laptop's unit. A purchase after the stitch is the
    # person's; it credits the phone's earlier decisions too (same device, in the window).
    rows = [row("laptop", "laptop", 0, unit="laptop"),
            row("phone-anon", "phone", 5 * MIN, "personalized", unit="phone"),
            row("phone-known", "phone", 10 * MIN, unit="laptop")]
    found = attribute(rows, [Purchase("buy", "phone", 12 * MIN, 30.0)])
    assert sorted(found.decisions) == ["laptop", "phone-anon", "phone-known"]
    assert list(found.visitors) == ["laptop"]  # one person converted, counted once


def test_a_purchase_before_the_stitch_stays_with_the_device_it_was_made_on() -> None:
    rows = [row("laptop", "laptop", 0, unit="laptop"),
            row("phone-anon", "phone", 5 * MIN, unit="phone"),
            row("phone-known", "phone", 10 * MIN, unit="laptop")]
    found = attribute(rows, [Purchase("buy", "phone", 7 * MIN, 30.0)])
    assert sorted(found.decisions) == ["phone-anon"]
    assert list(found.visitors) == ["phone"]


def test_the_decision_log_carries_the_unit_to_the_report() -> None:
    old = decision_log("d-old")
    new = {**decision_log("d-new"), "experiment_unit": "laptop"}
    rows = {r.decision_id: r for r in join_records([old, new], []).rows}
    assert rows["d-old"].unit == rows["d-old"].visitor_id  # before v5: the visitor
    assert rows["d-new"].unit == "laptop"


# --- properties ---------------------------------------------------------------------------

@st.composite
def people(draw: st.DrawFn) -> tuple[list[JoinedRow], list[Purchase], dict[str, str]]:
    """Persons with 1-3 devices; every decision of a device carries its person's unit."""
    rows: list[JoinedRow] = []
    purchases: list[Purchase] = []
    person_of: dict[str, str] = {}
    for p in range(draw(st.integers(1, 6))):
        devices = [f"p{p}-dev{d}" for d in range(draw(st.integers(1, 3)))]
        arm = draw(st.sampled_from(["control", "personalized"]))
        for device in devices:
            person_of[device] = devices[0]
            for k in range(draw(st.integers(0, 3))):
                rows.append(row(f"{device}-d{k}", device, draw(st.integers(0, 90)) * MIN, arm,
                                devices[0]))
            for k in range(draw(st.integers(0, 2))):
                purchases.append(Purchase(f"{device}-b{k}", device,
                                          draw(st.integers(0, 120)) * MIN,
                                          draw(st.sampled_from([0.0, 5.0, 12.5]))))
    return rows, purchases, person_of


@settings(max_examples=200, deadline=None)
@given(people())
def test_devices_of_a_person_count_as_if_they_were_one_visitor(
        case: tuple[list[JoinedRow], list[Purchase], dict[str, str]]) -> None:
    rows, all_purchases, person_of = case
    # A device links to its person through its logged decisions (each records the unit):
    # a second device with no decision at all cannot be linked (see the test below).
    decided = {r.visitor_id for r in rows}
    purchases = [p for p in all_purchases
                 if p.visitor_id in decided or person_of[p.visitor_id] == p.visitor_id]
    by_person = attribute(rows, purchases)
    # The same data with each device's id replaced by its person's, and no unit recorded:
    # the per-visitor rule of logs before v5 must give the same credits.
    merged = [dataclasses.replace(r, visitor_id=person_of[r.visitor_id], experiment_unit="")
              for r in rows]
    merged_buys = [dataclasses.replace(p, visitor_id=person_of[p.visitor_id])
                   for p in purchases]
    as_one = attribute(merged, merged_buys)
    assert by_person.decisions == as_one.decisions
    assert by_person.visitors == as_one.visitors
    assert (by_person.attributed, by_person.unattributed) == (as_one.attributed,
                                                             as_one.unattributed)


def test_a_second_device_never_decided_for_cannot_be_linked_and_is_reported() -> None:
    rows = [row("laptop", "laptop", 0, unit="laptop")]
    found = attribute(rows, [Purchase("buy", "phone", MIN, 5.0)])
    assert (found.decisions, found.unattributed) == ({}, 1)


def _per_visitor_reference(rows: list[JoinedRow], purchases: list[Purchase]
                           ) -> dict[str, tuple[str, ...]]:
    """The rule before v5, written out: a purchase credits its own visitor's decisions."""
    out: dict[str, list[str]] = {}
    for p in sorted(purchases, key=lambda p: (p.at_ms, p.purchase_id)):
        own = sorted((r for r in rows if r.visitor_id == p.visitor_id),
                     key=lambda r: (r.created_at, r.decision_id))
        at = [r.created_at for r in own]
        for r in own[bisect.bisect_left(at, p.at_ms - WINDOW):bisect.bisect_right(at, p.at_ms)]:
            out.setdefault(r.decision_id, []).append(p.purchase_id)
    return {d: tuple(ids) for d, ids in out.items()}


@settings(max_examples=200, deadline=None)
@given(people())
def test_a_log_without_units_keeps_the_per_visitor_rule(
        case: tuple[list[JoinedRow], list[Purchase], dict[str, str]]) -> None:
    rows, purchases, _ = case
    plain = [dataclasses.replace(r, experiment_unit="") for r in rows]
    found = attribute(plain, purchases)
    assert {d: c.purchases for d, c in found.decisions.items()} == _per_visitor_reference(
        plain, purchases)


def test_a_persons_page_views_add_up_over_their_devices_for_the_bounce() -> None:
    rows = [row("laptop", "laptop", 0, "control", "laptop"),
            row("phone", "phone", MIN, "control", "laptop"),
            row("single", "single", 0, "personalized", "single")]
    report = build_report_from_rows(rows, 0.5, ReportOptions(n_boot=20),
                                    page_views={"laptop": 1, "phone": 1, "single": 1})
    bounce = report.metric("bounce_rate")
    # One page on each device is two pages for the person: not a bounce.
    assert (bounce.control, bounce.personalized) == (0.0, 1.0)
