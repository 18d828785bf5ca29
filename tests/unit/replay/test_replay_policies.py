"""Target policies: built-ins and name resolution."""

from __future__ import annotations

import pytest

from pipeline.replay.errors import InvalidOptions, UnknownTarget
from pipeline.replay.join import JoinedRow
from pipeline.replay.policies import (
    always_policy,
    greedy_policy,
    logged_policy,
    predict_actions,
    target_policy,
    uniform_policy,
)
from tests.unit.replay.replay_helpers import row


class TableModel:
    def __init__(self, table: dict[str, float]) -> None:
        self.table = table
        self.calls = 0

    def predict(self, row: JoinedRow, action_id: str) -> float:
        self.calls += 1
        return self.table[action_id]


def test_uniform_over_eligible() -> None:
    r = row(eligible={"a": 0.7, "b": 0.2, "c": 0.1})
    assert uniform_policy(r) == {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}


def test_logged_policy_normalises_and_falls_back_to_uniform() -> None:
    assert logged_policy(row(eligible={"a": 0.2, "b": 0.2})) == {"a": 0.5, "b": 0.5}
    assert logged_policy(row(eligible={"a": 0.0, "b": 0.0})) == {"a": 0.5, "b": 0.5}


def test_always_with_and_without_fallback() -> None:
    r = row(eligible={"a": 1.0})
    assert always_policy("b")(r) == {"b": 1.0}
    assert always_policy("b", fallback=logged_policy)(r) == {"a": 1.0}
    assert always_policy("a", fallback=logged_policy)(r) == {"a": 1.0}


def test_greedy_picks_best_eligible_and_breaks_ties_by_eligible_order() -> None:
    model = TableModel({"a": 0.2, "b": 0.9, "c": 0.9, "z": 5.0})
    assert greedy_policy(model)(row(eligible={"a": 0.3, "b": 0.3, "c": 0.4})) == {"b": 1.0}
    assert greedy_policy(model)(row(eligible={"c": 0.5, "b": 0.5})) == {"c": 1.0}


def test_predict_actions_uses_predict_when_no_batch_method() -> None:
    model = TableModel({"a": 0.1, "b": 0.2})
    assert predict_actions(model, row(), ["a", "b"]) == {"a": 0.1, "b": 0.2}
    assert model.calls == 2


def test_target_policy_names() -> None:
    r = row(eligible={"a": 0.25, "b": 0.75})
    assert target_policy("uniform")(r) == {"a": 0.5, "b": 0.5}
    assert target_policy("logged")(r) == {"a": 0.25, "b": 0.75}
    assert target_policy("always:b")(r) == {"b": 1.0}
    assert target_policy("greedy", TableModel({"a": 1.0, "b": 0.0}))(r) == {"a": 1.0}
    with pytest.raises(InvalidOptions):
        target_policy("greedy")
    for bad in ("always:", "random", ""):
        with pytest.raises(UnknownTarget):
            target_policy(bad)
