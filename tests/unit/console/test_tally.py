"""The console's aggregate: records in, the snapshot out (no Kafka)."""

from __future__ import annotations

from typing import Any

from pipeline.console.experiment import experiment_figures
from pipeline.console.options import ConsoleOptions
from pipeline.console.tally import ConsoleTally, compute_experiment
from pipeline.decide.catalog import Action, Catalog
from pipeline.replay.join import join_records
from pipeline.replay.report import ReportOptions, build_report_from_rows
from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log

CATALOG = Catalog(actions=(Action(id="no_action", slot="none"), Action(id="banner", slot="hero")),
                  version=7, fingerprint="abc")


def _log(did: str, arm: str, action: str = "banner", trigger: str = "", visitor: str = "v",
         created: int = 1_000) -> dict[str, Any]:
    return {"decision": {"decision_id": did, "visitor_id": visitor, "session_id": "s",
                         "action_id": action, "experiment_arm": arm, "created_at": created,
                         "trigger_event_id": trigger, "payload": {"big": "x" * 100}},
            "control_share": 0.5, "model_version": "m1"}


def _tally() -> ConsoleTally:
    return ConsoleTally(ConsoleOptions(report_every_s=0, n_boot=10, time_buckets=3,
                                       rate_window_s=2, series_seconds=4))


def test_decisions_are_counted_once_per_id_by_arm_and_action() -> None:
    tally = _tally()
    for did, arm, action in [("d1", "personalized", "banner"), ("d2", "control", "banner"),
                             ("d1", "personalized", "banner"), ("d3", "control", "no_action")]:
        tally.add_decision(_log(did, arm, action), 1_000)
    view = tally.snapshot(2_000, CATALOG)
    assert view["decisions"]["by_arm"] == {"control": 2, "personalized": 1}
    assert view["decisions"]["total"] == 3
    assert [(a["action_id"], a["decisions"], a["in_catalog"]) for a in view["actions"]] == [
        ("no_action", {"control": 1}, True), ("banner", {"control": 1, "personalized": 1}, True)]
    assert view["catalog"] == {"version": 7, "fingerprint": "abc", "source": "<catalog>",
                               "actions": 2}


def test_an_action_missing_from_the_catalog_is_listed_and_flagged() -> None:
    tally = _tally()
    tally.add_decision(_log("d1", "personalized", "retired_offer"), 1_000)
    rows = {a["action_id"]: a for a in tally.snapshot(2_000, CATALOG)["actions"]}
    assert rows["retired_offer"]["in_catalog"] is False
    assert rows["retired_offer"]["decisions"] == {"personalized": 1}
    assert rows["banner"]["decisions"] == {}


def test_signals_by_rule_once_per_signal_id_and_dead_letters_by_topic_and_reason() -> None:
    tally = _tally()
    for sid, rule in [("s1", "rage_click"), ("s2", "rage_click"), ("s1", "rage_click"),
                      ("s3", "hesitation")]:
        tally.add_signal({"signal_id": sid, "rule": rule}, 0)
    for topic, reason in [("a", "garbage"), ("a", "garbage"), ("a", "truncated"), ("b", "garbage")]:
        tally.add_dead_letter({"source_topic": topic, "error_class": reason})
    view = tally.snapshot(0, None)
    assert view["signals"] == {"hesitation": 1, "rage_click": 2}
    assert view["dead_letters"] == {"a": {"garbage": 2, "truncated": 1}, "b": {"garbage": 1}}
    assert view["catalog"] is None


def test_latency_joins_events_and_decisions_read_in_either_order() -> None:
    tally = _tally()
    tally.add_event({"event_id": "e1"}, 1_000)
    tally.add_decision(_log("d1", "personalized", trigger="e1"), 1_010)
    tally.add_decision(_log("d2", "personalized", trigger="e2"), 1_500)
    tally.add_event({"event_id": "e2"}, 1_200)
    tally.add_decision(_log("d3", "personalized", trigger="never-seen"), 1_600)
    latency = tally.snapshot(2_000, None)["latency"]
    assert (latency["p50_ms"], latency["p99_ms"], latency["samples"]) == (10.0, 300.0, 2)


def test_decisions_per_second_over_the_window_and_the_series() -> None:
    tally = _tally()
    for i, at in enumerate([1_100, 1_900, 2_500, 3_000, 3_999]):
        tally.add_decision(_log(f"d{i}", "personalized"), at)
    decisions = tally.snapshot(4_000, None)["decisions"]
    assert decisions["series"] == [[0, 0], [1, 2], [2, 1], [3, 2]]
    assert decisions["per_second"] == 1.5  # seconds 2 and 3


def test_the_experiment_figures_are_the_reports() -> None:
    syn = generate_synthetic_log(SyntheticOptions(n_visitors=400, control_share=0.5, seed=5))
    figures = experiment_figures(syn.logs, syn.outcomes, None, n_boot=20, time_buckets=5)
    report = build_report_from_rows(join_records(syn.logs, syn.outcomes).rows, None,
                                    ReportOptions(n_boot=20, time_buckets=5))
    assert [(p["at_ms"], p["lift"], p["ci"]) for p in figures["timeline"]] == [
        (t.at_ms, t.lift, [t.lift_ci.low, t.lift_ci.high]) for t in report.timeline]
    assert figures["lift"] == report.metric("conversion_rate").absolute
    assert report.always_valid is not None
    last = figures["timeline"][-1]["always_valid"]
    assert last == [report.always_valid.low, report.always_valid.high]
    assert {a: v["personalized"]["decisions"] for a, v in figures["actions"].items()} == {
        a.action_id: a.personalized.decisions for a in report.actions}


def test_the_figures_are_recomputed_after_a_change_and_at_most_every_four_computations() -> None:
    clock = [0.0]
    tally = ConsoleTally(ConsoleOptions(report_every_s=0, n_boot=10, time_buckets=3),
                         clock=lambda: clock[0])
    tally.add_decision(_log("d1", "personalized", visitor="v1"), 1_000)
    inputs = tally.experiment_inputs()
    assert inputs is not None and [log["decision"]["decision_id"] for log in inputs.logs] == ["d1"]
    assert "payload" not in inputs.logs[0]["decision"]  # slimmed
    clock[0] = 1.0  # the computation took 1 s
    tally.experiment_done(compute_experiment(inputs), inputs)
    first = tally.snapshot(2_000, None)["experiment"]
    assert tally.snapshot(2_000, None)["experiment"] is first  # nothing changed
    tally.add_decision(_log("d2", "control", visitor="v2"), 1_000)
    clock[0] = 3.9  # changed, but not 4 x 1 s after the last one started
    assert tally.snapshot(2_000, None)["experiment"] is first
    clock[0] = 4.0
    assert tally.snapshot(2_000, None)["experiment"]["arms"]["control"]["visitors"] == 1
