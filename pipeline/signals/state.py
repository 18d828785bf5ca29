"""The detectors' state for one session: small, bounded, serialized inside SessionState.

Every ring and counter is bounded by its rule's ``history``; times are stored
relative to ``base_ms`` (the first event the detectors saw) to keep the JSON short.

>>> st = SignalState()
>>> SignalState.from_obj(st.to_obj()) == st
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.signals.calculator_fiddling import CalculatorFiddlingState
from pipeline.signals.dead_click import DeadClickState
from pipeline.signals.errors import SignalStateFormatError
from pipeline.signals.form_struggle import FormStruggleState
from pipeline.signals.hesitation import HesitationState
from pipeline.signals.pogo_sticking import PogoStickingState
from pipeline.signals.rage_click import RageClickState
from pipeline.signals.rules import STRUGGLE_RULES
from pipeline.signals.search_refresh_loop import SearchRefreshLoopState

__all__ = ["SignalState"]


@dataclass(slots=True)
class SignalState:
    """Per-session detector state (mutated in place by the engine).

    Attributes
    ----------
    base_ms
        Time origin of the relative times in the serialized form.
    fired
        ``rule -> (last firing's trigger time, signals emitted)`` this session.
    rage_click ... search_refresh_loop
        Each rule's own sub-state.

    >>> SignalState(fired={"rage_click": (5, 1)}).signal_count
    1
    """

    base_ms: int | None = None
    fired: dict[str, tuple[int, int]] = field(default_factory=dict)
    rage_click: RageClickState = field(default_factory=RageClickState)
    dead_click: DeadClickState = field(default_factory=DeadClickState)
    pogo_sticking: PogoStickingState = field(default_factory=PogoStickingState)
    hesitation: HesitationState = field(default_factory=HesitationState)
    form_struggle: FormStruggleState = field(default_factory=FormStruggleState)
    calculator_fiddling: CalculatorFiddlingState = field(default_factory=CalculatorFiddlingState)
    search_refresh_loop: SearchRefreshLoopState = field(default_factory=SearchRefreshLoopState)

    @property
    def signal_count(self) -> int:
        """Signals emitted in this session, all rules together.

        >>> SignalState().signal_count
        0
        """
        return sum(count for _, count in self.fired.values())

    def has_fired(self, rule: str) -> bool:
        """Whether ``rule`` emitted a signal in this session.

        >>> SignalState(fired={"hesitation": (0, 1)}).has_fired("hesitation")
        True
        """
        return rule in self.fired

    def to_obj(self) -> list[Any]:
        """A compact JSON-ready list (see :meth:`from_obj`).

        >>> SignalState().to_obj()
        [None, [], [], [], [], [None, [], []], [], [], []]
        """
        base = self.base_ms or 0
        fired = [
            v
            for rule in STRUGGLE_RULES
            if rule in self.fired
            for v in (STRUGGLE_RULES.index(rule), self.fired[rule][0] - base, self.fired[rule][1])
        ] if self.fired else []
        # A rule's state with nothing in it is written [] without a call: most rules of most
        # sessions are empty, and every commit writes every changed visitor's session.
        rage, dead, pogo = self.rage_click, self.dead_click, self.pogo_sticking
        form, calc, search = self.form_struggle, self.calculator_fiddling, self.search_refresh_loop
        return [
            self.base_ms,
            fired,
            rage.to_obj(base) if rage.clicks else [],
            dead.to_obj(base) if dead.pending_time is not None else [],
            pogo.to_obj(base) if pogo.views else [],
            self.hesitation.to_obj(base),
            form.to_obj() if form.counts else [],
            calc.to_obj() if calc.counts else [],
            search.to_obj(base) if search.recent else [],
        ]

    @classmethod
    def from_obj(cls, obj: Any) -> SignalState:
        """Read what :meth:`to_obj` wrote; :class:`SignalStateFormatError` if malformed.

        >>> SignalState.from_obj([1])
        Traceback (most recent call last):
        ...
        pipeline.signals.errors.SignalStateFormatError: signal state is malformed: expected a \
list of 9 items
        """
        if not isinstance(obj, list) or len(obj) != 9:
            raise SignalStateFormatError("signal state is malformed: expected a list of 9 items")
        try:
            base_ms = None if obj[0] is None else int(obj[0])
            base = base_ms or 0
            flat = [int(v) for v in obj[1]]
            fired = {
                STRUGGLE_RULES[flat[i]]: (flat[i + 1] + base, flat[i + 2])
                for i in range(0, len(flat) - 2, 3)
            }
            return cls(
                base_ms=base_ms,
                fired=fired,
                rage_click=RageClickState.from_obj(obj[2], base),
                dead_click=DeadClickState.from_obj(obj[3], base),
                pogo_sticking=PogoStickingState.from_obj(obj[4], base),
                hesitation=HesitationState.from_obj(obj[5], base),
                form_struggle=FormStruggleState.from_obj(obj[6]),
                calculator_fiddling=CalculatorFiddlingState.from_obj(obj[7]),
                search_refresh_loop=SearchRefreshLoopState.from_obj(obj[8], base),
            )
        except (TypeError, ValueError, IndexError) as exc:
            raise SignalStateFormatError(f"signal state is malformed: {exc}") from exc
