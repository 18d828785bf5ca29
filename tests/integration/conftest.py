"""Integration tests run against a real Apache Kafka broker.

``make test`` starts the project's local broker when none answers; run alone,
this conftest does the same (and stops what it started). Each test gets its
own topic prefix, so tests never see each other's messages.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator

import pytest

from pipeline.broker import LocalKafka, broker_reachable
from pipeline.settings import Settings
from pipeline.topics import apply_topics, topic_specs


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def kafka() -> Iterator[Settings]:
    """Settings pointing at a broker that answers (started here if needed)."""
    settings = Settings.from_env()
    broker = LocalKafka(settings)
    started = False
    if not broker_reachable(settings.bootstrap):
        if not settings.uses_local_broker:
            pytest.fail(f"RTP_KAFKA_BOOTSTRAP={settings.bootstrap} does not answer")
        broker.up()
        started = True
    yield settings
    if started:
        broker.down()


@pytest.fixture
def topics(kafka: Settings) -> Settings:
    """Settings with a fresh topic prefix whose topics exist."""
    settings = dataclasses.replace(kafka, topic_prefix=f"it-{uuid.uuid4().hex[:10]}.")
    apply_topics(settings.bootstrap, topic_specs(settings.partitions, settings.replication,
                                                 settings.topic_prefix))
    return settings
