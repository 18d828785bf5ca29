"""The human-readable reason of a decision: ``Decision.reason``, shown by "Why am I seeing this?".

A reason is short and true: it names the rule that chose the action (the catalog's
description of it) and the signal or intent that triggered it, and says that the
content is personalized. It is built only from the catalog and from rule, signal and
intent names, never from the visitor's ids, traits, URLs or search text, so it holds
no personal data. A control-group decision is logged, not shown: its reason says so.

>>> from pipeline.decide.catalog import Action
>>> from pipeline.decide.conditions import Condition, ConditionView
>>> action = Action(id="free_express_shipping", slot="hero",
...                 description="Free express shipping banner for a hesitant visitor.",
...                 when=Condition(signals_any=frozenset({"hesitation"})))
>>> print(decision_reason(action, ConditionView({}, {}, {"hesitation"})))
Personalized for you: free express shipping banner for a hesitant visitor. Why: you paused on \
this page for a while.
"""

from __future__ import annotations

from functools import lru_cache

from pipeline.decide.catalog import Action
from pipeline.decide.conditions import Condition, ConditionView

__all__ = [
    "INTENT_WORDS",
    "MAX_REASON_CHARS",
    "SIGNAL_WORDS",
    "decision_reason",
    "triggering_signals",
]

#: A reason is cut to this many characters (it is shown in a small popup).
MAX_REASON_CHARS = 240

#: What each struggle signal means, in the visitor's terms.
SIGNAL_WORDS: dict[str, str] = {
    "rage_click": "you clicked several times in the same spot",
    "dead_click": "you clicked something that did not respond",
    "pogo_sticking": "you went back and forth between similar items",
    "hesitation": "you paused on this page for a while",
    "form_struggle": "a form gave you trouble",
    "calculator_fiddling": "you tried several values in the calculator",
    "search_refresh_loop": "you repeated or refreshed your search",
}

#: What each intent class means, in the visitor's terms.
INTENT_WORDS: dict[str, str] = {
    "browsing": "you seem to be browsing",
    "researching": "you seem to be comparing options",
    "high_intent": "you seem ready to decide",
    "at_risk": "you seem about to leave",
}


# A catalog's conditions are few and immutable; every decision asks for its action's.
@lru_cache(maxsize=1024)
def _named_signals(condition: Condition) -> frozenset[str]:
    named = condition.signals_any | condition.signals_all
    for branch in condition.any_of:
        named |= _named_signals(branch)
    return named


@lru_cache(maxsize=1024)
def _intent_classes(condition: Condition) -> frozenset[str]:
    classes = condition.intent_classes
    for branch in condition.any_of:
        classes |= _intent_classes(branch)
    return classes


def triggering_signals(action: Action, view: ConditionView) -> list[str]:
    """The struggle signals the action's rule asks for that are active now (sorted).

    >>> from pipeline.decide.conditions import Condition, ConditionView
    >>> a = Action(id="a", slot="inline", when=Condition(any_of=(
    ...     Condition(signals_any=frozenset({"pogo_sticking"})),
    ...     Condition(at_least=(("searches", 3.0),)))))
    >>> triggering_signals(a, ConditionView({}, {}, {"pogo_sticking", "rage_click"}))
    ['pogo_sticking']
    >>> triggering_signals(a, ConditionView({"searches": 4.0}, {}))
    []
    """
    return sorted(_named_signals(action.when) & view.signals)


@lru_cache(maxsize=1024)  # a catalog's descriptions: the same few texts at every decision
def _sentence(text: str) -> str:
    text = " ".join(text.split()).rstrip(".")
    return (text[:1].lower() + text[1:]) if text[:2] != text[:2].upper() else text


def decision_reason(action: Action, view: ConditionView, *, control: bool = False) -> str:
    """The reason of choosing ``action`` in the situation ``view`` (see the module docstring).

    The trigger named is, first, the struggle signals of the action's rule that are
    active; else the intent class, when the rule asks for one; else the rule itself
    (the catalog description). ``no_action`` and the control group get their own words.

    >>> from pipeline.decide.conditions import Condition, ConditionView
    >>> cta = Action(id="cta_change", slot="cta", description="Call to action for your intent.",
    ...              when=Condition(intent_classes=frozenset({"researching"})))
    >>> decision_reason(cta, ConditionView({}, {}, intent_class="researching"))
    'Personalized for you: call to action for your intent. Why: you seem to be comparing options.'
    >>> hero = Action(id="hero_by_traffic_source", slot="hero",
    ...               description="Hero banner matching where the visitor came from.")
    >>> decision_reason(hero, ConditionView({}, {}))
    'Personalized for you: hero banner matching where the visitor came from.'
    >>> decision_reason(hero, ConditionView({}, {}), control=True)  # doctest: +NORMALIZE_WHITESPACE
    'Control group: default content shown, not personalized (logged to measure the effect of
    personalization). The rules picked: hero banner matching where the visitor came from.'
    >>> decision_reason(Action(id="no_action", slot="none"), ConditionView({}, {}))
    'Not personalized: the default content was kept (no rule or model preferred a change).'
    """
    if action.is_no_action and not control:
        return ("Not personalized: the default content was kept (no rule or model preferred "
                "a change).")
    what = ("no change" if action.is_no_action
            else _sentence(action.description) or action.id.replace("_", " "))
    signals = triggering_signals(action, view)
    if signals:
        why = "; ".join(SIGNAL_WORDS.get(s, s.replace("_", " ")) for s in signals)
    elif view.intent_class in _intent_classes(action.when):
        why = INTENT_WORDS.get(view.intent_class, view.intent_class.replace("_", " "))
    else:
        why = ""
    if control:
        text = ("Control group: default content shown, not personalized (logged to measure "
                f"the effect of personalization). The rules picked: {what}.")
    else:
        text = f"Personalized for you: {what}." + (f" Why: {why}." if why else "")
    return text if len(text) <= MAX_REASON_CHARS else text[:MAX_REASON_CHARS - 1] + "\u2026"
