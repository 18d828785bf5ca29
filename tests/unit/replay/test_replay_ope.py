"""Off-policy estimators on hand-computable logs: values, errors, warnings, serialisation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from pipeline.replay.errors import (
    EmptyLog,
    InvalidOptions,
    InvalidPropensity,
    InvalidTargetPolicy,
    MissingPropensity,
    UnknownTarget,
)
from pipeline.replay.join import JoinedRow
from pipeline.replay.logfile import write_decision_logs, write_outcomes
from pipeline.replay.ope import (
    OpeOptions,
    effective_sample_size,
    evaluate,
    evaluate_rows,
)
from pipeline.replay.policies import always_policy, target_policy, uniform_policy
from tests.unit.replay.replay_helpers import decision_log, outcome, row


class TableModel:
    """Reward model from a table action -> value."""

    def __init__(self, table: dict[str, float]) -> None:
        self.table = table

    def predict(self, row: JoinedRow, action_id: str) -> float:
        return self.table[action_id]


def _two_action_log() -> list[JoinedRow]:
    # Logged: a with 0.8, b with 0.2. Rewards: a -> 1,0,1,0 ; b -> 1.
    elig = {"a": 0.8, "b": 0.2}
    return [
        row("d1", "a", 0.8, elig, reward=1.0),
        row("d2", "a", 0.8, elig, reward=0.0),
        row("d3", "a", 0.8, elig, reward=1.0),
        row("d4", "a", 0.8, elig, reward=0.0),
        row("d5", "b", 0.2, elig, reward=1.0),
    ]


def test_ips_snips_dm_dr_match_hand_computation() -> None:
    rows = _two_action_log()
    model = TableModel({"a": 0.5, "b": 0.9})
    res = evaluate_rows(rows, uniform_policy, "uniform", ("ips", "snips", "dm", "dr"),
                        n_boot=50, reward_model=model)
    w = [0.5 / 0.8] * 4 + [0.5 / 0.2]
    r = [1.0, 0.0, 1.0, 0.0, 1.0]
    ips = sum(wi * ri for wi, ri in zip(w, r, strict=True)) / 5
    snips = sum(wi * ri for wi, ri in zip(w, r, strict=True)) / sum(w)
    dm = 0.5 * 0.5 + 0.5 * 0.9
    q_logged = [0.5] * 4 + [0.9]
    dr = sum(dm + wi * (ri - qi) for wi, ri, qi in zip(w, r, q_logged, strict=True)) / 5
    assert res.estimate("ips").value == pytest.approx(ips)
    assert res.estimate("snips").value == pytest.approx(snips)
    assert res.estimate("dm").value == pytest.approx(dm)
    assert res.estimate("dr").value == pytest.approx(dr)
    assert res.logged.value == pytest.approx(0.6)
    assert res.diagnostics.ess == pytest.approx(sum(w) ** 2 / sum(x * x for x in w))
    assert res.diagnostics.max_weight == pytest.approx(2.5)
    assert res.reward_model == "TableModel"


def test_logged_target_reproduces_observed_value_exactly() -> None:
    rows = _two_action_log()
    res = evaluate_rows(rows, target_policy("logged"), "logged", ("ips", "snips"), n_boot=50)
    assert res.estimate("ips").value == pytest.approx(res.logged.value)
    assert res.diagnostics.ess == pytest.approx(5.0)


def test_replay_argmax_keeps_matching_rows() -> None:
    rows = _two_action_log()
    res = evaluate_rows(rows, always_policy("a"), "always:a", ("replay",), n_boot=50,
                        options=OpeOptions(replay_mode="argmax", min_replay_matches=1))
    est = res.estimate("replay")
    assert (est.value, est.n_used) == (0.5, 4)
    assert "replay_nonuniform_logging" in res.warning_codes


def test_replay_sampling_is_seeded() -> None:
    elig = {"a": 0.5, "b": 0.5}
    rows = [row(f"d{i}", "a" if i % 2 else "b", 0.5, elig, reward=float(i % 3 == 0))
            for i in range(200)]
    first = evaluate_rows(rows, uniform_policy, "u", ("replay",), n_boot=50, seed=3)
    again = evaluate_rows(rows, uniform_policy, "u", ("replay",), n_boot=50, seed=3)
    other = evaluate_rows(rows, uniform_policy, "u", ("replay",), n_boot=50, seed=4)
    assert first.estimate("replay") == again.estimate("replay")
    assert first.estimate("replay").n_used != other.estimate("replay").n_used or (
        first.estimate("replay").value != other.estimate("replay").value
    )
    assert "replay_nonuniform_logging" not in first.warning_codes


def test_bootstrap_interval_is_deterministic_and_brackets_the_value() -> None:
    rng = np.random.default_rng(0)
    elig = {"a": 0.5, "b": 0.5}
    rows = [row(f"d{i}", "a" if rng.random() < 0.5 else "b", 0.5, elig,
                reward=float(rng.random() < 0.3)) for i in range(300)]
    a = evaluate_rows(rows, always_policy("a"), "always:a", ("ips", "snips"), n_boot=300, seed=9)
    b = evaluate_rows(rows, always_policy("a"), "always:a", ("ips", "snips"), n_boot=300, seed=9)
    assert a == b
    for est in a.estimates:
        assert est.ci_low < est.value < est.ci_high
        assert est.std_error > 0


@pytest.mark.parametrize("bad", [None, 0.0, -0.1, float("nan")])
def test_missing_propensity_is_a_clear_error(bad: float | None) -> None:
    rows = [*_two_action_log(), row("bad1", "a", bad)]
    with pytest.raises(MissingPropensity) as info:
        evaluate_rows(rows, uniform_policy, "uniform", n_boot=10)
    assert info.value.decision_ids == ("bad1",)
    assert info.value.total == 1


def test_propensity_above_one_is_invalid() -> None:
    with pytest.raises(InvalidPropensity):
        evaluate_rows([row("d1", "a", 1.5)], uniform_policy, "u", n_boot=10)


def test_target_policy_must_return_a_distribution() -> None:
    rows = _two_action_log()
    with pytest.raises(InvalidTargetPolicy, match=r"sum to 0\.5"):
        evaluate_rows(rows, lambda r: {"a": 0.5}, "half", ("ips",), n_boot=10)
    with pytest.raises(InvalidTargetPolicy, match="probability of 'b'"):
        evaluate_rows(rows, lambda r: {"a": 1.5, "b": -0.5}, "neg", ("ips",), n_boot=10)


def test_unknown_estimator_and_empty_inputs() -> None:
    with pytest.raises(InvalidOptions):
        evaluate_rows(_two_action_log(), uniform_policy, "u", ("magic",), n_boot=10)
    with pytest.raises(EmptyLog):
        evaluate_rows([], uniform_policy, "u", n_boot=10)
    with pytest.raises(EmptyLog, match="unserved"):
        evaluate_rows([row(served=False)], uniform_policy, "u", n_boot=10)


def test_unserved_control_rows_are_excluded_unless_asked() -> None:
    rows = [*_two_action_log(), row("c1", "a", 0.8, {"a": 0.8, "b": 0.2}, reward=1.0,
                                   served=False)]
    res = evaluate_rows(rows, uniform_policy, "u", ("ips",), n_boot=10)
    assert (res.n_rows, res.n_excluded) == (5, 1)
    res_all = evaluate_rows(rows, uniform_policy, "u", ("ips",), n_boot=10,
                            options=OpeOptions(include_unserved=True))
    assert (res_all.n_rows, res_all.n_excluded) == (6, 0)


def test_warnings_for_tiny_propensities_and_exploding_weights() -> None:
    elig = {"a": 0.999, "b": 0.001}
    rows = [row(f"d{i}", "a", 0.999, elig, reward=0.0) for i in range(200)]
    rows.append(row("rare", "b", 0.001, elig, reward=1.0))
    res = evaluate_rows(rows, always_policy("b"), "always:b", ("ips", "snips"), n_boot=50,
                        options=OpeOptions(propensity_floor=0.01, max_weight=50.0))
    codes = res.warning_codes
    assert codes[:3] == ("tiny_propensity", "exploding_weights", "low_effective_sample_size")
    tiny = res.warnings[0]
    assert tiny.details["rows"] == 1
    assert res.warnings[1].details["max_weight"] == pytest.approx(1000.0)
    assert res.diagnostics.ess == pytest.approx(1.0)
    assert res.diagnostics.n_below_floor == 1


def test_no_warnings_on_a_healthy_log() -> None:
    elig = {"a": 0.5, "b": 0.5}
    rows = [row(f"d{i}", "a" if i % 2 else "b", 0.5, elig, reward=float(i % 3 == 0))
            for i in range(100)]
    res = evaluate_rows(rows, uniform_policy, "u", ("ips", "snips", "replay"), n_boot=50)
    assert res.warnings == ()


def test_target_outside_eligible_and_missing_eligible_are_flagged() -> None:
    rows = [row("d1", "a", 1.0, {"a": 1.0}, eligible_logged=False)]
    res = evaluate_rows(rows, always_policy("z"), "always:z", ("ips",), n_boot=10)
    assert {"target_outside_eligible", "eligible_missing"} <= set(res.warning_codes)
    assert res.estimate("ips").value == 0.0


def test_effective_sample_size_edge_cases() -> None:
    assert effective_sample_size([]) == 0.0
    assert effective_sample_size([0.0, 0.0]) == 0.0
    assert effective_sample_size([2.0, 2.0, 2.0]) == pytest.approx(3.0)
    assert effective_sample_size(np.array([1.0, 3.0])) == pytest.approx(16.0 / 10.0)


def test_result_serialises_to_json_and_text() -> None:
    res = evaluate_rows(_two_action_log(), uniform_policy, "uniform", n_boot=20,
                        reward_model=TableModel({"a": 0.5, "b": 0.5}),
                        options=OpeOptions(min_replay_matches=100))
    data = json.loads(json.dumps(res.to_dict()))
    assert data["target"] == "uniform"
    assert [e["estimator"] for e in data["estimates"]] == ["ips", "snips", "dr", "replay"]
    assert all(set(w) == {"code", "message", "details"} for w in data["warnings"])
    text = res.to_text()
    assert "Off-policy evaluation of target 'uniform' on 5 logged decisions" in text
    assert "replay_few_matches" in text
    with pytest.raises(KeyError):
        res.estimate("dm")


def test_nan_values_serialise_as_null() -> None:
    elig = {"a": 0.5, "b": 0.5}
    rows = [row("d1", "a", 0.5, elig, reward=1.0)]
    res = evaluate_rows(rows, always_policy("b"), "always:b", ("replay",), n_boot=10,
                        options=OpeOptions(replay_mode="argmax"))
    assert math.isnan(res.estimate("replay").value)
    assert res.to_dict()["estimates"][0]["value"] is None
    assert "n/a" in res.to_text()


def test_evaluate_from_files(tmp_path: Path) -> None:
    logs = [
        decision_log(f"d{i}", action_id="banner" if i % 2 else "none", propensity=0.5,
                     visitor_id=f"v{i}")
        for i in range(40)
    ]
    outs = [outcome(f"d{i}", "clicked", visitor_id=f"v{i}") for i in range(0, 40, 3)]
    outs.append(outcome("ghost", "clicked"))
    write_decision_logs(tmp_path / "d.jsonl", logs)
    write_outcomes(tmp_path / "o.avro", outs)
    res = evaluate(tmp_path / "d.jsonl", tmp_path / "o.avro", "always:banner",
                   ("ips", "snips", "dr"), n_boot=50, seed=1)
    clicked_banner = sum(1 for i in range(0, 40, 3) if i % 2)
    assert res.estimate("ips").value == pytest.approx(clicked_banner / 0.5 / 40)
    assert res.warning_codes[-1] == "unmatched_outcomes"
    with pytest.raises(UnknownTarget):
        evaluate(tmp_path / "d.jsonl", tmp_path / "o.avro", "nonsense", n_boot=10)
    greedy = evaluate(tmp_path / "d.jsonl", None, "greedy", ("ips",), n_boot=10)
    assert greedy.estimate("ips").value == 0.0  # no outcomes: every reward is the default 0
