"""Topics as code: the declarations and the idempotent ``apply``."""

from pipeline.topics.admin import ApplyReport, Drift, TopicAdminError, apply_topics, describe_topics
from pipeline.topics.definitions import (
    ACTIONS,
    ANSWERS,
    CONFIG,
    DECISIONS_LOG,
    ERASURES,
    EVENTS,
    LEARNER_CHECKPOINTS,
    LEARNING,
    MODELS,
    OUTCOMES,
    PROFILES,
    SIGNALS,
    TopicSpec,
    topic_specs,
)

__all__ = [
    "ACTIONS",
    "ANSWERS",
    "CONFIG",
    "DECISIONS_LOG",
    "ERASURES",
    "EVENTS",
    "LEARNER_CHECKPOINTS",
    "LEARNING",
    "MODELS",
    "OUTCOMES",
    "PROFILES",
    "SIGNALS",
    "ApplyReport",
    "Drift",
    "TopicAdminError",
    "TopicSpec",
    "apply_topics",
    "describe_topics",
    "topic_specs",
]
