"""``rtp ready``: exit 0 when a worker is caught up (a readiness probe for Kubernetes).

Ready means: the worker's consumer group is stable, the member (this pod, found by
its Kafka client id, or any member) owns partitions, and the committed offsets of its
*input* partitions (``clickstream.events``, ``personalization.outcomes``,
``rtp.internal.visitor-profiles``, ``profiles.updates``) are at most ``--max-lag``
messages behind the log end. Table changelogs are never counted: an idle worker that
has applied everything is ready (:mod:`pipeline.topics.readiness`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from confluent_kafka import ConsumerGroupState, KafkaException
from confluent_kafka.admin import AdminClient

from pipeline.kafka_log import kafka_config
from pipeline.settings import Settings
from pipeline.topics import EVENTS, OUTCOMES, PROFILES, TopicAdminError
from pipeline.topics.groups import GroupPositions
from pipeline.topics.readiness import Readiness, owned_inputs

__all__ = ["check_ready", "input_topics", "register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp ready`` to the CLI."""
    parser = sub.add_parser(
        "ready", help="exit 0 when a worker is caught up (readiness probe)",
        description="Exit 0 when the worker group is stable and the input partitions "
                    "(clickstream events, outcomes, visitor profile views) of this member "
                    "(--client-id; default: the whole group) lag at most --max-lag messages; "
                    "exit 1 otherwise, saying why. Table changelogs are not counted.")
    parser.add_argument("--app-id", default="rtp-personalize",
                        help="the worker's app id (default rtp-personalize; prefix prepended)")
    parser.add_argument("--client-id", default=None,
                        help="Kafka client id of the member to check (the worker's --client-id)")
    parser.add_argument("--max-lag", type=int, default=1000,
                        help="largest acceptable lag in messages (default 1000)")
    add_common(parser)
    parser.set_defaults(handler=_run)


def input_topics(settings: Settings) -> list[str]:
    """The topics ``rtp worker`` consumes, under the settings' prefix.

    >>> input_topics(Settings(topic_prefix="p."))
    ['p.clickstream.events', 'p.personalization.outcomes', 'p.rtp.internal.visitor-profiles', \
'p.profiles.updates']
    """
    from topologies.decision_path import VISITOR_PROFILES

    return [settings.topic(name) for name in (EVENTS, OUTCOMES, VISITOR_PROFILES, PROFILES)]


def check_ready(settings: Settings, group: str, client_id: str | None,
                max_lag: int) -> Readiness:
    """The lag of the input partitions the member(s) of ``group`` own; raises
    :class:`RuntimeError` (saying why) when the group is not stable or owns nothing."""
    admin = AdminClient(kafka_config({"bootstrap.servers": settings.bootstrap}))
    description = admin.describe_consumer_groups([group])[group].result(10)
    if description.state != ConsumerGroupState.STABLE:
        raise RuntimeError(f"group {group} is {description.state.name.lower()}, not stable")
    members = [m for m in description.members
               if client_id is None or m.client_id == client_id]
    if not members:
        raise RuntimeError(f"no member of {group} has client id {client_id!r}")
    owned = owned_inputs(((tp.topic, tp.partition) for m in members
                          for tp in m.assignment.topic_partitions), input_topics(settings))
    if not owned:
        raise RuntimeError("no input partitions assigned yet")
    return Readiness.of(GroupPositions(settings.bootstrap, group).behind(owned), max_lag)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    group = f"{settings.topic_prefix}{args.app_id}"
    try:
        verdict = check_ready(settings, group, args.client_id, args.max_lag)
    except (RuntimeError, KafkaException, TopicAdminError, KeyError) as exc:
        print(f"not ready: {exc}", file=sys.stderr)
        return 1
    if not verdict.ready:
        print(verdict.describe(), file=sys.stderr)
        return 1
    print(verdict.describe())
    return 0
