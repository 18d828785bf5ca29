"""Apply the declared topics to a broker: create what is missing, report drift, destroy nothing.

Drift is a difference between the declaration and the broker (partition count,
cleanup policy, retention). It is reported, never "fixed" by deleting a topic:
that would lose data. Raising partitions is also left to an operator, because
it moves keys between partitions and breaks the store/changelog/source pairing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from pipeline.kafka_log import kafka_config
from pipeline.topics.definitions import TopicSpec

__all__ = ["ApplyReport", "Drift", "TopicAdminError", "apply_topics", "describe_topics",
           "unready_topics", "wait_for_topics"]

_COMPARED_CONFIGS = ("cleanup.policy", "retention.ms")


class TopicAdminError(RuntimeError):
    """The broker could not be reached or refused an operation."""


@dataclass(frozen=True)
class Drift:
    """One way a topic on the broker differs from its declaration.

    >>> str(Drift("t", "partitions", "4", "2"))
    't: partitions is 2 on the broker, declared 4'
    """

    topic: str
    what: str
    declared: str
    actual: str

    def __str__(self) -> str:
        return f"{self.topic}: {self.what} is {self.actual} on the broker, declared {self.declared}"


@dataclass
class ApplyReport:
    """What ``apply_topics`` did.

    >>> ApplyReport(created=["a"], unchanged=["b"]).summary()
    'created 1, unchanged 1, drift 0'
    """

    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)

    @property
    def changed_nothing(self) -> bool:
        """True when every topic already existed as declared."""
        return not self.created and not self.drift

    def summary(self) -> str:
        """One line for logs and the CLI."""
        return (f"created {len(self.created)}, unchanged {len(self.unchanged)}, "
                f"drift {len(self.drift)}")


def _admin(bootstrap: str) -> AdminClient:
    return AdminClient(kafka_config({"bootstrap.servers": bootstrap,
                                     "socket.timeout.ms": 10000}))


def describe_topics(bootstrap: str, timeout: float = 10.0) -> dict[str, int]:
    """Partition count of every topic on the broker."""
    try:
        metadata = _admin(bootstrap).list_topics(timeout=timeout)
    except KafkaException as exc:
        raise TopicAdminError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
    return {name: len(t.partitions) for name, t in metadata.topics.items()}


def unready_topics(described: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    """The topics of ``names`` a client cannot use yet, by the broker's metadata
    (``described``: topic name to ``TopicMetadata``, as ``list_topics().topics``): missing, in
    error, without partitions, or with a partition that has no leader.

    >>> from types import SimpleNamespace as M
    >>> led, leaderless = M(leader=1, error=None), M(leader=-1, error=None)
    >>> described = {"a": M(error=None, partitions={0: led, 1: led}),
    ...              "b": M(error=None, partitions={0: led, 1: leaderless}),
    ...              "c": M(error=None, partitions={})}
    >>> unready_topics(described, ["a", "b", "c", "d"])
    ['b', 'c', 'd']
    """
    def usable(topic: Any) -> bool:
        return (topic is not None and topic.error is None and bool(topic.partitions)
                and all(p.error is None and p.leader >= 0 for p in topic.partitions.values()))

    return sorted(name for name in names if not usable(described.get(name)))


def wait_for_topics(bootstrap: str, names: Sequence[str], timeout: float = 30.0) -> None:
    """Return once every topic of ``names`` is in the broker's metadata with a leader for each
    of its partitions; :class:`TopicAdminError` if that takes more than ``timeout`` seconds.

    The controller answers a CreateTopics request before the broker's metadata has the new
    topic: a client that asks in between is told it does not exist.
    """
    admin = _admin(bootstrap)
    deadline = time.monotonic() + timeout
    while True:
        try:
            described = admin.list_topics(timeout=max(1.0, deadline - time.monotonic())).topics
        except KafkaException as exc:
            raise TopicAdminError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
        waiting = unready_topics(described, names)
        if not waiting:
            return
        if time.monotonic() >= deadline:
            raise TopicAdminError(f"created but not usable after {timeout:g} s (no metadata or "
                                  f"no leader): {', '.join(waiting)}")
        time.sleep(0.1)  # between metadata requests, until the new topics show


def _configs(admin: AdminClient, names: Sequence[str], timeout: float) -> dict[str, dict[str, str]]:
    if not names:
        return {}
    resources = [ConfigResource(ConfigResource.Type.TOPIC, n) for n in names]
    out: dict[str, dict[str, str]] = {}
    for resource, future in admin.describe_configs(resources, request_timeout=timeout).items():
        entries = future.result(timeout=timeout)
        out[resource.name] = {k: str(v.value) for k, v in entries.items()}
    return out


def apply_topics(bootstrap: str, specs: Sequence[TopicSpec], timeout: float = 30.0) -> ApplyReport:
    """Create missing topics and compare existing ones with their declaration.

    Returns once the topics it created are in the broker's metadata, each partition with a
    leader (:func:`wait_for_topics`), so a client can use them at once.
    """
    admin = _admin(bootstrap)
    existing = describe_topics(bootstrap, timeout)
    report = ApplyReport()
    missing = [s for s in specs if s.name not in existing]
    if missing:
        futures = admin.create_topics(
            [NewTopic(s.name, s.partitions, s.replication, config=dict(s.config)) for s in missing],
            request_timeout=timeout,
        )
        raced = False
        for name, future in futures.items():
            try:
                future.result(timeout=timeout)
                report.created.append(name)
            except KafkaException as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise TopicAdminError(f"cannot create topic {name}: {exc}") from exc
                raced = True  # created meanwhile (or metadata lagged): compare it below
        if raced:
            existing = describe_topics(bootstrap, timeout)
        # usable when this returns: a client that reads a created topic at once finds it
        wait_for_topics(bootstrap, [s.name for s in missing], timeout)
    present = [s for s in specs if s.name in existing and s.name not in report.created]
    try:
        configs = _configs(admin, [s.name for s in present], timeout)
    except KafkaException as exc:
        raise TopicAdminError(f"cannot describe topic configs: {exc}") from exc
    for spec in present:
        drift = []
        if existing[spec.name] != spec.partitions:
            drift.append(Drift(spec.name, "partitions", str(spec.partitions),
                               str(existing[spec.name])))
        for key in _COMPARED_CONFIGS:
            if key in spec.config and configs[spec.name].get(key) != spec.config[key]:
                drift.append(Drift(spec.name, key, spec.config[key],
                                   configs[spec.name].get(key, "unset")))
        if drift:
            report.drift.extend(drift)
        else:
            report.unchanged.append(spec.name)
    return report
