"""The purchases the experiment report attributes are kept as long as the decisions they
are attributed to (issue 11): a report over the decision log's whole span finds them."""

from __future__ import annotations

from pipeline.engine.routing import CONVERSIONS
from pipeline.settings import Settings
from pipeline.topics import DECISIONS_LOG, topic_specs
from topologies.personalize import internal_topics


def test_conversions_are_kept_as_long_as_the_decision_log() -> None:
    settings = Settings(partitions=2)
    internal = {t.name: t for t in internal_topics(settings, "g")}
    declared = {t.name: t for t in topic_specs(settings.partitions, settings.replication, "")}
    conversions = internal[settings.topic(CONVERSIONS)].config
    log = declared[settings.topic(DECISIONS_LOG)].config
    assert (conversions["cleanup.policy"], conversions["retention.ms"]) == (
        log["cleanup.policy"], log["retention.ms"])
