"""``rtp topics apply`` is idempotent and reports drift without touching data."""

from __future__ import annotations

import dataclasses
import time
import uuid

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from pipeline.cli import main
from pipeline.settings import Settings
from pipeline.topics import apply_topics, describe_topics, topic_specs


def test_apply_twice_changes_nothing_the_second_time(kafka: Settings) -> None:
    settings = dataclasses.replace(kafka, topic_prefix=f"apply-{uuid.uuid4().hex[:8]}.")
    specs = topic_specs(settings.partitions, 1, settings.topic_prefix)
    first = apply_topics(settings.bootstrap, specs)
    assert sorted(first.created) == sorted(s.name for s in specs)
    second = apply_topics(settings.bootstrap, specs)
    assert second.changed_nothing
    assert sorted(second.unchanged) == sorted(s.name for s in specs)


def test_wrong_partition_count_is_reported_as_drift_and_left_alone(
        kafka: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = f"drift-{uuid.uuid4().hex[:8]}."
    events = f"{prefix}clickstream.events"
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    admin.create_topics([NewTopic(events, 1, 1)])[events].result(30)
    deadline = time.monotonic() + 30
    while events not in describe_topics(kafka.bootstrap) and time.monotonic() < deadline:
        continue  # metadata catches up with the creation

    specs = topic_specs(4, 1, prefix)
    report = apply_topics(kafka.bootstrap, specs)
    drift = [d for d in report.drift if d.what == "partitions"]
    assert [(d.topic, d.declared, d.actual) for d in drift] == [(events, "4", "1")]
    assert describe_topics(kafka.bootstrap)[events] == 1  # not repartitioned, not recreated

    # The CLI says so, and --strict turns drift into a failing exit code.
    args = ["--bootstrap", kafka.bootstrap, "--topic-prefix", prefix, "topics", "apply"]
    assert main(args) == 0
    expected = f"DRIFT    {events}: partitions is 1 on the broker, declared 4"
    assert expected in capsys.readouterr().out
    assert main([*args, "--strict"]) == 2
