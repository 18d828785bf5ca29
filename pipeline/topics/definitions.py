"""Every topic rtp uses, declared once: name, partitions, replication, cleanup, retention.

Keyed event topics share one partition count: a worker's stores and their changelogs
are partitioned like its inputs, and the range assignor keeps a visitor's partitions
of every input on one worker.

>>> specs = {t.name: t for t in topic_specs(partitions=4)}
>>> specs["profiles.updates"].config["cleanup.policy"]
'compact'
>>> specs["clickstream.events.dlq"].value_schema
'DeadLetter'
>>> topic_specs(4, prefix="t1.")[0].name
't1.clickstream.events'
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    "TopicSpec",
    "topic_specs",
]

EVENTS = "clickstream.events"
PROFILES = "profiles.updates"
ACTIONS = "personalization.actions"
ANSWERS = "personalization.answers"
OUTCOMES = "personalization.outcomes"
DECISIONS_LOG = "personalization.decisions.log"
SIGNALS = "signals.struggle"
LEARNING = "personalization.learning"
MODELS = "personalization.models"
CONFIG = "personalization.config"
LEARNER_CHECKPOINTS = "rtp.internal.learner-checkpoints"
ERASURES = "privacy.erasures"

_DAY_MS = 24 * 60 * 60 * 1000
_TEN_MIN_MS = 10 * 60 * 1000


@dataclass(frozen=True)
class TopicSpec:
    """One topic as it should exist on the broker."""

    name: str
    partitions: int
    replication: int
    key: str
    value_schema: str
    config: dict[str, str] = field(default_factory=dict)
    doc: str = ""


def _delete(days: int) -> dict[str, str]:
    return {"cleanup.policy": "delete", "retention.ms": str(days * _DAY_MS)}


def topic_specs(partitions: int, replication: int = 1, prefix: str = "") -> list[TopicSpec]:
    """The topics of the design guide, with a dead-letter topic for each consumed input."""
    base = [
        TopicSpec(EVENTS, partitions, replication, "visitor id", "ClickEvent", _delete(7),
                  "the web tier's clickstream"),
        TopicSpec(PROFILES, partitions, replication, "user or visitor id", "ProfileUpdate",
                  {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"},
                  "identify, traits, consent, erasure (compacted: latest per person)"),
        TopicSpec(ACTIONS, partitions, replication, "visitor id", "Decision", _delete(1),
                  "what delivery serves"),
        # Short-lived: only a request held right now needs it (delivery's read-back spans
        # its horizon, a few minutes at most); keyed by visitor like the actions.
        TopicSpec(ANSWERS, partitions, replication, "visitor id", "Answer",
                  {"cleanup.policy": "delete", "retention.ms": str(_TEN_MIN_MS)},
                  "'decided: nothing' for events a client waits on (held requests)"),
        TopicSpec(OUTCOMES, partitions, replication, "visitor id", "Outcome", _delete(7),
                  "shown / clicked / dismissed / converted / ignored"),
        TopicSpec(DECISIONS_LOG, partitions, replication, "decision id", "DecisionLog",
                  _delete(30), "every decision with context and propensities"),
        TopicSpec(SIGNALS, partitions, replication, "visitor id", "StruggleSignal", _delete(7),
                  "struggle signals for analytics and decisioning"),
        # One partition: the learner folds the records in one order, so a learner restarted
        # from its checkpoint ends with the model an uninterrupted one has.
        TopicSpec(LEARNING, 1, replication, "visitor id", "LearningRecord", _delete(7),
                  "rewards and intent labels the workers resolved, for the learner"),
        # One key, compacted: the newest snapshot is what workers decide with; older
        # versions stay readable for min.compaction.lag.ms (10 min: a snapshot a second
        # of a few hundred KB would otherwise pile up gigabytes a day); segments roll as
        # often, so that compaction can reach them.
        TopicSpec(MODELS, 1, replication, "model", "model snapshot (binary, versioned)",
                  {"cleanup.policy": "compact", "min.compaction.lag.ms": str(_TEN_MIN_MS),
                   "segment.ms": str(_TEN_MIN_MS),
                   "max.message.bytes": str(16 * 1024 * 1024)},
                  "the learner's model snapshots, every N updates or T seconds"),
        # One key, compacted: the newest config is what workers switch to; a version is its
        # record's offset + 1 (`rtp config publish`); older versions stay readable for
        # min.compaction.lag.ms (a redo decides with the version its commit named).
        TopicSpec(CONFIG, 1, replication, "config", "config (YAML, the effective config)",
                  {"cleanup.policy": "compact", "min.compaction.lag.ms": str(_DAY_MS)},
                  "published configs, switched to live by every worker"),
        TopicSpec(LEARNER_CHECKPOINTS, 1, replication, "checkpoint",
                  "learner checkpoint (binary)",
                  {"cleanup.policy": "compact", "segment.ms": str(_TEN_MIN_MS),
                   "max.message.bytes": str(16 * 1024 * 1024)},
                  "the learner's model, position and recent record ids (its restart point)"),
        # One mark per erased id (a keyed hash, never the id), kept: rtp report and replay
        # leave the erased people's records out of what the delete-policy topics still hold.
        TopicSpec(ERASURES, 1, replication, "erasure mark (keyed hash of an erased id)",
                  "erasure mark (JSON: erased_at, erasure)", {"cleanup.policy": "compact"},
                  "erased ids, unlinkable: what reports and replays leave out"),
    ]
    consumed = (EVENTS, PROFILES, ACTIONS, ANSWERS, OUTCOMES)
    dlqs = [
        TopicSpec(f"{name}.dlq", 1, replication, "source key", "DeadLetter", _delete(14),
                  f"bad input from {name}, with the reason")
        for name in consumed
    ]
    return [
        TopicSpec(prefix + t.name, t.partitions, t.replication, t.key, t.value_schema,
                  dict(t.config), t.doc)
        for t in base + dlqs
    ]
