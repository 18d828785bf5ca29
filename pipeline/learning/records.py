"""Learning records (schema ``LearningRecord``): the only thing workers tell the learner.

A record's id makes it idempotent: a worker that redoes work after a crash emits the
same record again (the same state and input give the same content and id), and the
learner keeps the first.

>>> from pipeline.feedback import RewardUpdate
>>> update = RewardUpdate("d1", "cta", (1.0,), 1.0, 1.0, True, "clicked", 0.5, 7)
>>> reward_record(update, "v1")["record_id"]
'reward|d1|clicked'
>>> label_record("s1", "end", {"page_views": 2.0}, {}, True, "v1", 9)["label"]["converted"]
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.feedback import RewardUpdate

__all__ = ["label_record", "reward_record"]


def reward_record(update: RewardUpdate, visitor_id: str) -> dict[str, Any]:
    """The record of one reward update (its id: decision and reason)."""
    return {
        "record_id": f"reward|{update.decision_id}|{update.reason}",
        "visitor_id": visitor_id,
        "event_time": int(update.event_time_ms),
        "reward": {
            "decision_id": update.decision_id, "action_id": update.action_id,
            "context": list(update.context), "reward": float(update.reward),
            "total_reward": float(update.total_reward),
            "new_observation": bool(update.new_observation), "reason": update.reason,
            "propensity": float(update.propensity),
        },
        "label": None,
    }


def label_record(session_id: str, release: str, numeric: Mapping[str, float],
                 categorical: Mapping[str, str], converted: bool, visitor_id: str,
                 event_time_ms: int) -> dict[str, Any]:
    """The record of one labelled intent example; ``release`` names what labelled it
    (the purchase's event id, the next session's event id, ``expired``)."""
    return {
        "record_id": f"label|{session_id}|{release}",
        "visitor_id": visitor_id,
        "event_time": int(event_time_ms),
        "reward": None,
        "label": {"session_id": session_id, "numeric": dict(numeric),
                  "categorical": dict(categorical), "converted": bool(converted)},
    }
