"""Reward options: what each outcome is worth and how long to wait for it.

>>> RewardOptions().weight("dismissed")
-0.5
>>> RewardOptions().reward_wait_ms
600000
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.feedback.errors import RewardOptionsError, UnknownOutcomeKind

__all__ = ["OUTCOME_KINDS", "RewardOptions"]

OUTCOME_KINDS: tuple[str, ...] = ("shown", "clicked", "dismissed", "converted", "ignored")
"""Outcome.kind values.

>>> "dismissed" in OUTCOME_KINDS
True
"""


@dataclass(frozen=True)
class RewardOptions:
    """Reward weights and the reward wait.

    The reward of a decision is the sum of the weights of the *distinct* outcome kinds it
    received (a second click adds nothing; a re-delivered outcome is harmless), plus
    ``revenue_weight`` times the conversion value.

    Parameters
    ----------
    clicked, converted
        1.0 each.
    revenue_weight
        Reward per unit of conversion revenue (0.0: revenue ignored by default).
    dismissed
        -0.5: a dismissal is a negative signal.
    shown, ignored
        0.0.
    default_reward
        Reward of a decision with no outcome within the wait (0.0).
    reward_wait_ms
        Event-time wait for outcomes after the decision (10 minutes).
    max_pending
        Decisions awaited at once; beyond it the oldest gets its reward now (10 000).
    closed_memory
        Ids of closed decisions remembered, so that a decision registered again (its
        records applied again after a crash) is not awaited and rewarded twice (10 000).

    >>> RewardOptions(revenue_weight=0.01).revenue_weight
    0.01
    """

    clicked: float = 1.0
    converted: float = 1.0
    revenue_weight: float = 0.0
    dismissed: float = -0.5
    shown: float = 0.0
    ignored: float = 0.0
    default_reward: float = 0.0
    reward_wait_ms: int = 10 * 60 * 1000
    max_pending: int = 10_000
    closed_memory: int = 10_000

    def __post_init__(self) -> None:
        if self.reward_wait_ms < 0:
            raise RewardOptionsError(f"reward_wait_ms {self.reward_wait_ms} must be >= 0")
        if self.max_pending < 1:
            raise RewardOptionsError(f"max_pending {self.max_pending} must be >= 1")
        if self.closed_memory < 0:
            raise RewardOptionsError(f"closed_memory {self.closed_memory} must be >= 0")

    def weight(self, kind: str) -> float:
        """Weight of an outcome kind (:class:`UnknownOutcomeKind` for an unknown kind).

        >>> RewardOptions().weight("clicked")
        1.0
        """
        if kind not in OUTCOME_KINDS:
            raise UnknownOutcomeKind(
                f"unknown outcome kind {kind!r} (known: {', '.join(OUTCOME_KINDS)})"
            )
        return float(getattr(self, kind))

    def reward_for(self, kinds: frozenset[str] | set[str], revenue: float = 0.0) -> float:
        """Total reward of a set of distinct outcome kinds (default reward if empty).

        >>> RewardOptions().reward_for({"shown", "clicked", "converted"})
        2.0
        >>> RewardOptions().reward_for(set())
        0.0
        >>> RewardOptions(revenue_weight=0.01).reward_for({"converted"}, revenue=200.0)
        3.0
        """
        if not kinds:
            return self.default_reward
        total = sum(self.weight(kind) for kind in sorted(kinds))
        if "converted" in kinds:
            total += self.revenue_weight * revenue
        return total
