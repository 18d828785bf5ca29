"""Join: one row per decision, rewards from outcomes, duplicates and orphans counted."""

from __future__ import annotations

from pathlib import Path

from pipeline.replay.join import JoinedRow, RewardWeights, join_files, join_records
from pipeline.replay.logfile import write_decision_logs, write_outcomes
from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
from tests.unit.replay.replay_helpers import (
    assert_valid_log,
    assert_valid_outcome,
    decision_log,
    outcome,
)


def test_row_carries_context_action_propensity_eligible_arm_and_served() -> None:
    log = decision_log("d1", categorical={"device": "mobile", "sector": "saas"},
                       arm="control", served=False, intent_class="buying")
    (row,) = join_records([log]).rows
    assert row == JoinedRow(
        decision_id="d1", visitor_id="v1", session_id="v1-s", created_at=1_700_000_000_000,
        action_id="banner", propensity=0.5, eligible={"banner": 0.5, "none": 0.5},
        eligible_logged=True, slot="hero", policy="test", arm="control", served=False,
        numeric_features={"pages_seen": 1.0},
        categorical_features={"device": "mobile", "sector": "saas"},
        intent_class="buying", intent_probability=0.2, control_share=0.1,
        trigger_event_id="e-d1",
    )


def test_default_reward_when_no_outcome() -> None:
    rows = join_records([decision_log("d1")], [], RewardWeights(default_reward=-0.25)).rows
    assert rows[0].reward == -0.25
    assert rows[0].n_outcomes == 0


def test_reward_weights_click_conversion_revenue() -> None:
    logs = [decision_log("d1"), decision_log("d2"), decision_log("d3")]
    outs = [
        outcome("d1", "shown"), outcome("d1", "clicked"),
        outcome("d1", "converted", 40.0, outcome_id="c1"),
        outcome("d1", "converted", 10.0, outcome_id="c2"),
        outcome("d2", "shown"), outcome("d2", "ignored"),
    ]
    weights = RewardWeights(clicked=1.0, converted=2.0, revenue=0.1, default_reward=7.0)
    r1, r2, r3 = join_records(logs, outs, weights).rows
    assert (r1.clicked, r1.converted, r1.conversions, r1.revenue) == (True, True, 2, 50.0)
    assert r1.reward == 1.0 + 2.0 + 5.0
    assert r1.n_outcomes == 4
    assert r2.reward == 0.0  # has outcomes, none rewarding: not the default reward
    assert r3.reward == 7.0


def test_duplicates_are_dropped_and_counted() -> None:
    logs = [decision_log("d1"), decision_log("d1", action_id="none")]
    outs = [outcome("d1", "clicked"), outcome("d1", "clicked")]
    result = join_records(logs, outs)
    assert [r.action_id for r in result.rows] == ["banner"]
    assert result.duplicate_decisions == 1
    assert result.duplicate_outcomes == 1
    assert result.rows[0].n_outcomes == 1


def test_outcomes_without_decision_are_counted_not_joined() -> None:
    result = join_records([decision_log("d1")], [outcome("zz", "clicked"), outcome("zz", "shown")])
    assert result.unmatched_outcomes == 2
    assert result.rows[0].clicked is False


def test_chosen_action_probability_is_the_logged_propensity() -> None:
    log = decision_log("d1", action_id="banner", propensity=0.7,
                       eligible=[("banner", 0.6), ("none", 0.3)])
    (row,) = join_records([log]).rows
    assert row.eligible == {"banner": 0.7, "none": 0.3}


def test_chosen_action_missing_from_eligible_is_added() -> None:
    log = decision_log("d1", action_id="cta", propensity=0.2,
                       eligible=[("banner", 0.4), ("none", 0.4)])
    (row,) = join_records([log]).rows
    assert row.eligible == {"banner": 0.4, "none": 0.4, "cta": 0.2}
    assert row.eligible_logged is True


def test_log_without_eligible_list_is_flagged() -> None:
    (row,) = join_records([decision_log("d1", eligible=[])]).rows
    assert row.eligible == {"banner": 0.5}
    assert row.eligible_logged is False


def test_missing_propensity_is_kept_as_none_for_the_evaluator_to_reject() -> None:
    log = decision_log("d1")
    del log["decision"]["propensity"]
    (row,) = join_records([log]).rows
    assert row.propensity is None
    assert row.eligible["banner"] == 0.5


def test_join_files_equals_join_records(tmp_path: Path) -> None:
    syn = generate_synthetic_log(SyntheticOptions(n_visitors=40, control_share=0.3, seed=9))
    for rec in syn.logs:
        assert_valid_log(rec)
    for rec in syn.outcomes:
        assert_valid_outcome(rec)
    write_decision_logs(tmp_path / "d.avro", syn.logs)
    write_outcomes(tmp_path / "o.avro", syn.outcomes)
    assert join_files(tmp_path / "d.avro", tmp_path / "o.avro") == join_records(
        syn.logs, syn.outcomes
    )
    without = join_files(tmp_path / "d.avro", None)
    assert all(r.reward == 0.0 for r in without.rows)
