"""Eligibility conditions: the small declarative language of the catalog's ``when`` blocks.

A ``when`` block is a mapping; every key present must hold (AND), an empty block always
holds. Keys:

``signals_any: [rule, ...]``
    at least one of these struggle signals is active;
``signals_all: [rule, ...]``
    all of them are active;
``signals_none: [rule, ...]``
    none of them is active;
``page_types: [page_type, ...]``
    the current page's type is one of these;
``intent_classes: [class, ...]``
    the visitor's intent class is one of these;
``min_intent: p`` / ``max_intent: p``
    intent probability >= p / <= p (0..1);
``min_product_views: n``
    ``product_views`` >= n (shorthand for ``at_least: {product_views: n}``);
``at_least: {feature: n}`` / ``at_most: {feature: n}``
    numeric session features (contract names; a missing feature counts as 0);
``equals: {feature: value or [values]}``
    categorical session features (contract names; missing counts as ``"unknown"``);
``any_of: [when-block, ...]``
    at least one nested block holds.

A signal is active when its session flag (``signal_<rule>``) is set or the engine passes it
in ``active_signals``. Unknown keys, unknown names and wrong types are refused at load time.

>>> when = Condition.from_mapping({"signals_any": ["hesitation"], "min_product_views": 3})
>>> view = ConditionView({"product_views": 4.0, "signal_hesitation": 1.0}, {})
>>> when.matches(view)
True
>>> when.matches(ConditionView({"product_views": 4.0}, {}))
False
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.decide.located import Fields, line_of, number_value
from pipeline.decide.vocabulary import (
    CATEGORICAL_FEATURES,
    INTENT_CLASSES,
    NUMERIC_FEATURES,
    PAGE_TYPES,
    SIGNAL_RULES,
)

__all__ = ["CONDITION_KEYS", "Condition", "ConditionView", "view_signals"]

CONDITION_KEYS: tuple[str, ...] = (
    "signals_any",
    "signals_all",
    "signals_none",
    "page_types",
    "intent_classes",
    "min_intent",
    "max_intent",
    "min_product_views",
    "at_least",
    "at_most",
    "equals",
    "any_of",
)
"""Every key a ``when`` block may use.

>>> "any_of" in CONDITION_KEYS
True
"""


#: ``(rule, numeric flag name)`` pairs, built once (a view is made per decision).
_SIGNAL_FLAGS = tuple((rule, f"signal_{rule}") for rule in SIGNAL_RULES)


def view_signals(numeric: Mapping[str, float],
                 active: frozenset[str] | set[str]) -> frozenset[str]:
    """:attr:`ConditionView.signals`: the ``active`` rules and those whose ``signal_<rule>``
    flag is set in ``numeric``.

    >>> sorted(view_signals({"signal_pogo_sticking": 1.0}, {"hesitation"}))
    ['hesitation', 'pogo_sticking']
    """
    get = numeric.get
    fired = [rule for rule, key in _SIGNAL_FLAGS if get(key, 0.0) > 0.0]
    # frozenset(active) | fired; most views have no flag set (a frozenset is kept as is).
    return (frozenset(active).union(fired) if fired
            else active if type(active) is frozenset else frozenset(active))


@dataclass(frozen=True)
class ConditionView:
    """What a condition can look at: the session features, signals and intent.

    ``signals`` is computed: the rules passed as active plus those whose ``signal_<rule>``
    flag is set in ``numeric``.

    >>> sorted(ConditionView({"signal_pogo_sticking": 1.0}, {}, {"hesitation"}).signals)
    ['hesitation', 'pogo_sticking']
    >>> ConditionView({}, {}).page_type
    'unknown'
    """

    numeric: Mapping[str, float]
    categorical: Mapping[str, str]
    active_signals: frozenset[str] | set[str] = frozenset()
    intent_probability: float = 0.0
    intent_class: str = "browsing"
    signals: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "signals", view_signals(self.numeric, self.active_signals))

    @property
    def page_type(self) -> str:
        """The current page type (``"unknown"`` when absent).

        >>> ConditionView({}, {"page_type": "product"}).page_type
        'product'
        """
        return self.categorical.get("page_type", "unknown")


@dataclass(frozen=True)
class Condition:
    """A parsed ``when`` block (see the module docstring); evaluate with :meth:`matches`.

    >>> Condition().matches(ConditionView({}, {}))
    True
    >>> Condition(equals=(("sector", frozenset({"travel"})),)).matches(
    ...     ConditionView({}, {"sector": "travel"}))
    True
    """

    signals_any: frozenset[str] = frozenset()
    signals_all: frozenset[str] = frozenset()
    signals_none: frozenset[str] = frozenset()
    page_types: frozenset[str] = frozenset()
    intent_classes: frozenset[str] = frozenset()
    min_intent: float | None = None
    max_intent: float | None = None
    min_product_views: float | None = None
    at_least: tuple[tuple[str, float], ...] = ()
    at_most: tuple[tuple[str, float], ...] = ()
    equals: tuple[tuple[str, frozenset[str]], ...] = ()
    any_of: tuple[Condition, ...] = ()

    def matches(self, view: ConditionView) -> bool:
        """Whether every clause holds for ``view``.

        >>> Condition(at_most=(("cart_value", 0.0),)).matches(ConditionView({}, {}))
        True
        """
        signals = view.signals
        if self.signals_any and not (self.signals_any & signals):
            return False
        if not self.signals_all <= signals:
            return False
        if self.signals_none & signals:
            return False
        if self.page_types and view.page_type not in self.page_types:
            return False
        if self.intent_classes and view.intent_class not in self.intent_classes:
            return False
        if self.min_intent is not None and view.intent_probability < self.min_intent:
            return False
        if self.max_intent is not None and view.intent_probability > self.max_intent:
            return False
        numeric = view.numeric
        if (
            self.min_product_views is not None
            and numeric.get("product_views", 0.0) < self.min_product_views
        ):
            return False
        # Each clause list is usually empty: test that before building a generator.
        if self.at_least and any(numeric.get(name, 0.0) < bound for name, bound in self.at_least):
            return False
        if self.at_most and any(numeric.get(name, 0.0) > bound for name, bound in self.at_most):
            return False
        if self.equals and any(view.categorical.get(name, "unknown") not in values
                               for name, values in self.equals):
            return False
        return not self.any_of or any(sub.matches(view) for sub in self.any_of)

    @property
    def is_empty(self) -> bool:
        """True for the always-true block.

        >>> Condition().is_empty, Condition(page_types=frozenset({"home"})).is_empty
        (True, False)
        """
        return self == Condition()

    def to_mapping(self) -> dict[str, Any]:
        """The ``when`` block, JSON/YAML-ready; :meth:`from_mapping` reads it back.

        >>> Condition(min_intent=0.2, signals_any=frozenset({"hesitation"})).to_mapping()
        {'signals_any': ['hesitation'], 'min_intent': 0.2}
        """
        out: dict[str, Any] = {}
        for key in ("signals_any", "signals_all", "signals_none", "page_types", "intent_classes"):
            values = getattr(self, key)
            if values:
                out[key] = sorted(values)
        for key in ("min_intent", "max_intent", "min_product_views"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        for key in ("at_least", "at_most"):
            pairs = getattr(self, key)
            if pairs:
                out[key] = dict(pairs)
        if self.equals:
            out["equals"] = {name: sorted(values) for name, values in self.equals}
        if self.any_of:
            out["any_of"] = [sub.to_mapping() for sub in self.any_of]
        return out

    @classmethod
    def from_mapping(
        cls, data: Any, source: str = "<when>", line: int = 0, what: str = "when"
    ) -> Condition:
        """Parse and validate a ``when`` block (YAML-located or a plain dict).

        Raises :class:`pipeline.decide.CatalogError` naming ``source:line``.

        >>> from pipeline.decide.errors import CatalogError
        >>> try:
        ...     Condition.from_mapping({"signals_any": ["hesitaton"]}, "a.yaml", 7)
        ... except CatalogError as error:
        ...     print(str(error).split(" (")[0])
        a.yaml:7: when: 'signals_any' has unknown value 'hesitaton'
        """
        if data is None:
            return cls()
        fields = Fields(data, source, line, what)
        fields.check_keys(CONDITION_KEYS)
        min_intent = fields.number("min_intent", 0.0, 1.0) if fields.has("min_intent") else None
        max_intent = fields.number("max_intent", 0.0, 1.0) if fields.has("max_intent") else None
        if min_intent is not None and max_intent is not None and min_intent > max_intent:
            fields.fail("min_intent", f"{min_intent} is above max_intent {max_intent}")
        min_views = (
            fields.number("min_product_views", 0.0) if fields.has("min_product_views") else None
        )
        any_of: tuple[Condition, ...] = ()
        if fields.has("any_of"):
            items = fields.data["any_of"]
            if not isinstance(items, list) or not items:
                fields.fail("any_of", "must be a non-empty list of when-blocks")
            any_of = tuple(
                cls.from_mapping(
                    item,
                    source,
                    line_of(items, index, fields.line_for("any_of")),
                    f"{what}: any_of[{index}]",
                )
                for index, item in enumerate(items)
            )
        return cls(
            signals_any=fields.names("signals_any", SIGNAL_RULES),
            signals_all=fields.names("signals_all", SIGNAL_RULES),
            signals_none=fields.names("signals_none", SIGNAL_RULES),
            page_types=fields.names("page_types", PAGE_TYPES),
            intent_classes=fields.names("intent_classes", INTENT_CLASSES),
            min_intent=min_intent,
            max_intent=max_intent,
            min_product_views=min_views,
            at_least=_bounds(fields, "at_least"),
            at_most=_bounds(fields, "at_most"),
            equals=_equals(fields),
            any_of=any_of,
        )


def _bounds(fields: Fields, key: str) -> tuple[tuple[str, float], ...]:
    nested = fields.mapping(key)
    pairs: list[tuple[str, float]] = []
    for name, value in nested.data.items():
        if name not in NUMERIC_FEATURES:
            nested.fail(name, "is not a numeric session feature")
        pairs.append((name, number_value(value, lambda reason, n=name: nested.fail(n, reason))))
    return tuple(sorted(pairs))


def _equals(fields: Fields) -> tuple[tuple[str, frozenset[str]], ...]:
    nested = fields.mapping("equals")
    pairs: list[tuple[str, frozenset[str]]] = []
    for name, value in nested.data.items():
        if name not in CATEGORICAL_FEATURES:
            nested.fail(name, "is not a categorical session feature")
        values = [value] if isinstance(value, str) else value
        if not (isinstance(values, list) and values and all(isinstance(v, str) for v in values)):
            nested.fail(name, "must be a string or a non-empty list of strings")
        pairs.append((name, frozenset(values)))
    return tuple(sorted(pairs, key=lambda pair: pair[0]))
