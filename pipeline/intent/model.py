"""The online intent model: probability that this session converts, learned one label at a time.

>>> model = IntentModel()
>>> round(model.predict({"page_views": 1.0}, {"sector": "ecommerce"}), 2)  # the prior
0.03
>>> for _ in range(50):
...     model.learn({"cart_value": 80.0}, {"sector": "ecommerce"}, converted=True)
...     model.learn({"cart_value": 0.0}, {"sector": "ecommerce"}, converted=False)
>>> model.predict({"cart_value": 80.0}, {}) > model.predict({"cart_value": 0.0}, {})
True
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from river import compose, forest, linear_model, optim, preprocessing

from pipeline.intent.classify import intent_class
from pipeline.intent.envelope import CheckpointState, decode_checkpoint, encode_checkpoint
from pipeline.intent.errors import CheckpointMismatch
from pipeline.intent.options import IntentCutoffs, IntentOptions

__all__ = ["IntentModel", "build_river_model"]


def build_river_model(options: IntentOptions) -> Any:
    """The River estimator described by ``options`` (see :class:`IntentOptions`).

    >>> type(build_river_model(IntentOptions(model="arf"))).__name__
    'ARFClassifier'
    >>> type(build_river_model(IntentOptions())).__name__
    'Pipeline'
    """
    if options.model == "arf":
        return forest.ARFClassifier(n_models=options.arf_models, seed=options.seed)
    prior = options.prior_conversion_rate
    numeric = compose.SelectType(numbers.Number) | preprocessing.StandardScaler()
    categorical = compose.SelectType(str) | preprocessing.OneHotEncoder()
    return (numeric + categorical) | linear_model.LogisticRegression(
        optimizer=optim.SGD(options.learning_rate),
        l2=options.l2,
        intercept_init=math.log(prior / (1.0 - prior)),
    )


def _logreg_steps(estimator: Any) -> tuple[Any, Any, Any] | None:
    """The scaler, one-hot encoder and regression of :func:`build_river_model`'s ``logreg``
    pipeline, or None when ``estimator`` is shaped any other way.

    >>> [type(s).__name__ for s in _logreg_steps(build_river_model(IntentOptions()))]
    ['StandardScaler', 'OneHotEncoder', 'LogisticRegression']
    >>> _logreg_steps(build_river_model(IntentOptions(model="arf"))) is None
    True
    """
    if type(estimator) is not compose.Pipeline:
        return None
    steps = list(estimator.steps.values())
    if (len(steps) != 2 or type(steps[0]) is not compose.TransformerUnion
            or type(steps[1]) is not linear_model.LogisticRegression):
        return None
    branches = list(steps[0].transformers.values())
    if len(branches) != 2:
        return None
    found: list[Any] = []
    for branch, selected, transformer in zip(
            branches, (numbers.Number, str),
            (preprocessing.StandardScaler, preprocessing.OneHotEncoder), strict=True):
        inner = list(branch.steps.values()) if type(branch) is compose.Pipeline else []
        if (len(inner) != 2 or type(inner[0]) is not compose.SelectType
                or inner[0].types != (selected,) or type(inner[1]) is not transformer):
            return None
        found.append(inner[1])
    return found[0], found[1], steps[1]


def _logreg_proba(steps: tuple[Any, Any, Any], x: dict[str, Any]) -> dict[bool, float]:
    """``predict_proba_one`` of the ``logreg`` pipeline, step by step, for speed.

    What River's pipeline does (select by type, scale and one-hot, merge with the union's
    order: categorical then numeric, then the regression), without its per-value ABC checks
    of ``numbers.Number`` and per-step dispatch: ~40% of a prediction.
    """
    scaler, one_hot, regression = steps
    numeric: dict[str, Any] = {}
    categorical: dict[str, Any] = {}
    for key, value in x.items():
        # Exactly isinstance(value, numbers.Number), answered without the ABC for float/str.
        if type(value) is float or (type(value) is not str
                                    and isinstance(value, numbers.Number)):
            numeric[key] = value
        if isinstance(value, str):
            categorical[key] = value
    merged = one_hot.transform_one(categorical)
    merged.update(scaler.transform_one(numeric))
    result: dict[bool, float] = regression.predict_proba_one(merged)
    return result


class IntentModel:
    """River online classifier of "this session converts", with checkpoints.

    ``predict`` returns a probability in [0, 1] (the prior until something is learned);
    ``learn`` takes the features *as they were at prediction time* and the session's label
    (the visitor state keeps them: :class:`pipeline.engine.LabelSnapshot`). Both take the
    session-feature dicts of the contract; excluded features (the label ``converted``,
    ``product_id``) are dropped and non-finite numbers become 0.

    >>> model = IntentModel(IntentOptions(model="arf", arf_models=2))
    >>> model.learn({"page_views": 3.0}, {"device": "mobile"}, converted=False)
    >>> model.n_learned, model.version
    (1, 'arf@1')
    """

    def __init__(self, options: IntentOptions | None = None, *, _estimator: Any = None) -> None:
        self._options = options or IntentOptions()
        self._estimator = _estimator if _estimator is not None else build_river_model(self._options)
        self._logreg = _logreg_steps(self._estimator)
        self.n_learned = 0
        self.n_positive = 0

    @property
    def options(self) -> IntentOptions:
        """The options this model was built with.

        >>> IntentModel().options.model
        'logreg'
        """
        return self._options

    @property
    def version(self) -> str:
        """``<model>@<labels learned>``: names the model state behind a prediction.

        >>> IntentModel().version
        'logreg@0'
        """
        return f"{self._options.model}@{self.n_learned}"

    def _features(
        self, numeric: Mapping[str, float], categorical: Mapping[str, str]
    ) -> dict[str, Any]:
        excluded = self._options.excluded_features
        x: dict[str, Any] = {}
        for key, value in numeric.items():
            if key in excluded:
                continue
            number = float(value)
            x[key] = number if math.isfinite(number) else 0.0
        for key, text in categorical.items():
            if key not in excluded:
                x[key] = str(text)
        return x

    def predict(self, numeric: Mapping[str, float], categorical: Mapping[str, str]) -> float:
        """Probability that this session converts.

        >>> IntentModel(IntentOptions(prior_conversion_rate=0.1)).predict({}, {})
        0.1
        """
        if self.n_learned == 0:
            return self._options.prior_conversion_rate
        x = self._features(numeric, categorical)
        # River's "learn during predict" mode changes what predicting does: its own path then.
        if self._logreg is not None and not compose.Pipeline._LEARN_UNSUPERVISED_DURING_PREDICT:
            proba = _logreg_proba(self._logreg, x)
        else:
            proba = self._estimator.predict_proba_one(x)
        if not proba or True not in proba:
            if proba and False in proba:
                return 0.0
            return self._options.prior_conversion_rate
        return min(1.0, max(0.0, float(proba[True])))

    def classify(
        self,
        numeric: Mapping[str, float],
        categorical: Mapping[str, str],
        cutoffs: IntentCutoffs | None = None,
    ) -> tuple[float, str]:
        """Probability and intent class in one call (cut-offs from the options by default).

        >>> IntentModel().classify({"product_views": 4.0}, {})
        (0.03, 'researching')
        """
        probability = self.predict(numeric, categorical)
        return probability, intent_class(probability, numeric, cutoffs or self._options.cutoffs)

    def learn(
        self, numeric: Mapping[str, float], categorical: Mapping[str, str], converted: bool
    ) -> None:
        """Learn one labelled session snapshot (River's ``learn_one`` returns None: so do we).

        >>> model = IntentModel()
        >>> model.learn({"page_views": 2.0}, {}, converted=True)
        >>> model.n_positive
        1
        """
        label = bool(converted)
        self._estimator.learn_one(self._features(numeric, categorical), label)
        self.n_learned += 1
        self.n_positive += int(label)

    def to_bytes(self) -> bytes:
        """Serialize with the River version, the checkpoint schema version and the options.

        >>> model = IntentModel()
        >>> model.learn({"page_views": 2.0}, {}, converted=True)
        >>> IntentModel.from_bytes(model.to_bytes()).n_learned
        1
        """
        return encode_checkpoint(
            CheckpointState(
                model=self._estimator,
                options=self._options.signature(),
                cutoffs=asdict(self._options.cutoffs),
                n_learned=self.n_learned,
                n_positive=self.n_positive,
            )
        )

    @classmethod
    def from_bytes(
        cls, data: bytes, options: IntentOptions | None = None, source: str = "checkpoint"
    ) -> IntentModel:
        """Load :meth:`to_bytes` output.

        Raises :class:`CheckpointMismatch` when the River version or checkpoint schema differ,
        or when ``options`` is given and its learning setup (:meth:`IntentOptions.signature`)
        differs from the stored one. Cut-offs come from ``options`` when given.

        >>> data = IntentModel(IntentOptions(model="arf", arf_models=2)).to_bytes()
        >>> try:
        ...     IntentModel.from_bytes(data, IntentOptions(model="logreg"))
        ... except CheckpointMismatch as error:
        ...     print(str(error).split(" (")[0])
        checkpoint was trained with other options: arf_models 2 != 10, model 'arf' != 'logreg'
        """
        state = decode_checkpoint(data, source)
        if options is not None:
            wanted = options.signature()
            differences = [
                f"{key} {state.options.get(key)!r} != {wanted[key]!r}"
                for key in sorted(wanted)
                if state.options.get(key) != wanted[key]
            ]
            if differences:
                raise CheckpointMismatch(
                    f"{source} was trained with other options: {', '.join(differences)} "
                    f"(stored != requested); start a fresh model or use the stored options"
                )
            resolved = options
        else:
            resolved = IntentOptions.from_signature(state.options, IntentCutoffs(**state.cutoffs))
        model = cls(resolved, _estimator=state.model)
        model.n_learned = state.n_learned
        model.n_positive = state.n_positive
        return model

    @classmethod
    def from_checkpoint_or_new(cls, path: Path | str, options: IntentOptions) -> IntentModel:
        """Resume from the checkpoint at ``path`` if there is one, else a fresh model.

        A mismatched checkpoint raises :class:`CheckpointMismatch`: it is never silently
        replaced, an operator decides.

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     fresh = IntentModel.from_checkpoint_or_new(Path(tmp) / "i.ckpt", IntentOptions())
        >>> fresh.n_learned
        0
        """
        checkpoint = Path(path)
        if not checkpoint.exists():
            return cls(options)
        return cls.from_bytes(checkpoint.read_bytes(), options, source=str(checkpoint))
