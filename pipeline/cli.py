"""The ``rtp`` command: run the local broker, apply topics, check schemas, run the jobs.

Every option can also be set with an ``RTP_*`` environment variable (see
``pipeline/settings.py``); a flag wins over the environment.

>>> build_parser().parse_args(["kafka", "up"]).command
'kafka'
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence

from pipeline.logs import configure_logging
from pipeline.settings import Settings, SettingsError

__all__ = ["build_parser", "main"]

Handler = Callable[[argparse.Namespace, Settings], int]

_EPILOG = """\
environment:
  RTP_KAFKA_BOOTSTRAP   use this broker instead of the local one (host:port,...)
  RTP_KAFKA_PORT        port of the local broker (default 9092)
  RTP_TOPIC_PREFIX      prefix for every topic name (tests, tenants)
  RTP_PARTITIONS        partitions of the keyed topics (default 4)
  RTP_LOG_FORMAT        auto | json | console      RTP_LOG_LEVEL  debug | info | ...
  RTP_CACHE_DIR         where broker jars, data and logs live (default ./.cache)
  RTP_CONFIG__SECTION__FIELD  overrides a field of the config file (rtp config check)

examples:
  rtp kafka up && rtp topics apply     start a local Apache Kafka and create the topics
  rtp demo                             run the main job end to end on the local broker
"""


def _settings(args: argparse.Namespace) -> Settings:
    base = Settings.from_env()
    overrides = {}
    for name in ("kafka_bootstrap", "kafka_port", "topic_prefix", "partitions", "log_format",
                 "log_level"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return dataclasses.replace(base, **overrides)


def _echo(message: str) -> None:
    print(message, flush=True)


# -- kafka ----------------------------------------------------------------------------------


def _kafka(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.broker import BrokerError, LocalKafka

    broker = LocalKafka(settings, echo=_echo)
    try:
        if args.action == "up":
            broker.up(timeout=args.timeout)
        elif args.action == "down":
            stopped = broker.down()
            _echo("stopped the local Kafka" if stopped else "no Kafka started by rtp is running")
        elif args.action == "wipe":
            broker.wipe()
            _echo(f"removed {broker.run_dir}")
        else:
            status = broker.status() if settings.uses_local_broker else None
            from pipeline.broker import broker_reachable

            reachable = status.reachable if status else broker_reachable(settings.bootstrap)
            if not args.quiet:
                _echo(status.describe() if status else
                      f"Kafka at {settings.bootstrap}: "
                      f"{'reachable' if reachable else 'not reachable'}")
            return 0 if reachable else 1
    except BrokerError as exc:
        print(f"rtp kafka {args.action}: {exc}", file=sys.stderr)
        return 2
    return 0


# -- topics ---------------------------------------------------------------------------------


def _topics(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.topics import TopicAdminError, apply_topics, describe_topics, topic_specs

    specs = topic_specs(settings.partitions, settings.replication, settings.topic_prefix)
    try:
        if args.action == "apply":
            report = apply_topics(settings.bootstrap, specs)
            for name in report.created:
                _echo(f"created  {name}")
            for drift in report.drift:
                _echo(f"DRIFT    {drift}")
            _echo(f"topics: {report.summary()}")
            if report.drift:
                _echo("drift is reported, not repaired: rtp never deletes or repartitions a topic "
                      "holding data; fix it deliberately (see README, Operations)")
            return 2 if report.drift and args.strict else 0
        actual = describe_topics(settings.bootstrap)
        _echo(f"{'topic':42} {'partitions':>10}  {'on broker':>9}  value")
        for spec in specs:
            present = str(actual[spec.name]) if spec.name in actual else "missing"
            _echo(f"{spec.name:42} {spec.partitions:>10}  {present:>9}  {spec.value_schema}")
    except TopicAdminError as exc:
        print(f"rtp topics {args.action}: {exc}", file=sys.stderr)
        return 2
    return 0


# -- schemas --------------------------------------------------------------------------------


def _schemas(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.serde.evolution import check_evolution, freeze_versions
    from pipeline.serde.registry import SchemaRegistry

    registry = SchemaRegistry.load(settings.schemas_dir)
    if args.action == "freeze":
        problems = [p for p in check_evolution(registry) if "not frozen" not in p.message]
        if problems:
            for p in problems:
                print(f"incompatible: {p}", file=sys.stderr)
            return 2
        for path in freeze_versions(registry, settings.schemas_dir):
            _echo(f"froze {path}")
        return 0
    if args.action == "check":
        problems = check_evolution(registry)
        for p in problems:
            print(f"schema problem: {p}", file=sys.stderr)
        if not problems:
            _echo(f"{len(registry.names())} schemas: every version readable by the current one")
        return 2 if problems else 0
    for reg in registry:
        versions = len(registry.history(reg.short_name))
        _echo(f"{reg.short_name:16} fingerprint {reg.fingerprint:016x}  versions {versions}")
    return 0


# -- parser ---------------------------------------------------------------------------------


def _add_common(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """Shared flags, accepted before or after the subcommand."""
    # On subcommands the flags default to "absent" so they never mask the top-level ones.
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--bootstrap", default=default, dest="kafka_bootstrap",
                        metavar="HOST:PORT",
                        help="Kafka bootstrap servers (env RTP_KAFKA_BOOTSTRAP; default: local)")
    parser.add_argument("--port", dest="kafka_port", default=default, type=int, metavar="N",
                        help="port of the local broker (env RTP_KAFKA_PORT, default 9092)")
    parser.add_argument("--topic-prefix", dest="topic_prefix", default=default, metavar="PREFIX",
                        help="prefix of every topic name (env RTP_TOPIC_PREFIX)")
    parser.add_argument("--partitions", default=default, type=int, metavar="N",
                        help="partitions of keyed topics (env RTP_PARTITIONS, default 4)")
    parser.add_argument("--log-format", default=default, choices=["auto", "json", "console"],
                        help="log format (env RTP_LOG_FORMAT, default auto)")
    parser.add_argument("--log-level", default=default,
                        choices=["debug", "info", "warning", "error"],
                        help="log level (env RTP_LOG_LEVEL, default info)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``rtp`` with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="rtp",
        description="rtp: real-time personalization on Apache Kafka. Listens to a visitor's "
                    "clickstream, detects intent and struggle in the session, decides an action "
                    "in milliseconds, learns from the reaction and measures the lift.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    kafka = sub.add_parser(
        "kafka", help="run a local single-node Apache Kafka (KRaft) for demos and tests",
        description="Resolve Apache Kafka from Maven Central, start it in KRaft mode on "
                    "127.0.0.1 (port from RTP_KAFKA_PORT), stop exactly the process it started.")
    kafka.add_argument("action", choices=["up", "down", "status", "wipe"],
                       help="up: start and wait until ready (harmless if running); down: stop "
                            "it; status: exit 0 if a broker answers, 1 if not; wipe: delete "
                            "its data")
    kafka.add_argument("--timeout", type=float, default=90.0,
                       help="seconds to wait for readiness (default 90)")
    kafka.add_argument("--quiet", action="store_true", help="status: only the exit code")
    _add_common(kafka)
    kafka.set_defaults(handler=_kafka)

    topics = sub.add_parser(
        "topics", help="create the declared topics and report drift",
        description="Topics as code (pipeline/topics/definitions.py). apply creates what is "
                    "missing and reports drift without touching data; list compares.")
    topics.add_argument("action", choices=["apply", "list"])
    topics.add_argument("--strict", action="store_true", help="apply: exit 2 when drift exists")
    _add_common(topics)
    topics.set_defaults(handler=_topics)

    schemas = sub.add_parser(
        "schemas", help="list, check or freeze the Avro contracts",
        description="check: every frozen version is readable by the current schema and the "
                    "current one is frozen; freeze: record changed schemas as new versions.")
    schemas.add_argument("action", choices=["list", "check", "freeze"])
    _add_common(schemas)
    schemas.set_defaults(handler=_schemas)

    from pipeline.commands import register_commands

    register_commands(sub, _add_common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rtp`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = _settings(args)
    except SettingsError as exc:
        parser.error(str(exc))
    configure_logging(settings.log_format, settings.log_level)
    handler: Handler = args.handler
    try:
        return handler(args, settings)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
