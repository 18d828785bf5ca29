"""Feedback: join outcomes to decisions, turn them into immediate reward updates.

>>> pending = PendingRewards(RewardOptions())
>>> _ = pending.register({"decision_id": "d", "visitor_id": "v", "action_id": "a",
...                       "propensity": 1.0, "created_at": 0}, (1.0,))
>>> pending.on_outcome({"decision_id": "d", "kind": "dismissed", "event_time": 1}).reward
-0.5
"""

from pipeline.feedback.errors import (
    PendingRewardsError,
    RewardInputError,
    RewardOptionsError,
    UnknownOutcomeKind,
)
from pipeline.feedback.options import OUTCOME_KINDS, RewardOptions
from pipeline.feedback.pending import PendingDecision, PendingRewards
from pipeline.feedback.update import RewardUpdate

__all__ = [
    "OUTCOME_KINDS",
    "PendingDecision",
    "PendingRewards",
    "PendingRewardsError",
    "RewardInputError",
    "RewardOptions",
    "RewardOptionsError",
    "RewardUpdate",
    "UnknownOutcomeKind",
]
