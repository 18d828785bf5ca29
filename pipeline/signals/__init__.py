"""Struggle signals: one detector per rule, run by :class:`SignalEngine` with a cool-down.

Rules (``StruggleSignal.rule``): rage_click, dead_click, pogo_sticking,
hesitation, form_struggle, calculator_fiddling, search_refresh_loop. Each lives
in its own module with its frozen options (documented defaults) and its small,
bounded sub-state; :class:`SignalState` holds them all and is serialized inside
the sessions' ``SessionState``, so a visitor's whole state is one table value.

>>> from pipeline.signals import STRUGGLE_RULES, SignalEngine, SignalState
>>> SignalEngine().observe(SignalState(), {"event_id": "e", "event_type": "page_view",
...     "event_time": 1, "page": {"url": "/", "page_type": "home"}}, "v:1", "v")
[]
"""

from pipeline.signals.calculator_fiddling import (
    CalculatorFiddlingOptions,
    CalculatorFiddlingState,
    calculator_key,
    observe_calculator_fiddling,
)
from pipeline.signals.counts import KeyCounts
from pipeline.signals.dead_click import (
    DeadClickOptions,
    DeadClickState,
    dead_click_due,
    flush_dead_click,
    observe_dead_click,
)
from pipeline.signals.detection import Detection
from pipeline.signals.engine import SignalEngine
from pipeline.signals.errors import InvalidSignalEventError, SignalError, SignalStateFormatError
from pipeline.signals.event import (
    MAX_URL_CHARS,
    SignalEvent,
    key_hash,
    read_signal_event,
    strip_url,
)
from pipeline.signals.form_struggle import (
    FormStruggleOptions,
    FormStruggleState,
    observe_form_struggle,
)
from pipeline.signals.hesitation import (
    HesitationOptions,
    HesitationState,
    flush_hesitation,
    hesitation_due,
    observe_hesitation,
)
from pipeline.signals.options import SignalOptions
from pipeline.signals.pogo_sticking import (
    PogoStickingOptions,
    PogoStickingState,
    observe_pogo_sticking,
)
from pipeline.signals.rage_click import RageClickOptions, RageClickState, observe_rage_click
from pipeline.signals.rules import (
    CALCULATOR_FIDDLING,
    DEAD_CLICK,
    FORM_STRUGGLE,
    HESITATION,
    POGO_STICKING,
    RAGE_CLICK,
    SEARCH_REFRESH_LOOP,
    STRUGGLE_RULES,
)
from pipeline.signals.search_refresh_loop import (
    SearchRefreshLoopOptions,
    SearchRefreshLoopState,
    normalize_query,
    observe_search_refresh_loop,
)
from pipeline.signals.state import SignalState
from pipeline.signals.struggle_signal import signal_id, struggle_signal

__all__ = [
    "CALCULATOR_FIDDLING",
    "DEAD_CLICK",
    "FORM_STRUGGLE",
    "HESITATION",
    "MAX_URL_CHARS",
    "POGO_STICKING",
    "RAGE_CLICK",
    "SEARCH_REFRESH_LOOP",
    "STRUGGLE_RULES",
    "CalculatorFiddlingOptions",
    "CalculatorFiddlingState",
    "DeadClickOptions",
    "DeadClickState",
    "Detection",
    "FormStruggleOptions",
    "FormStruggleState",
    "HesitationOptions",
    "HesitationState",
    "InvalidSignalEventError",
    "KeyCounts",
    "PogoStickingOptions",
    "PogoStickingState",
    "RageClickOptions",
    "RageClickState",
    "SearchRefreshLoopOptions",
    "SearchRefreshLoopState",
    "SignalEngine",
    "SignalError",
    "SignalEvent",
    "SignalOptions",
    "SignalState",
    "SignalStateFormatError",
    "calculator_key",
    "dead_click_due",
    "flush_dead_click",
    "flush_hesitation",
    "hesitation_due",
    "key_hash",
    "normalize_query",
    "observe_calculator_fiddling",
    "observe_dead_click",
    "observe_form_struggle",
    "observe_hesitation",
    "observe_pogo_sticking",
    "observe_rage_click",
    "observe_search_refresh_loop",
    "read_signal_event",
    "signal_id",
    "strip_url",
    "struggle_signal",
]
