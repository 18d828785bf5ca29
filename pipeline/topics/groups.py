"""Where a consumer group continues each partition, read with the admin API.

A worker asks this at the start of each consumer generation (see
:mod:`pipeline.engine.positions`): the group's committed offset, or the first offset
still in the log when nothing was committed or retention deleted past it. Asking the
consumer instead (``seek_to_committed``) also moves its fetch positions, which raced
with the consumer library's own seek after an assignment.
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from pipeline.topics.admin import TopicAdminError

__all__ = ["group_positions"]


def group_positions(bootstrap: str, group: str, partitions: Iterable[tuple[str, int]],
                    timeout: float = 10.0) -> dict[tuple[str, int], int]:
    """The offset ``group`` continues from in each (topic, partition).

    Blocking (run it in a thread from async code); raises :class:`TopicAdminError`
    when the broker does not answer.

    >>> group_positions("127.0.0.1:1", "g", [])
    {}
    """
    wanted = [TopicPartition(topic, partition) for topic, partition in partitions]
    if not wanted:
        return {}
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        answer = admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, wanted)], request_timeout=timeout)
        committed = {(tp.topic, tp.partition): tp.offset
                     for tp in answer[group].result(timeout).topic_partitions}
        earliest = {(tp.topic, tp.partition): future.result(timeout).offset
                    for tp, future in admin.list_offsets(
                        {tp: OffsetSpec.earliest() for tp in wanted},
                        request_timeout=timeout).items()}
    except KafkaException as exc:
        raise TopicAdminError(f"positions of group {group}: {exc}") from exc
    # A negative committed offset means none; the log may start later (retention).
    return {key: max(committed.get(key, -1), start) for key, start in earliest.items()}
