"""Calculator fiddling: adjusting the same calculator again and again.

Finance and SaaS sites see visitors re-run a mortgage, loan or pricing
calculator when the numbers do not work for them. A *change* is a custom event
named in ``event_names`` (``calculator_change``) on any page, or any custom or
form_submit event on a page of type ``calculator``. Changes are counted per
calculator: the ``calculator`` (or ``calculator_id``, else ``input``) custom
property, else the form id, else the page URL. The rule fires when one
calculator reaches ``min_changes`` (3) in the session; the trigger is that change.

>>> opts, st = CalculatorFiddlingOptions(), CalculatorFiddlingState()
>>> changes = [SignalEvent(f"k{i}", "custom", i, "/mortgage", "calculator",
...            custom_name="calculator_change", custom_properties={"calculator": "mortgage"})
...            for i in range(3)]
>>> [observe_calculator_fiddling(st, c, opts) is not None for c in changes]
[False, False, True]
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.signals.counts import KeyCounts
from pipeline.signals.detection import Detection
from pipeline.signals.event import SignalEvent, key_hash
from pipeline.signals.rules import CALCULATOR_FIDDLING

__all__ = [
    "CalculatorFiddlingOptions",
    "CalculatorFiddlingState",
    "calculator_key",
    "observe_calculator_fiddling",
]

_KEY_PROPERTIES = ("calculator", "calculator_id", "input")


@dataclass(frozen=True, slots=True)
class CalculatorFiddlingOptions:
    """Thresholds of the calculator-fiddling rule.

    Attributes
    ----------
    min_changes
        Changes of one calculator in the session (3).
    event_names
        Custom event names that are calculator changes on any page.
    page_type
        Page type on which any custom or form_submit event is a change.
    history
        Calculators counted (bounded; further ones are ignored).

    >>> CalculatorFiddlingOptions().page_type
    'calculator'
    """

    min_changes: int = 3
    event_names: frozenset[str] = frozenset({"calculator_change"})
    page_type: str = "calculator"
    history: int = 8


@dataclass(slots=True)  # a dataclass itself (no `__slots__ = ()`): mypyc compiles it
class CalculatorFiddlingState(KeyCounts):
    """Change counts per hashed calculator key.

    >>> CalculatorFiddlingState().counts
    {}
    """


def calculator_key(event: SignalEvent, options: CalculatorFiddlingOptions) -> str | None:
    """The calculator an event changes, or ``None`` when it is not a change.

    >>> calculator_key(SignalEvent("k", "form_submit", 0, "/loan", "calculator",
    ...                form_id="loan-form"), CalculatorFiddlingOptions())
    'form:loan-form'
    >>> calculator_key(SignalEvent("k", "custom", 0, "/", "home", custom_name="x"),
    ...                CalculatorFiddlingOptions()) is None
    True
    """
    named = event.event_type == "custom" and event.custom_name in options.event_names
    on_page = event.page_type == options.page_type and event.event_type in ("custom",
                                                                            "form_submit")
    if not (named or on_page):
        return None
    for prop in _KEY_PROPERTIES:
        value = event.custom_properties.get(prop)
        if isinstance(value, str) and value:
            return f"calc:{value}"
    if event.form_id:
        return f"form:{event.form_id}"
    return f"url:{event.url}"


def observe_calculator_fiddling(
    state: CalculatorFiddlingState, event: SignalEvent, options: CalculatorFiddlingOptions
) -> Detection | None:
    """Fold one event in; a :class:`Detection` when a calculator reaches ``min_changes``.

    >>> st = CalculatorFiddlingState()
    >>> evs = [SignalEvent(f"k{i}", "form_submit", i, "/loan", "calculator", form_id="f")
    ...        for i in range(3)]
    >>> [observe_calculator_fiddling(st, e, CalculatorFiddlingOptions()) is None for e in evs]
    [True, True, False]
    """
    key = calculator_key(event, options)
    if key is None:
        return None
    count = state.add(key_hash(key), options.history)
    if count < options.min_changes:
        return None
    return Detection(
        rule=CALCULATOR_FIDDLING,
        trigger_event_id=event.event_id,
        event_time=event.time,
        strength=count / options.min_changes,
        page_url=event.url,
        details={"calculator": key[:128], "changes": str(count)},
    )
