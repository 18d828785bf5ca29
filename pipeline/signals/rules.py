"""The struggle rule names (``StruggleSignal.rule``), in a stable order.

>>> len(STRUGGLE_RULES), STRUGGLE_RULES[0]
(7, 'rage_click')
"""

from __future__ import annotations

__all__ = [
    "CALCULATOR_FIDDLING",
    "DEAD_CLICK",
    "FORM_STRUGGLE",
    "HESITATION",
    "POGO_STICKING",
    "RAGE_CLICK",
    "SEARCH_REFRESH_LOOP",
    "STRUGGLE_RULES",
]

RAGE_CLICK = "rage_click"
DEAD_CLICK = "dead_click"
POGO_STICKING = "pogo_sticking"
HESITATION = "hesitation"
FORM_STRUGGLE = "form_struggle"
CALCULATOR_FIDDLING = "calculator_fiddling"
SEARCH_REFRESH_LOOP = "search_refresh_loop"

#: Every rule, in the order detectors run and features list them.
STRUGGLE_RULES: tuple[str, ...] = (
    RAGE_CLICK,
    DEAD_CLICK,
    POGO_STICKING,
    HESITATION,
    FORM_STRUGGLE,
    CALCULATOR_FIDDLING,
    SEARCH_REFRESH_LOOP,
)
