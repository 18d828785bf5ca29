"""``rtp ready``: exit 0 when a worker is caught up (a readiness probe for Kubernetes).

Ready means: the worker's consumer group is stable, the member (this pod, found by
its Kafka client id, or any member) owns partitions, and the committed offsets of
those partitions are at most ``--max-lag`` messages behind the log end.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from confluent_kafka import Consumer, ConsumerGroupState, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from pipeline.settings import Settings

__all__ = ["group_lag", "register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp ready`` to the CLI."""
    parser = sub.add_parser(
        "ready", help="exit 0 when a worker is caught up (readiness probe)",
        description="Exit 0 when the worker group is stable and the partitions of this member "
                    "(--client-id; default: the whole group) lag at most --max-lag messages; "
                    "exit 1 otherwise, saying why.")
    parser.add_argument("--app-id", default="rtp-personalize",
                        help="the worker's app id (default rtp-personalize; prefix prepended)")
    parser.add_argument("--client-id", default=None,
                        help="Kafka client id of the member to check (the worker's --client-id)")
    parser.add_argument("--max-lag", type=int, default=1000,
                        help="largest acceptable lag in messages (default 1000)")
    add_common(parser)
    parser.set_defaults(handler=_run)


def group_lag(settings: Settings, group: str, client_id: str | None) -> int:
    """Messages the member(s) of ``group`` have not committed yet; raises when not ready."""
    admin = AdminClient({"bootstrap.servers": settings.bootstrap})
    description = admin.describe_consumer_groups([group])[group].result(10)
    if description.state != ConsumerGroupState.STABLE:
        raise RuntimeError(f"group {group} is {description.state.name.lower()}, not stable")
    members = [m for m in description.members
               if client_id is None or m.client_id == client_id]
    if not members:
        raise RuntimeError(f"no member of {group} has client id {client_id!r}")
    parts = [TopicPartition(tp.topic, tp.partition) for m in members
             for tp in m.assignment.topic_partitions]
    if not parts:
        raise RuntimeError("no partitions assigned yet")
    consumer = Consumer({"bootstrap.servers": settings.bootstrap, "group.id": group,
                        "enable.auto.commit": False})
    try:
        lag = 0
        for tp in consumer.committed(parts, timeout=10):
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            lag += max(0, high - (tp.offset if tp.offset >= 0 else low))
        return lag
    finally:
        consumer.close()


def _run(args: argparse.Namespace, settings: Settings) -> int:
    group = f"{settings.topic_prefix}{args.app_id}"
    try:
        lag = group_lag(settings, group, args.client_id)
    except (RuntimeError, KafkaException, KeyError) as exc:
        print(f"not ready: {exc}", file=sys.stderr)
        return 1
    if lag > args.max_lag:
        print(f"not ready: {lag} messages behind (max {args.max_lag})", file=sys.stderr)
        return 1
    print(f"ready: {lag} messages behind")
    return 0
