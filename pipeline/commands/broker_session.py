"""Use the configured broker, starting the local one for the duration of a job if needed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pipeline.broker import BrokerError, LocalKafka, broker_reachable
from pipeline.settings import Settings
from pipeline.topics import apply_topics, topic_specs

__all__ = ["broker_for_job"]


@contextmanager
def broker_for_job(settings: Settings, echo: Callable[[str], None] = print,
                   keep_running: bool = False) -> Iterator[bool]:
    """Make sure a broker answers and the topics exist; yield whether this job started it.

    A broker started here is stopped on exit unless ``keep_running``.
    """
    started = False
    broker = LocalKafka(settings, echo=echo)
    if not broker_reachable(settings.bootstrap):
        if not settings.uses_local_broker:
            raise BrokerError(f"Kafka at {settings.bootstrap} (RTP_KAFKA_BOOTSTRAP) "
                              "does not answer")
        broker.up()
        started = True
    report = apply_topics(settings.bootstrap, topic_specs(settings.partitions,
                                                          settings.replication,
                                                          settings.topic_prefix))
    echo(f"topics: {report.summary()}")
    try:
        yield started
    finally:
        if started and not keep_running:
            echo("stopping the local Kafka this job started")
            broker.down()
