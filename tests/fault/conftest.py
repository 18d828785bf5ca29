"""Fault tests: real broker, real worker processes, killed and restarted on purpose.

Each test gets its own topic prefix (and so its own consumer group and changelogs).
Workers are started through :func:`workers`, which stops whatever is still running
when the test ends. The profile side beside each worker is a Faust app, which reads its
settings from the environment: it gets a 6 s session timeout (Faust's default is 60 s),
so the broker notices a killed one within seconds; ``deploy/k8s`` sets it the same way.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
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
    except (KafkaException, concurrent.futures.TimeoutError):  # not yet: the caller retries
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


_ASSIGNED = "partitions assigned; applying records"
_REVOKED = "partitions revoked"


def generation(worker: WorkerProcess) -> int:
    """How many assignments the worker has taken (0: none yet), read from its log."""
    return worker.log_path.read_text(errors="replace").count(_ASSIGNED)


def recovered(worker: WorkerProcess, at_generation: int | None = None) -> bool:
    """Whether the worker restored the stores of its latest assignment and applies records.

    ``WorkerProcess.wait_ready`` only sees the group stable; the worker then still brings
    its stores up to date from the changelogs (the log line comes after).
    ``at_generation`` asks for that many assignments (or more) taken by this worker.
    """
    text = worker.log_path.read_text(errors="replace")
    if at_generation is not None and generation(worker) < at_generation:
        return False
    return text.rfind(_ASSIGNED) > text.rfind(_REVOKED)


@pytest.fixture
def workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StartWorker]:
    """``start(settings, name, data_dir=None)``: a worker process, stopped after the test."""
    for key, value in FAUST_ENV.items():
        monkeypatch.setenv(key, value)
    started: list[WorkerProcess] = []

    def start(settings: Settings, name: str = "w", data_dir: Path | None = None,
              commit_every: float = 0.5) -> WorkerProcess:
        # No learner: the model stays the fresh one, so decisions do not depend on when
        # a snapshot arrives and compare exactly with the reference run's.
        worker = WorkerProcess(settings, data_dir or tmp_path / f"{name}-data",
                               tmp_path / f"{name}.log", commit_every=commit_every,
                               learner=False)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.proc.poll() is None:
            worker.stop(signal.SIGTERM, timeout=20)
