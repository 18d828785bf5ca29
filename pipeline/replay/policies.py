"""Target policies for off-policy evaluation: what *would* another policy have done?

A target policy is any callable that takes a :class:`~pipeline.replay.join.JoinedRow`
and returns a probability distribution ``{action_id: probability}`` (summing to
one) over the actions it would choose for that row's context. Built-ins:

- :func:`uniform_policy` — uniform over the row's eligible actions;
- :func:`always_policy` — always one action (optionally a fallback where it is
  not eligible);
- :func:`logged_policy` — the logging policy itself, from the logged eligible
  probabilities (its value estimate is a sanity check: it should match the
  observed mean reward);
- :func:`greedy_policy` — deterministic argmax of a reward model over the
  eligible actions (ties go to the first eligible action).

:func:`target_policy` resolves the names the CLI accepts.

>>> from pipeline.replay.join import JoinedRow
>>> row = JoinedRow(decision_id="d1", visitor_id="v1", session_id="s1", created_at=0,
...                 action_id="a", propensity=0.8, eligible={"a": 0.8, "b": 0.2})
>>> uniform_policy(row), always_policy("b")(row), logged_policy(row)
({'a': 0.5, 'b': 0.5}, {'b': 1.0}, {'a': 0.8, 'b': 0.2})
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from pipeline.replay.errors import InvalidOptions, UnknownTarget
from pipeline.replay.join import JoinedRow

__all__ = [
    "RewardPredictor",
    "TargetPolicy",
    "always_policy",
    "greedy_policy",
    "logged_policy",
    "predict_actions",
    "target_policy",
    "uniform_policy",
]

TargetPolicy = Callable[[JoinedRow], Mapping[str, float]]


class RewardPredictor(Protocol):
    """Anything that predicts the expected reward of ``action_id`` in ``row``'s context.

    >>> class Constant:
    ...     def predict(self, row: JoinedRow, action_id: str) -> float:
    ...         return 0.5
    >>> isinstance(Constant().predict(None, "a"), float)  # type: ignore[arg-type]
    True
    """

    def predict(self, row: JoinedRow, action_id: str) -> float:
        """Expected reward of ``action_id`` for the context of ``row``."""
        ...


def predict_actions(
    model: RewardPredictor, row: JoinedRow, actions: Iterable[str]
) -> dict[str, float]:
    """Predictions for several actions; uses ``model.predict_actions`` when it has one.

    >>> from pipeline.replay.join import JoinedRow
    >>> class Constant:
    ...     def predict(self, row: JoinedRow, action_id: str) -> float:
    ...         return 0.25
    >>> predict_actions(Constant(), None, ["a", "b"])  # type: ignore[arg-type]
    {'a': 0.25, 'b': 0.25}
    """
    batch = getattr(model, "predict_actions", None)
    if batch is not None:
        return dict(batch(row, actions))
    return {action: model.predict(row, action) for action in actions}


def uniform_policy(row: JoinedRow) -> dict[str, float]:
    """Uniform over the eligible actions of ``row``.

    >>> from pipeline.replay.join import JoinedRow
    >>> row = JoinedRow(decision_id="d", visitor_id="v", session_id="s", created_at=0,
    ...                 action_id="x", propensity=0.25,
    ...                 eligible={"x": 0.25, "y": 0.25, "z": 0.5, "w": 0.0})
    >>> uniform_policy(row)
    {'x': 0.25, 'y': 0.25, 'z': 0.25, 'w': 0.25}
    """
    share = 1.0 / len(row.eligible)
    return dict.fromkeys(row.eligible, share)


def logged_policy(row: JoinedRow) -> dict[str, float]:
    """The logging policy's distribution, from the logged eligible probabilities.

    The probabilities are normalised to sum to one (a truncated eligible list
    would otherwise not be a distribution).

    >>> from pipeline.replay.join import JoinedRow
    >>> row = JoinedRow(decision_id="d", visitor_id="v", session_id="s", created_at=0,
    ...                 action_id="x", propensity=0.5, eligible={"x": 0.5, "y": 0.25})
    >>> logged_policy(row)
    {'x': 0.6666666666666666, 'y': 0.3333333333333333}
    """
    total = sum(row.eligible.values())
    if total <= 0.0:
        return uniform_policy(row)
    return {action: p / total for action, p in row.eligible.items()}


def always_policy(action_id: str, fallback: TargetPolicy | None = None) -> TargetPolicy:
    """Always choose ``action_id``; where it is not eligible, use ``fallback`` if given.

    Without a fallback the policy still puts all its mass on ``action_id`` for
    rows where it is not eligible; the logging policy never chose it there, so
    estimators score those rows 0 and warn with ``target_outside_eligible``.

    >>> from pipeline.replay.join import JoinedRow
    >>> row = JoinedRow(decision_id="d", visitor_id="v", session_id="s", created_at=0,
    ...                 action_id="x", propensity=1.0, eligible={"x": 1.0})
    >>> always_policy("y")(row), always_policy("y", fallback=uniform_policy)(row)
    ({'y': 1.0}, {'x': 1.0})
    """

    def policy(row: JoinedRow) -> Mapping[str, float]:
        if fallback is not None and action_id not in row.eligible:
            return fallback(row)
        return {action_id: 1.0}

    policy.__name__ = f"always_{action_id}"
    return policy


def greedy_policy(model: RewardPredictor) -> TargetPolicy:
    """Deterministically pick the eligible action with the highest predicted reward.

    >>> from pipeline.replay.join import JoinedRow
    >>> class Scores:
    ...     def predict(self, row: JoinedRow, action_id: str) -> float:
    ...         return {"x": 0.1, "y": 0.3, "z": 0.3}[action_id]
    >>> row = JoinedRow(decision_id="d", visitor_id="v", session_id="s", created_at=0,
    ...                 action_id="x", propensity=0.5, eligible={"x": 0.5, "y": 0.3, "z": 0.2})
    >>> greedy_policy(Scores())(row)
    {'y': 1.0}
    """

    def policy(row: JoinedRow) -> Mapping[str, float]:
        best_action = ""
        best_value = float("-inf")
        for action, value in predict_actions(model, row, row.eligible).items():
            if value > best_value:
                best_action, best_value = action, value
        return {best_action: 1.0}

    policy.__name__ = "greedy"
    return policy


def target_policy(name: str, model: RewardPredictor | None = None) -> TargetPolicy:
    """Resolve a target policy by name: ``uniform``, ``logged``, ``greedy``, ``always:<id>``.

    ``greedy`` needs the reward ``model`` it is greedy about.

    >>> from pipeline.replay.join import JoinedRow
    >>> row = JoinedRow(decision_id="d", visitor_id="v", session_id="s", created_at=0,
    ...                 action_id="x", propensity=0.5, eligible={"x": 0.5, "y": 0.5})
    >>> target_policy("always:y")(row)
    {'y': 1.0}
    >>> target_policy("best")
    Traceback (most recent call last):
    ...
    pipeline.replay.errors.UnknownTarget: unknown target policy 'best': use 'uniform', \
'logged', 'greedy' or 'always:<action_id>'
    """
    if name == "uniform":
        return uniform_policy
    if name == "logged":
        return logged_policy
    if name == "greedy":
        if model is None:
            raise InvalidOptions("target 'greedy' needs a reward model to be greedy about")
        return greedy_policy(model)
    if name.startswith("always:") and len(name) > len("always:"):
        return always_policy(name[len("always:") :])
    raise UnknownTarget(name)
