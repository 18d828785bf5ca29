"""Options of the online intent model and the cut-offs that name an intent class.

>>> IntentOptions().model
'logreg'
>>> IntentOptions(model="arf").cutoffs.high_intent
0.5
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["INTENT_CLASSES", "IntentCutoffs", "IntentOptions", "IntentOptionsError"]

INTENT_CLASSES: tuple[str, ...] = ("browsing", "researching", "high_intent", "at_risk")
"""Every intent class, in increasing order of how much a visitor has shown.

>>> INTENT_CLASSES[0]
'browsing'
"""

ModelKind = Literal["logreg", "arf"]


class IntentOptionsError(ValueError):
    """An intent option is out of range.

    >>> try:
    ...     IntentCutoffs(high_intent=0.1, researching=0.2)
    ... except IntentOptionsError as error:
    ...     print(error)
    researching cut-off 0.2 must be below the high_intent cut-off 0.1
    """


@dataclass(frozen=True)
class IntentCutoffs:
    """Thresholds used by :func:`pipeline.intent.intent_class`.

    Parameters
    ----------
    high_intent
        Conversion probability at or above which a visitor is ``high_intent`` (0.5).
    researching
        Conversion probability at or above which a visitor is ``researching`` (0.15); also
        the lower bound of the ``at_risk`` band (struggling visitors between the two cut-offs).
    research_product_views
        Product views in the session that make a visitor ``researching`` whatever the
        probability (3).
    research_dwell_s
        Seconds on pricing plus shipping/returns pages that make a visitor ``researching``
        (30).

    >>> IntentCutoffs().research_product_views
    3.0
    """

    high_intent: float = 0.5
    researching: float = 0.15
    research_product_views: float = 3.0
    research_dwell_s: float = 30.0

    def __post_init__(self) -> None:
        for name in ("high_intent", "researching"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise IntentOptionsError(f"{name} cut-off {value} must be in (0, 1]")
        if self.researching >= self.high_intent:
            raise IntentOptionsError(
                f"researching cut-off {self.researching} must be below the high_intent "
                f"cut-off {self.high_intent}"
            )
        if self.research_product_views < 0 or self.research_dwell_s < 0:
            raise IntentOptionsError("research_product_views and research_dwell_s must be >= 0")


@dataclass(frozen=True)
class IntentOptions:
    """How the online intent model is built.

    Parameters
    ----------
    model
        ``"logreg"``: River pipeline ``StandardScaler`` on numeric features plus
        ``OneHotEncoder`` on categorical features, into ``LogisticRegression``.
        ``"arf"``: ``river.forest.ARFClassifier`` on the raw features (trees need no scaling
        and split on strings natively).
    seed
        Seed of the forest's randomness (ignored by ``logreg``, which is deterministic).
    learning_rate
        SGD learning rate of the logistic regression (0.05).
    l2
        L2 penalty of the logistic regression (0.0).
    prior_conversion_rate
        Probability returned before anything is learned, and the logistic regression's
        initial intercept (0.03: a typical session conversion rate). Without it an untrained
        model would call every visitor 50% likely to convert, i.e. ``high_intent``.
    arf_models
        Trees in the forest (10).
    excluded_features
        Features never shown to the model: ``converted`` is the label itself and
        ``product_id`` has unbounded cardinality (a one-hot weight per product).
    cutoffs
        Class cut-offs; they do not affect what is learned, so a checkpoint is loadable
        with other cut-offs.

    >>> IntentOptions(learning_rate=0.1).signature()["learning_rate"]
    0.1
    >>> "cutoffs" in IntentOptions().signature()
    False
    """

    model: ModelKind = "logreg"
    seed: int = 42
    learning_rate: float = 0.05
    l2: float = 0.0
    prior_conversion_rate: float = 0.03
    arf_models: int = 10
    excluded_features: tuple[str, ...] = ("converted", "product_id")
    cutoffs: IntentCutoffs = field(default_factory=IntentCutoffs)

    def __post_init__(self) -> None:
        if self.model not in ("logreg", "arf"):
            raise IntentOptionsError(f"unknown intent model {self.model!r}: use 'logreg' or 'arf'")
        if not 0.0 < self.prior_conversion_rate < 1.0:
            raise IntentOptionsError(
                f"prior_conversion_rate {self.prior_conversion_rate} must be in (0, 1)"
            )
        if self.learning_rate <= 0.0 or self.l2 < 0.0:
            raise IntentOptionsError("learning_rate must be > 0 and l2 >= 0")
        if self.arf_models < 1:
            raise IntentOptionsError(f"arf_models {self.arf_models} must be >= 1")

    def signature(self) -> dict[str, Any]:
        """The options that shape the learned state (all but the cut-offs), JSON-ready.

        >>> IntentOptions().signature()["model"]
        'logreg'
        """
        return {
            "model": self.model,
            "seed": self.seed,
            "learning_rate": self.learning_rate,
            "l2": self.l2,
            "prior_conversion_rate": self.prior_conversion_rate,
            "arf_models": self.arf_models,
            "excluded_features": list(self.excluded_features),
        }

    @classmethod
    def from_signature(cls, signature: dict[str, Any], cutoffs: IntentCutoffs) -> IntentOptions:
        """Rebuild options from :meth:`signature` plus cut-offs.

        >>> options = IntentOptions(model="arf", seed=3)
        >>> IntentOptions.from_signature(options.signature(), options.cutoffs) == options
        True
        """
        return cls(
            model=signature["model"],
            seed=int(signature["seed"]),
            learning_rate=float(signature["learning_rate"]),
            l2=float(signature["l2"]),
            prior_conversion_rate=float(signature["prior_conversion_rate"]),
            arf_models=int(signature["arf_models"]),
            excluded_features=tuple(signature["excluded_features"]),
            cutoffs=cutoffs,
        )
