"""Fault tests: real broker, real worker processes, killed and restarted on purpose.

Each test gets its own topic prefix (and so its own consumer group and changelogs).
Workers are started through :func:`workers`, which stops whatever is still running
when the test ends. Faust reads its settings from the environment: the children get a
6 s session timeout (Faust's default is 60 s), so the broker notices a killed worker
within seconds; ``deploy/k8s`` sets it the same way. Offsets are committed at Faust's
default interval (2.8 s): a shorter one made the rebalance races described in
``test_scaling`` more frequent.
"""

from __future__ import annotations

import dataclasses
import re
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from pipeline.broker import LocalKafka
from pipeline.processes import WorkerProcess, free_port
from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.topics import apply_topics, topic_specs
from tests.fault.kafka_state import wait_until
from tests.integration.conftest import kafka  # noqa: F401  # the shared-broker fixture

#: Faust settings (environment variables) for the worker processes of this suite.
FAUST_ENV = {"BROKER_SESSION_TIMEOUT": "6", "BROKER_HEARTBEAT_INTERVAL": "1"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/fault" in str(item.fspath):
            item.add_marker(pytest.mark.fault)


def coordinator_ready(settings: Settings) -> bool:
    """Whether the group coordinator answers (a fresh broker loads its offsets topic first)."""
    admin = AdminClient({"bootstrap.servers": settings.bootstrap})
    try:
        admin.describe_consumer_groups(["fault-probe"])["fault-probe"].result(5)
    except KafkaException:
        return False
    return True


@pytest.fixture(scope="session")
def private_kafka(kafka: Settings) -> Iterator[LocalKafka]:  # noqa: F811  # the imported fixture
    """A broker of this suite's own on free ports: the tests may freeze, stop and restart it.

    The shared broker (``kafka``) is used by others and is never stopped. Jars come from
    the project's cache; the run folder is wiped at the end.
    """
    settings = dataclasses.replace(kafka, kafka_bootstrap="", kafka_port=free_port(),
                                   kafka_controller_port=free_port(),
                                   cache_dir=PROJECT_ROOT / ".cache")
    broker = LocalKafka(settings, echo=lambda _: None)
    broker.up()
    try:
        wait_until(lambda: coordinator_ready(settings), timeout=60, what="a group coordinator")
        yield broker
    finally:
        broker.down()
        broker.wipe()


def fresh_topics(settings: Settings) -> Settings:
    """``settings`` under a new topic prefix whose topics exist."""
    fresh = dataclasses.replace(settings, topic_prefix=f"fault-{uuid.uuid4().hex[:10]}.")
    apply_topics(fresh.bootstrap, topic_specs(fresh.partitions, fresh.replication,
                                              fresh.topic_prefix))
    return fresh


@pytest.fixture
def topics(kafka: Settings) -> Settings:  # noqa: F811  # the imported fixture
    """Settings with a fresh topic prefix whose topics exist."""
    return fresh_topics(kafka)


StartWorker = Callable[..., WorkerProcess]


def generation(worker: WorkerProcess) -> int:
    """The latest consumer-group generation the worker joined (0: none yet)."""
    found = re.findall(r"Joined group '[^']*' \(generation (\d+)\)",
                       worker.log_path.read_text(errors="replace"))
    return int(found[-1]) if found else 0


def recovered(worker: WorkerProcess, at_generation: int | None = None) -> bool:
    """Whether Faust finished restoring the tables of the worker's latest assignment.

    ``WorkerProcess.wait_ready`` only sees the group stable; Faust then still restores
    tables and seeks, and events that arrive meanwhile were seen to be skipped (see
    ``test_scaling``). Read from Faust's own log lines; ``at_generation`` asks for the
    recovery of that group generation (or a later one).
    """
    text = worker.log_path.read_text(errors="replace")
    if at_generation is not None and generation(worker) < at_generation:
        return False
    return text.rfind("Worker ready") > text.rfind("Setting newly assigned partitions")


@pytest.fixture
def workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StartWorker]:
    """``start(settings, name, data_dir=None)``: a worker process, stopped after the test."""
    for key, value in FAUST_ENV.items():
        monkeypatch.setenv(key, value)
    started: list[WorkerProcess] = []

    def start(settings: Settings, name: str = "w", data_dir: Path | None = None,
              commit_every: float = 0.5) -> WorkerProcess:
        worker = WorkerProcess(settings, data_dir or tmp_path / f"{name}-data",
                               tmp_path / f"{name}.log", commit_every=commit_every)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.proc.poll() is None:
            worker.stop(signal.SIGTERM, timeout=20)
