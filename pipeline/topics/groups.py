"""Where a consumer group continues each partition, read with the admin API.

The group's committed offset, or the first offset still in the log when nothing was
committed or retention deleted past it; :meth:`GroupPositions.behind` is a group's lag
(benchmarks and readiness use it).
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from pipeline.kafka_log import kafka_config
from pipeline.topics.admin import TopicAdminError

__all__ = ["GroupPositions"]


class GroupPositions:
    """Reads where ``group`` continues its partitions; one admin client, kept open (a new
    one first spends up to a second on connections and metadata).

    >>> GroupPositions("127.0.0.1:1", "g").read([])
    {}
    >>> GroupPositions("127.0.0.1:1", "g").behind([])
    {}
    """

    def __init__(self, bootstrap: str, group: str, timeout: float = 10.0) -> None:
        self.bootstrap = bootstrap
        self.group = group
        self.timeout = timeout
        self._admin: AdminClient | None = None

    def read(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """The offset the group continues from in each (topic, partition).

        Blocking (run it in a thread from async code); raises :class:`TopicAdminError`
        when the broker does not answer.
        """
        wanted = [TopicPartition(topic, partition) for topic, partition in partitions]
        if not wanted:
            return {}
        try:
            answer = self._client().list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(self.group, wanted)], request_timeout=self.timeout)
            committed = {(tp.topic, tp.partition): tp.offset
                         for tp in answer[self.group].result(self.timeout).topic_partitions}
            earliest = self._log_offsets(wanted, OffsetSpec.earliest())
        except KafkaException as exc:
            raise TopicAdminError(f"positions of group {self.group}: {exc}") from exc
        # A negative committed offset means none; the log may start later (retention).
        return {key: max(committed.get(key, -1), start) for key, start in earliest.items()}

    def behind(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """Records after where the group continues, per (topic, partition): its lag."""
        wanted = list(partitions)
        positions = self.read(wanted)
        try:
            ends = self._log_offsets([TopicPartition(t, p) for t, p in wanted],
                                     OffsetSpec.latest())
        except KafkaException as exc:
            raise TopicAdminError(f"end offsets for group {self.group}: {exc}") from exc
        return {key: max(0, end - positions[key]) for key, end in ends.items()}

    def _client(self) -> AdminClient:
        if self._admin is None:
            self._admin = AdminClient(kafka_config({"bootstrap.servers": self.bootstrap}))
        return self._admin

    def _log_offsets(self, wanted: list[TopicPartition],
                     spec: OffsetSpec) -> dict[tuple[str, int], int]:
        futures = self._client().list_offsets({tp: spec for tp in wanted},
                                              request_timeout=self.timeout)
        return {(tp.topic, tp.partition): future.result(self.timeout).offset
                for tp, future in futures.items()}
