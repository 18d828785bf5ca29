"""What a detector found, before cool-down and before it becomes a StruggleSignal.

>>> Detection("rage_click", "e3", 1_000, strength=1.0).rule
'rage_click'
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Detection"]


@dataclass(frozen=True, slots=True)
class Detection:
    """A rule matched.

    Attributes
    ----------
    rule
        One of :data:`~pipeline.signals.rules.STRUGGLE_RULES`.
    trigger_event_id, event_time
        The event the signal is about (see each rule for which one) and its time.
    strength
        How far past the threshold, ``>= 1.0``.
    page_url
        Page of the trigger, without query string.
    details
        Small string map for analysts (counts, thresholds; never personal data).

    >>> Detection("dead_click", "e1", 5, details={"target": "#logo"}).details
    {'target': '#logo'}
    """

    rule: str
    trigger_event_id: str
    event_time: int
    strength: float = 1.0
    page_url: str | None = None
    details: dict[str, str] = field(default_factory=dict)
