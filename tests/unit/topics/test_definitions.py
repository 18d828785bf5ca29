"""Topic declarations: one place, the design guide's topics, DLQs, matching partitions."""

from __future__ import annotations

from pipeline.serde import SchemaRegistry
from pipeline.topics import (
    CONFIG,
    ERASURES,
    LEARNER_CHECKPOINTS,
    LEARNING,
    MODELS,
    topic_specs,
)

#: The learner's topics, the config and the erasure marks: one partition each (one order;
#: one model/config; a small set read whole).
SINGLE = {LEARNING, MODELS, LEARNER_CHECKPOINTS, CONFIG, ERASURES}
#: Values with their own versioned formats (pipeline/learning; the config as YAML; the
#: erasure marks as small JSON), not Avro records.
BINARY = {MODELS, LEARNER_CHECKPOINTS, CONFIG, ERASURES}
COMPACTED = {"profiles.updates", MODELS, LEARNER_CHECKPOINTS, CONFIG, ERASURES}


def test_every_topic_of_the_design_guide_is_declared_with_a_known_schema() -> None:
    specs = topic_specs(partitions=6)
    names = {s.name for s in specs}
    assert {"clickstream.events", "profiles.updates", "personalization.actions",
            "personalization.outcomes", "personalization.decisions.log",
            "signals.struggle", LEARNING, MODELS, LEARNER_CHECKPOINTS} <= names
    known = set(SchemaRegistry.load().names())
    assert {s.name for s in specs if s.value_schema not in known} == BINARY
    assert {s.value_schema for s in specs if s.name == LEARNING} == {"LearningRecord"}


def test_consumed_topics_have_dead_letter_topics_and_keyed_topics_share_partitions() -> None:
    specs = {s.name: s for s in topic_specs(partitions=6)}
    for source in ("clickstream.events", "profiles.updates", "personalization.outcomes",
                   "personalization.actions"):
        assert specs[f"{source}.dlq"].value_schema == "DeadLetter"
    keyed = [s for s in specs.values() if not s.name.endswith(".dlq") and s.name not in SINGLE]
    assert {s.partitions for s in keyed} == {6}
    assert {specs[name].partitions for name in SINGLE} == {1}


def test_profiles_and_the_learners_state_are_compacted_and_the_rest_expire() -> None:
    for spec in topic_specs(partitions=2):
        policy = spec.config["cleanup.policy"]
        assert policy == ("compact" if spec.name in COMPACTED else "delete"), spec.name
        if policy == "delete":
            assert int(spec.config["retention.ms"]) > 0
