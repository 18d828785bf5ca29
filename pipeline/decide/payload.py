"""Fill an action's payload templates from the decision context.

A placeholder is looked up, first match wins, in:

1. ``extras``: live values the engine supplies (e.g. ``rooms_left`` from inventory);
2. built-ins: ``minutes`` (ttl in whole minutes), ``ttl_seconds``, ``expires_at_ms``
   (trigger time + ttl), ``intent_class``, ``action_id``;
3. categorical session features, skipping ``"unknown"``, ``"none"`` and ``""``;
4. numeric session features (whole numbers print without ``.0``);
5. the action's ``params`` (catalog fallbacks).

If any placeholder stays unresolved the payload is not rendered (the action is not
eligible): a cue like "only {rooms_left} rooms left" is never shown with an invented number.

>>> from pipeline.decide.catalog import Action
>>> action = Action(id="rooms_left_cue", slot="inline", ttl_seconds=600,
...                 payload={"message": "Only {rooms_left} rooms left at this price"})
>>> render_payload(action, PayloadContext(extras={"rooms_left": "2"}))
{'message': 'Only 2 rooms left at this price'}
>>> render_payload(action, PayloadContext()) is None
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from pipeline.decide.catalog import Action

__all__ = ["MISSING_VALUES", "PayloadContext", "format_number", "render_payload", "resolve"]

MISSING_VALUES: frozenset[str] = frozenset({"", "unknown", "none"})
"""Categorical values that mean "we do not know" and never fill a placeholder.

>>> "unknown" in MISSING_VALUES
True
"""


@dataclass(frozen=True)
class PayloadContext:
    """The values a payload may use.

    >>> PayloadContext(categorical={"industry": "retail"}).categorical["industry"]
    'retail'
    """

    numeric: Mapping[str, float] = field(default_factory=dict)
    categorical: Mapping[str, str] = field(default_factory=dict)
    extras: Mapping[str, str] = field(default_factory=dict)
    intent_class: str = "browsing"
    event_time_ms: int = 0


def format_number(value: float) -> str:
    """A number as a payload shows it.

    >>> format_number(3.0), format_number(2.5), format_number(float("nan"))
    ('3', '2.5', '')
    """
    if not math.isfinite(value):
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:g}"


def resolve(name: str, action: Action, context: PayloadContext) -> str | None:
    """The value of one placeholder, or None when it cannot be filled.

    >>> from pipeline.decide.catalog import Action
    >>> resolve("minutes", Action(id="a", slot="hero", ttl_seconds=1200), PayloadContext())
    '20'
    >>> resolve("industry", Action(id="a", slot="hero", params={"industry": "general"}),
    ...         PayloadContext(categorical={"industry": "unknown"}))
    'general'
    """
    extra = context.extras.get(name)
    if extra is not None and extra not in MISSING_VALUES:
        return str(extra)
    # The built-in placeholders, tested in turn (not a dict of lambdas built per call).
    if name == "minutes":
        return str(action.ttl_seconds // 60)
    if name == "ttl_seconds":
        return str(action.ttl_seconds)
    if name == "expires_at_ms":
        return str(context.event_time_ms + action.ttl_seconds * 1000)
    if name == "intent_class":
        return context.intent_class
    if name == "action_id":
        return action.id
    text = context.categorical.get(name)
    if text is not None and text not in MISSING_VALUES:
        return str(text)
    number = context.numeric.get(name)
    if number is not None:
        formatted = format_number(float(number))
        if formatted:
            return formatted
    return action.params.get(name)


def render_payload(action: Action, context: PayloadContext) -> dict[str, str] | None:
    """Every template filled, or None if a placeholder cannot be resolved.

    >>> from pipeline.decide.catalog import Action
    >>> render_payload(Action(id="a", slot="cta", payload={"v": "{sector}.{intent_class}"}),
    ...                PayloadContext(categorical={"sector": "saas"}, intent_class="researching"))
    {'v': 'saas.researching'}
    """
    values: dict[str, str] = {}
    for name in action.placeholders:
        value = resolve(name, action, context)
        if value is None:
            return None
        values[name] = value
    return {key: template.format_map(values) for key, template in action.payload.items()}
