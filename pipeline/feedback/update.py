"""What the bandit learns from: one immediate reward update.

>>> update = RewardUpdate("d1", "cta_change", (1.0, 0.0), reward=1.0, total_reward=1.0,
...                       new_observation=True, reason="clicked", propensity=0.5,
...                       event_time_ms=10)
>>> update.is_correction
False
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RewardUpdate"]


@dataclass(frozen=True)
class RewardUpdate:
    """A reward for a decision, ready for ``LinUCB.apply`` / ``Decider.apply``.

    Updates are immediate: the first outcome of a decision is a ``new_observation`` with its
    reward; a later outcome (a click after "shown") is a correction carrying only the
    *difference* (``reward``), so the bandit's fit equals one observation with the summed
    reward (``total_reward``). A decision with no outcome within the wait gets one update
    with the default reward (``reason="expired"``).

    Fields
    ------
    decision_id, action_id
        The decision and the arm it chose.
    context
        The bandit's context vector at decision time (``DecisionOutcome.context_vector``).
    reward
        What to add now (the full reward when ``new_observation``, else the delta).
    total_reward
        The decision's reward so far.
    new_observation
        True for the decision's first update.
    reason
        The outcome kind, ``"expired"`` or ``"evicted"``.
    propensity
        The decision's propensity (for off-policy estimators).
    event_time_ms
        Event time of the outcome (or of the expiry).

    >>> RewardUpdate("d", "a", (), -0.5, -0.5, False, "dismissed", 1.0, 0).is_correction
    True
    """

    decision_id: str
    action_id: str
    context: tuple[float, ...]
    reward: float
    total_reward: float
    new_observation: bool
    reason: str
    propensity: float
    event_time_ms: int

    @property
    def is_correction(self) -> bool:
        """Whether this only adjusts the reward of an already-counted decision.

        >>> RewardUpdate("d", "a", (), 0.0, 0.0, True, "expired", 1.0, 0).is_correction
        False
        """
        return not self.new_observation
