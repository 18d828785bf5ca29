"""Context featurization for the bandit: a fixed vocabulary, so the dimension never drifts.

The vector is, in order: a bias (1.0); each selected numeric feature scaled to [0, 1] by
``log1p(clip(v, 0, cap)) / log1p(cap)``; a one-hot per selected categorical feature over
its fixed vocabulary plus an ``other`` bucket; the intent probability; a one-hot of the
intent class; one flag per struggle rule (active or fired this session). Unknown values
land in ``other``; missing numbers count as 0; non-finite numbers as 0.

>>> featurizer = Featurizer()
>>> x = featurizer.transform({"page_views": 50.0}, {"sector": "travel"}, frozenset(), 0.4,
...                          "researching")
>>> len(x) == featurizer.dimension, float(x[0])
(True, 1.0)
>>> float(x[featurizer.index("num:page_views")]), float(x[featurizer.index("cat:sector=travel")])
(1.0, 1.0)
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from pipeline.decide.errors import DecideOptionsError
from pipeline.decide.vocabulary import INTENT_CLASSES, PAGE_TYPES, SECTORS, SIGNAL_RULES

__all__ = ["Featurizer", "FeaturizerOptions"]

_NUMERIC_CAPS: tuple[tuple[str, float], ...] = (
    ("page_views", 50.0),
    ("product_views", 30.0),
    ("distinct_categories", 10.0),
    ("max_views_same_product", 10.0),
    ("dwell_product_s", 600.0),
    ("dwell_pricing_s", 600.0),
    ("dwell_shipping_returns_s", 300.0),
    ("dwell_checkout_s", 600.0),
    ("dwell_eligibility_s", 300.0),
    ("dwell_feature_s", 600.0),
    ("dwell_calculator_s", 600.0),
    ("max_scroll_pct", 100.0),
    ("clicks", 100.0),
    ("searches", 20.0),
    ("cart_value", 1000.0),
    ("form_errors", 10.0),
    ("calculator_changes", 20.0),
    ("session_age_s", 3600.0),
    ("returning", 1.0),
    ("past_purchases", 20.0),
)

_CATEGORICAL_VOCABULARY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sector", SECTORS),
    ("device", ("desktop", "mobile", "tablet")),
    ("traffic_source", ("direct", "search", "social", "email", "ads", "referral")),
    ("page_type", PAGE_TYPES),
)


@dataclass(frozen=True)
class FeaturizerOptions:
    """Which features the bandit sees, with their caps and vocabularies.

    Changing them changes the dimension and the fingerprint: saved bandit state then no
    longer loads (by design: an old model cannot score a new vector layout).

    >>> dict(FeaturizerOptions().numeric_caps)["cart_value"]
    1000.0
    """

    numeric_caps: tuple[tuple[str, float], ...] = _NUMERIC_CAPS
    categorical_vocabulary: tuple[tuple[str, tuple[str, ...]], ...] = _CATEGORICAL_VOCABULARY
    signals: tuple[str, ...] = SIGNAL_RULES
    intent_classes: tuple[str, ...] = INTENT_CLASSES

    def __post_init__(self) -> None:
        for name, cap in self.numeric_caps:
            if not cap > 0.0:
                raise DecideOptionsError(f"cap of numeric feature {name!r} must be > 0, got {cap}")


class Featurizer:
    """Turn a decision context into the bandit's fixed-length vector.

    >>> Featurizer().dimension
    61
    >>> len(Featurizer().fingerprint)
    16
    """

    def __init__(self, options: FeaturizerOptions | None = None) -> None:
        self.options = options or FeaturizerOptions()
        self._vocabularies = tuple(
            (feature, tuple(v for v in vocabulary if v != "other"))
            for feature, vocabulary in self.options.categorical_vocabulary
        )
        names: list[str] = ["bias"]
        names += [f"num:{name}" for name, _cap in self.options.numeric_caps]
        for feature, vocabulary in self._vocabularies:
            names += [f"cat:{feature}={value}" for value in (*vocabulary, "other")]
        names.append("intent:probability")
        names += [f"intent:{label}" for label in self.options.intent_classes]
        names += [f"signal:{rule}" for rule in self.options.signals]
        self.names: tuple[str, ...] = tuple(names)
        self._positions = {name: index for index, name in enumerate(self.names)}
        if len(self._positions) != len(self.names):
            raise DecideOptionsError("featurizer vocabulary has duplicate names")
        self._log_caps = tuple(
            (name, cap, math.log1p(cap)) for name, cap in self.options.numeric_caps
        )
        # Looked up per decision: offsets by value (first occurrence, as tuple.index) and the
        # numeric keys of the signal flags, built once.
        self._offsets = tuple(
            (feature, _first_positions(vocabulary), len(vocabulary))
            for feature, vocabulary in self._vocabularies
        )
        self._intent_offsets = _first_positions(self.options.intent_classes)
        self._signal_keys = tuple((rule, f"signal_{rule}") for rule in self.options.signals)
        self.fingerprint = hashlib.sha256(
            repr((self.names, self.options.numeric_caps)).encode()
        ).hexdigest()[:16]

    @property
    def dimension(self) -> int:
        """Length of every vector.

        >>> Featurizer(FeaturizerOptions(numeric_caps=(), categorical_vocabulary=(),
        ...                              signals=(), intent_classes=())).dimension
        2
        """
        return len(self.names)

    def index(self, name: str) -> int:
        """Position of a named coordinate (``KeyError`` if unknown).

        >>> Featurizer().index("bias")
        0
        """
        return self._positions[name]

    def transform(
        self,
        numeric: Mapping[str, float],
        categorical: Mapping[str, str],
        signals: frozenset[str] | set[str],
        intent_probability: float,
        intent_class: str,
    ) -> np.ndarray:
        """The vector for one context (float64, length :attr:`dimension`).

        ``signals`` are active rules; ``signal_<rule>`` flags in ``numeric`` count too.

        >>> x = Featurizer().transform({"signal_hesitation": 1.0}, {}, frozenset(), 0.0, "x")
        >>> float(x[Featurizer().index("signal:hesitation")])
        1.0
        """
        x = np.zeros(self.dimension, dtype=np.float64)
        x[0] = 1.0
        position = 1
        get, isfinite, log1p = numeric.get, math.isfinite, math.log1p  # per decision, 20 times
        for name, cap, log_cap in self._log_caps:
            value = float(get(name, 0.0))
            if value > 0.0 and isfinite(value):  # most are 0.0: the cheap test first
                x[position] = log1p(min(value, cap)) / log_cap
            position += 1
        for feature, offsets, size in self._offsets:
            x[position + offsets.get(categorical.get(feature, "other"), size)] = 1.0
            position += size + 1
        probability = float(intent_probability)
        x[position] = min(1.0, max(0.0, probability)) if math.isfinite(probability) else 0.0
        position += 1
        intent_offset = self._intent_offsets.get(intent_class)
        if intent_offset is not None:
            x[position + intent_offset] = 1.0
        position += len(self.options.intent_classes)
        for offset, (rule, key) in enumerate(self._signal_keys):
            if rule in signals or numeric.get(key, 0.0) > 0.0:
                x[position + offset] = 1.0
        return x


def _first_positions(values: tuple[str, ...]) -> dict[str, int]:
    """``{value: values.index(value)}`` for every value.

    >>> _first_positions(("a", "b", "a"))
    {'a': 0, 'b': 1}
    """
    positions: dict[str, int] = {}
    for index, value in enumerate(values):
        positions.setdefault(value, index)
    return positions
