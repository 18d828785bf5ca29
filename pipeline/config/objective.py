"""The objective: the one business outcome the team optimises, first in the config file.

It sets the starting reward weights (each can still be set under ``rewards:``) and
names the headline metric reports lead with.

>>> Objective.parse("revenue").rewards().revenue_weight
0.01
>>> Objective.CONVERSION.headline
'conversion rate per visitor'
>>> Objective.REVENUE.metric
'revenue_per_visitor'
"""

from __future__ import annotations

from dataclasses import replace
from enum import Enum

from pipeline.feedback.options import RewardOptions

__all__ = ["Objective"]


class Objective(Enum):
    """conversion, revenue (per visitor / AOV), trial_to_paid or bounce."""

    CONVERSION = "conversion"
    REVENUE = "revenue"
    TRIAL_TO_PAID = "trial_to_paid"
    BOUNCE = "bounce"

    @classmethod
    def parse(cls, text: str) -> Objective:
        """The objective named ``text``; :class:`ValueError` naming the choices otherwise.

        >>> Objective.parse("sales")
        Traceback (most recent call last):
        ...
        ValueError: must be one of conversion, revenue, trial_to_paid, bounce
        """
        for objective in cls:
            if objective.value == text:
                return objective
        raise ValueError("must be one of " + ", ".join(o.value for o in cls))

    def rewards(self, base: RewardOptions | None = None) -> RewardOptions:
        """The reward weights this objective starts from (waits and bounds from ``base``).

        >>> Objective.BOUNCE.rewards().clicked, Objective.BOUNCE.rewards().dismissed
        (1.0, -1.0)
        """
        base = base or RewardOptions()
        if self is Objective.CONVERSION:
            # The engine's documented defaults: a worker without a config file runs this.
            defaults = RewardOptions()
            return replace(base, converted=defaults.converted, clicked=defaults.clicked,
                           dismissed=defaults.dismissed, revenue_weight=0.0)
        if self is Objective.REVENUE:
            # Money: each unit of order value (1 per 100), clicks only as a hint.
            return replace(base, converted=0.0, clicked=0.1, dismissed=-0.1,
                           revenue_weight=0.01)
        if self is Objective.TRIAL_TO_PAID:
            # A trial turning paid is the conversion; engagement on the way counts less.
            return replace(base, converted=1.0, clicked=0.3, dismissed=-0.3,
                           revenue_weight=0.0)
        # BOUNCE: keep visitors on the site; engagement is the reward, a dismissal the cost.
        return replace(base, converted=0.5, clicked=1.0, dismissed=-1.0, revenue_weight=0.0)

    @property
    def headline(self) -> str:
        """The metric reports and dashboards lead with."""
        return {
            Objective.CONVERSION: "conversion rate per visitor",
            Objective.REVENUE: "revenue per visitor",
            Objective.TRIAL_TO_PAID: "trial-to-paid rate",
            Objective.BOUNCE: "bounce rate",
        }[self]

    @property
    def metric(self) -> str:
        """The experiment report's metric the headline is (``rtp report``, the console): a
        trial turning paid is the conversion a SaaS site reports (its purchase or converted
        outcome), so ``trial_to_paid`` reads the conversion rate."""
        return {
            Objective.CONVERSION: "conversion_rate",
            Objective.REVENUE: "revenue_per_visitor",
            Objective.TRIAL_TO_PAID: "conversion_rate",
            Objective.BOUNCE: "bounce_rate",
        }[self]
