"""All struggle-rule options in one frozen aggregate, plus the shared cool-down.

>>> SignalOptions().cooldown_ms, SignalOptions().rage_click.min_clicks
(300000, 3)
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass

from pipeline.signals.calculator_fiddling import CalculatorFiddlingOptions
from pipeline.signals.dead_click import DeadClickOptions
from pipeline.signals.form_struggle import FormStruggleOptions
from pipeline.signals.hesitation import HesitationOptions
from pipeline.signals.pogo_sticking import PogoStickingOptions
from pipeline.signals.rage_click import RageClickOptions
from pipeline.signals.rules import STRUGGLE_RULES
from pipeline.signals.search_refresh_loop import SearchRefreshLoopOptions

__all__ = ["SignalOptions"]


@dataclass(frozen=True, slots=True)
class SignalOptions:
    """Options of every detector.

    Attributes
    ----------
    cooldown_ms
        After a rule fires in a session, it stays silent for this long in event
        time (5 min): the visitor is not nagged and downstream sees one signal
        per episode. A detection whose trigger time is before the rule's last
        firing is also dropped, so any two signals of one rule in a session are
        at least ``cooldown_ms`` apart.
    enabled_rules
        Rules that run (all by default).
    rage_click, dead_click, pogo_sticking, hesitation, form_struggle, calculator_fiddling, \
search_refresh_loop
        Per-rule thresholds (see each rule's module).

    >>> SignalOptions(enabled_rules=frozenset({"rage_click"})).enabled_rules
    frozenset({'rage_click'})
    >>> SignalOptions(rage_click=RageClickOptions(window_ms=-1))
    Traceback (most recent call last):
    ...
    ValueError: rage_click.window_ms: must not be negative (got -1)
    """

    cooldown_ms: int = 300_000
    enabled_rules: frozenset[str] = frozenset(STRUGGLE_RULES)
    rage_click: RageClickOptions = field(default_factory=RageClickOptions)
    dead_click: DeadClickOptions = field(default_factory=DeadClickOptions)
    pogo_sticking: PogoStickingOptions = field(default_factory=PogoStickingOptions)
    hesitation: HesitationOptions = field(default_factory=HesitationOptions)
    form_struggle: FormStruggleOptions = field(default_factory=FormStruggleOptions)
    calculator_fiddling: CalculatorFiddlingOptions = field(
        default_factory=CalculatorFiddlingOptions
    )
    search_refresh_loop: SearchRefreshLoopOptions = field(
        default_factory=SearchRefreshLoopOptions
    )

    def __post_init__(self) -> None:
        unknown = set(self.enabled_rules) - set(STRUGGLE_RULES)
        if unknown:
            raise ValueError(
                f"unknown struggle rules {sorted(unknown)}; known: {list(STRUGGLE_RULES)}"
            )
        if self.cooldown_ms < 0:
            raise ValueError(f"cooldown_ms: must not be negative (got {self.cooldown_ms})")
        for rule in fields(self):  # every threshold is a count, a distance or a duration
            options = getattr(self, rule.name)
            if not is_dataclass(options):
                continue
            for threshold in fields(options):
                value = getattr(options, threshold.name)
                if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                    raise ValueError(f"{rule.name}.{threshold.name}: must not be negative "
                                     f"(got {value})")
