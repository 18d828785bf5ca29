"""Reward models for doubly robust evaluation and greedy targets, learned with River.

The model predicts the expected reward of an action in a context from the log
itself. Features are a one-hot of the action crossed with the context:

- ``action=<a>`` (an intercept per action);
- shared context features: ``<key>=<value>`` for categorical features and the
  intent class, ``<key>`` for numeric features (standardised with the log's mean
  and standard deviation, which use no rewards);
- with ``interactions``: every context feature again, prefixed by the action
  (``<a>|<key>=<value>``), so each action gets its own slope on the context.

Binary rewards use ``river.linear_model.LogisticRegression`` (intercept started
at the training fold's log-odds); other rewards use
``river.linear_model.LinearRegression`` on the standardised reward, its SGD
step divided by the typical number of active features (normalised LMS: squared
loss has unbounded gradients). Both learn with plain SGD, ``epochs`` shuffled
passes. Noisy continuous rewards (revenue with few orders) are hard to model
from small logs; DR stays unbiased with a poor model, it just gains less.

Two honest ways to keep the model from seeing the reward it predicts:

- ``cross_fit`` (default): decisions are split into ``folds`` by a stable hash of
  ``decision_id``; the prediction for a decision comes from the model trained on
  the *other* folds. Any row (also one the model never saw) is predicted by the
  model that excludes its hash fold, so results are deterministic.
- ``sequential``: decisions are replayed in time order and each is predicted by
  the model trained on the decisions before it (progressive validation), the
  way the online learner itself would have seen them. Early predictions come
  from an untrained model (0.5 for clicks), which costs variance, not bias.

>>> from pipeline.replay.join import join_records
>>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
>>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=300, seed=3))
>>> rows = join_records(syn.logs, syn.outcomes).rows
>>> model = fit_reward_model(rows)
>>> 0.0 <= model.predict(rows[0], "banner") <= 1.0
True
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from river import linear_model, optim

from pipeline.replay.errors import EmptyLog, InvalidOptions
from pipeline.replay.join import JoinedRow

__all__ = [
    "CrossFittedRewardModel",
    "FeatureEncoder",
    "RewardModelOptions",
    "SequentialRewardModel",
    "fit_reward_model",
    "fold_of",
]

_PROB_CLIP = 1e-4


@dataclass(frozen=True)
class RewardModelOptions:
    """How the reward model is built and trained.

    ``method``: ``"cross_fit"`` or ``"sequential"`` (see the module docstring).
    ``folds``: cross-fitting folds (at least 2). ``epochs``: shuffled training
    passes per fold (cross-fit only; sequential makes one pass in time order).
    ``learning_rate``/``l2``: SGD step and L2 penalty. ``kind``: ``"auto"`` picks
    a classifier when every reward is 0 or 1. ``numeric_features`` /
    ``categorical_features``: which context keys to use (``None``: all of them,
    ``()``: none). ``use_intent_class``: add the intent class as a categorical.
    ``interactions``: cross every context feature with the action. ``seed``:
    shuffling seed.

    >>> RewardModelOptions().method, RewardModelOptions().folds
    ('cross_fit', 2)
    """

    method: Literal["cross_fit", "sequential"] = "cross_fit"
    folds: int = 2
    epochs: int = 3
    learning_rate: float = 0.05
    l2: float = 0.0
    kind: Literal["auto", "classifier", "regressor"] = "auto"
    numeric_features: tuple[str, ...] | None = None
    categorical_features: tuple[str, ...] | None = None
    use_intent_class: bool = True
    interactions: bool = True
    seed: int = 0

    def check(self) -> None:
        """Raise :class:`~pipeline.replay.errors.InvalidOptions` when out of range.

        >>> RewardModelOptions(folds=1).check()
        Traceback (most recent call last):
        ...
        pipeline.replay.errors.InvalidOptions: folds must be at least 2, got 1
        """
        if self.method not in ("cross_fit", "sequential"):
            raise InvalidOptions(f"method must be 'cross_fit' or 'sequential', got {self.method!r}")
        if self.folds < 2:
            raise InvalidOptions(f"folds must be at least 2, got {self.folds}")
        if self.epochs < 1:
            raise InvalidOptions(f"epochs must be at least 1, got {self.epochs}")
        if not self.learning_rate > 0.0:
            raise InvalidOptions(f"learning_rate must be positive, got {self.learning_rate}")


def fold_of(decision_id: str, folds: int) -> int:
    """Stable fold of a decision: a hash of its id modulo ``folds``.

    >>> fold_of("d1", 2) == fold_of("d1", 2), 0 <= fold_of("d1", 5) < 5
    (True, True)
    """
    digest = hashlib.blake2b(decision_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % folds


ContextKey = tuple[tuple[str, float], ...]


class FeatureEncoder:
    """Turns a row and an action into the model's feature dict (see module docstring).

    >>> from pipeline.replay.join import JoinedRow
    >>> row = JoinedRow(decision_id="d", visitor_id="v", session_id="s", created_at=0,
    ...                 action_id="a", propensity=1.0, eligible={"a": 1.0},
    ...                 categorical_features={"device": "mobile"})
    >>> enc = FeatureEncoder([row], RewardModelOptions(use_intent_class=False))
    >>> enc.features(row, "a")
    {'action=a': 1.0, 'device=mobile': 1.0, 'a|device=mobile': 1.0}
    """

    def __init__(self, rows: Sequence[JoinedRow], options: RewardModelOptions) -> None:
        self.options = options
        sums: dict[str, float] = {}
        squares: dict[str, float] = {}
        counts: dict[str, int] = {}
        for row in rows:
            for key, value in self._numeric(row).items():
                sums[key] = sums.get(key, 0.0) + value
                squares[key] = squares.get(key, 0.0) + value * value
                counts[key] = counts.get(key, 0) + 1
        self._scale: dict[str, tuple[float, float]] = {}
        for key, total in sums.items():
            mean = total / counts[key]
            var = max(squares[key] / counts[key] - mean * mean, 0.0)
            self._scale[key] = (mean, math.sqrt(var) if var > 1e-12 else 1.0)
        self._contexts: dict[str, ContextKey] = {}

    def _numeric(self, row: JoinedRow) -> dict[str, float]:
        keys = self.options.numeric_features
        if keys is None:
            return {k: v for k, v in row.numeric_features.items() if math.isfinite(v)}
        return {
            k: row.numeric_features[k]
            for k in keys
            if k in row.numeric_features and math.isfinite(row.numeric_features[k])
        }

    def context(self, row: JoinedRow) -> ContextKey:
        """The row's shared context features, as a hashable (cached per decision).

        >>> from pipeline.replay.join import JoinedRow
        >>> row = JoinedRow(decision_id="d", visitor_id="v", session_id="s", created_at=0,
        ...                 action_id="a", propensity=1.0, eligible={"a": 1.0})
        >>> FeatureEncoder([row], RewardModelOptions()).context(row)
        (('intent_class=browsing', 1.0),)
        """
        cached = self._contexts.get(row.decision_id)
        if cached is not None:
            return cached
        items: list[tuple[str, float]] = []
        keys = self.options.categorical_features
        cats = row.categorical_features
        chosen = sorted(cats) if keys is None else [k for k in keys if k in cats]
        items.extend((f"{k}={cats[k]}", 1.0) for k in chosen)
        if self.options.use_intent_class:
            items.append((f"intent_class={row.intent_class}", 1.0))
        for key, value in sorted(self._numeric(row).items()):
            mean, std = self._scale.get(key, (0.0, 1.0))
            items.append((key, (value - mean) / std))
        context = tuple(items)
        self._contexts[row.decision_id] = context
        return context

    def encode(self, context: ContextKey, action_id: str) -> dict[str, float]:
        """Feature dict for a context (from :meth:`context`) and an action.

        >>> FeatureEncoder([], RewardModelOptions()).encode((("k=v", 1.0),), "b")
        {'action=b': 1.0, 'k=v': 1.0, 'b|k=v': 1.0}
        """
        x: dict[str, float] = {f"action={action_id}": 1.0}
        x.update(context)
        if self.options.interactions:
            for key, value in context:
                x[f"{action_id}|{key}"] = value
        return x

    def features(self, row: JoinedRow, action_id: str) -> dict[str, float]:
        """Feature dict for ``row`` and ``action_id``."""
        return self.encode(self.context(row), action_id)


class _Learner:
    """One River model plus the reward scaling it was trained with."""

    def __init__(
        self,
        classifier: bool,
        options: RewardModelOptions,
        rewards: Sequence[float],
        active_features: float = 1.0,
    ):
        self.classifier = classifier
        lr = options.learning_rate
        self.model: Any
        if classifier:
            rate = sum(rewards) / len(rewards) if rewards else 0.5
            rate = min(max(rate, _PROB_CLIP), 1.0 - _PROB_CLIP)
            self.model = linear_model.LogisticRegression(
                optimizer=optim.SGD(lr),
                l2=options.l2,
                intercept_init=math.log(rate / (1.0 - rate)) if rewards else 0.0,
                intercept_lr=lr,
            )
            self.mean, self.std = 0.0, 1.0
        else:
            n = len(rewards)
            self.mean = sum(rewards) / n if n else 0.0
            var = sum((r - self.mean) ** 2 for r in rewards) / n if n else 0.0
            self.std = math.sqrt(var) if var > 1e-12 else 1.0
            # Squared-loss gradients are unbounded: normalise the step by the
            # typical number of active features (normalised LMS) to stay stable.
            step = lr / max(active_features, 1.0)
            self.model = linear_model.LinearRegression(
                optimizer=optim.SGD(step), l2=options.l2, intercept_lr=step
            )

    def learn(self, x: dict[str, float], reward: float) -> None:
        if self.classifier:
            self.model.learn_one(x, reward >= 0.5)
        else:
            self.model.learn_one(x, (reward - self.mean) / self.std)

    def predict(self, x: dict[str, float]) -> float:
        if self.classifier:
            return float(self.model.predict_proba_one(x).get(True, 0.0))
        return self.mean + self.std * float(self.model.predict_one(x))


def _is_classifier(rows: Sequence[JoinedRow], kind: str) -> bool:
    if kind == "classifier":
        return True
    if kind == "regressor":
        return False
    return all(row.reward in (0.0, 1.0) for row in rows)


def _active_features(encoder: FeatureEncoder, rows: Sequence[JoinedRow]) -> float:
    sample = rows[:200]
    if not sample:
        return 1.0
    return sum(len(encoder.features(r, r.action_id)) for r in sample) / len(sample)


def _describe(options: RewardModelOptions, classifier: bool) -> str:
    estimator = "LogisticRegression" if classifier else "LinearRegression"
    if options.method == "cross_fit":
        how = f"cross-fitted over {options.folds} folds, {options.epochs} epochs"
    else:
        how = "sequential (progressive validation in time order)"
    cross = "action x features" if options.interactions else "action + features"
    return f"river {estimator} on one-hot {cross}, {how}"


class CrossFittedRewardModel:
    """Cross-fitted reward model: a row is predicted by the model trained without its fold.

    >>> from pipeline.replay.join import join_records
    >>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
    >>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=200, seed=4))
    >>> rows = join_records(syn.logs, syn.outcomes).rows
    >>> model = CrossFittedRewardModel(rows, RewardModelOptions(folds=3))
    >>> len(model.learners), model.classifier
    (3, True)
    """

    def __init__(self, rows: Sequence[JoinedRow], options: RewardModelOptions) -> None:
        options.check()
        if not rows:
            raise EmptyLog("cannot fit a reward model on an empty log")
        self.options = options
        self.encoder = FeatureEncoder(rows, options)
        self.classifier = _is_classifier(rows, options.kind)
        self.description = _describe(options, self.classifier)
        by_fold: list[list[JoinedRow]] = [[] for _ in range(options.folds)]
        for row in rows:
            by_fold[fold_of(row.decision_id, options.folds)].append(row)
        self.learners: list[_Learner] = []
        for held_out in range(options.folds):
            train = [row for k, fold in enumerate(by_fold) if k != held_out for row in fold]
            learner = _Learner(
                self.classifier, options, [row.reward for row in train],
                _active_features(self.encoder, train),
            )
            shuffler = random.Random(options.seed * 1_000_003 + held_out)
            order = list(train)
            for _ in range(options.epochs):
                shuffler.shuffle(order)
                for row in order:
                    learner.learn(self.encoder.features(row, row.action_id), row.reward)
            self.learners.append(learner)
        self._cache: dict[tuple[int, ContextKey], dict[str, float]] = {}
        self._folds: dict[str, int] = {}

    def _slot(self, row: JoinedRow) -> tuple[int, ContextKey, dict[str, float]]:
        fold = self._folds.get(row.decision_id)
        if fold is None:
            fold = self._folds[row.decision_id] = fold_of(row.decision_id, self.options.folds)
        context = self.encoder.context(row)
        cached = self._cache.setdefault((fold, context), {})
        return fold, context, cached

    def predict(self, row: JoinedRow, action_id: str) -> float:
        """Expected reward of ``action_id`` for ``row``, from the model that excludes its fold.

        Predictions are memoised per (fold, context, action), so contexts that
        repeat (categorical features) are cheap.
        """
        return self.predict_actions(row, (action_id,))[action_id]

    def predict_actions(self, row: JoinedRow, actions: Iterable[str]) -> dict[str, float]:
        """:meth:`predict` for several actions of one row at once.

        >>> from pipeline.replay.join import join_records
        >>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
        >>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=50, seed=4))
        >>> rows = join_records(syn.logs, syn.outcomes).rows
        >>> model = CrossFittedRewardModel(rows, RewardModelOptions())
        >>> model.predict_actions(rows[0], ["cta"]) == {"cta": model.predict(rows[0], "cta")}
        True
        """
        fold, context, cached = self._slot(row)
        out: dict[str, float] = {}
        for action in actions:
            value = cached.get(action)
            if value is None:
                value = cached[action] = self.learners[fold].predict(
                    self.encoder.encode(context, action)
                )
            out[action] = value
        return out


class SequentialRewardModel:
    """Progressive-validation reward model: each row is predicted before it is learned.

    Predictions for every eligible action of each row are stored when the row
    is reached in time order; other (row, action) pairs use the final model.

    >>> from pipeline.replay.join import join_records
    >>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
    >>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=100, seed=5))
    >>> rows = join_records(syn.logs, syn.outcomes).rows
    >>> model = SequentialRewardModel(rows, RewardModelOptions(method="sequential"))
    >>> first = min(rows, key=lambda r: (r.created_at, r.decision_id))
    >>> model.predict(first, first.action_id)  # nothing learned yet: the prior
    0.5
    """

    def __init__(self, rows: Sequence[JoinedRow], options: RewardModelOptions) -> None:
        options.check()
        if not rows:
            raise EmptyLog("cannot fit a reward model on an empty log")
        self.options = options
        self.encoder = FeatureEncoder(rows, options)
        self.classifier = _is_classifier(rows, options.kind)
        self.description = _describe(options, self.classifier)
        # No look-ahead: the classifier starts at 0.5, the regressor at 0 on a
        # reward scale fitted from the log (scaling only, the order is causal).
        prior: Sequence[float] = [] if self.classifier else [row.reward for row in rows]
        self.learner = _Learner(
            self.classifier, options, prior, _active_features(self.encoder, rows)
        )
        self._stored: dict[str, dict[str, float]] = {}
        for row in sorted(rows, key=lambda r: (r.created_at, r.decision_id)):
            context = self.encoder.context(row)
            self._stored[row.decision_id] = {
                action: self.learner.predict(self.encoder.encode(context, action))
                for action in row.eligible
            }
            self.learner.learn(self.encoder.encode(context, row.action_id), row.reward)

    def predict(self, row: JoinedRow, action_id: str) -> float:
        """The stored before-learning prediction, or the final model's for unseen pairs."""
        stored = self._stored.get(row.decision_id)
        if stored is not None and action_id in stored:
            return stored[action_id]
        return self.learner.predict(self.encoder.features(row, action_id))

    def predict_actions(self, row: JoinedRow, actions: Iterable[str]) -> dict[str, float]:
        """:meth:`predict` for several actions of one row at once.

        >>> from pipeline.replay.join import join_records
        >>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
        >>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=20, seed=4))
        >>> rows = join_records(syn.logs, syn.outcomes).rows
        >>> model = SequentialRewardModel(rows, RewardModelOptions(method="sequential"))
        >>> model.predict_actions(rows[0], ["cta"]) == {"cta": model.predict(rows[0], "cta")}
        True
        """
        return {action: self.predict(row, action) for action in actions}


def fit_reward_model(
    rows: Sequence[JoinedRow], options: RewardModelOptions | None = None
) -> CrossFittedRewardModel | SequentialRewardModel:
    """Fit the reward model that ``options.method`` names on ``rows``.

    >>> from pipeline.replay.join import join_records
    >>> from pipeline.replay.synthetic import SyntheticOptions, generate_synthetic_log
    >>> syn = generate_synthetic_log(SyntheticOptions(n_visitors=50, seed=6))
    >>> rows = join_records(syn.logs, syn.outcomes).rows
    >>> fit_reward_model(rows, RewardModelOptions(method="sequential")).description
    'river LogisticRegression on one-hot action x features, sequential (progressive \
validation in time order)'
    """
    opts = options or RewardModelOptions()
    opts.check()
    if opts.method == "sequential":
        return SequentialRewardModel(rows, opts)
    return CrossFittedRewardModel(rows, opts)
