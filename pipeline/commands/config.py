"""``rtp config check FILE``: validate a config file, print the effective config;
``rtp config publish FILE``: validate it and put it on the config topic as a new version.

The effective config is the file with the ``RTP_CONFIG__SECTION__FIELD`` environment
overrides applied and every field not set filled with its default (the objective's
reward weights among them), printed as YAML; problems are printed one per line with
their field and line, and the exit status is 2. ``publish`` appends the effective config
to ``personalization.config`` (created when missing) and prints its version (the record's
offset + 1); running workers switch to it at their next commit. A file whose consent mode
differs from the newest published version's is refused (exit 2): that needs a restart
(:mod:`pipeline.config.live`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from pipeline.config import ConfigError, engine_options, live_problems, load_config
from pipeline.settings import Settings

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp config`` to the CLI.

    >>> parser = argparse.ArgumentParser()
    >>> register(parser.add_subparsers(dest="command"), lambda p: None)
    >>> parser.parse_args(["config", "check", "rtp.yaml"]).file
    PosixPath('rtp.yaml')
    """
    parser = sub.add_parser(
        "config", help="validate a config file and print the effective config, or publish "
                  "it to running workers",
        description="The config file (YAML) sets the objective, the action catalog, "
                    "experiments (salt, control share), consent mode, detector thresholds, "
                    "reward weights, guardrails (caps, compliance zones) and privacy "
                    "settings; "
                    "RTP_CONFIG__SECTION__FIELD variables override its fields. `rtp worker "
                    "--config FILE` runs with it.")
    actions = parser.add_subparsers(dest="action", required=True)
    check = actions.add_parser("check", help="validate FILE and print the effective config",
                               description="Validate FILE (errors name the field and line, "
                                           "exit 2) and print the effective config as YAML.")
    check.add_argument("file", type=Path, help="the config file (YAML)")
    add_common(check)
    check.set_defaults(handler=_check)
    publish = actions.add_parser(
        "publish", help="validate FILE and publish it: running workers switch to it live",
        description="Validate FILE like `check`, then append the effective config to the "
                    "config topic (personalization.config) as a new version and print it. "
                    "Running workers switch to it at their next commit (for events stamped "
                    "from 0.5 s after it on); every decision log "
                    "records the version it was decided with.")
    publish.add_argument("file", type=Path, help="the config file (YAML)")
    add_common(publish)
    publish.set_defaults(handler=_publish)


def _check(args: argparse.Namespace, settings: Settings) -> int:
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{exc.name}: {problem}", file=sys.stderr)
        return 2
    print(f"# effective config of {args.file} (headline metric: {config.objective.headline})")
    print(yaml.safe_dump(config.to_dict(), sort_keys=False), end="")
    return 0


def _publish(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.commands.config_topic import newest_config, publish_config
    from pipeline.topics import CONFIG, apply_topics, topic_specs

    try:
        config = load_config(args.file)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"{exc.name}: {problem}", file=sys.stderr)
        return 2
    topic = settings.topic(CONFIG)
    apply_topics(settings.bootstrap, [
        spec for spec in topic_specs(settings.partitions, settings.replication,
                                     settings.topic_prefix) if spec.name == topic])
    newest = newest_config(settings.bootstrap, topic)
    if newest is not None:
        problems = live_problems(engine_options(newest.config), engine_options(config))
        for problem in problems:
            print(f"{args.file}: {problem} (newest published: version {newest.ref.version})",
                  file=sys.stderr)
        if problems:
            return 2
    ref = publish_config(settings.bootstrap, topic, config)
    print(f"published config version {ref.version} ({args.file}) on {topic}")
    return 0
