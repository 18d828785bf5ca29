"""``rtp config check FILE``: validate a config file, print the effective config.

The effective config is the file with the ``RTP_CONFIG__SECTION__FIELD`` environment
overrides applied and every field not set filled with its default (the objective's
reward weights among them), printed as YAML; problems are printed one per line with
their field and line, and the exit status is 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from pipeline.config import ConfigError, load_config
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
        "config", help="validate a config file and print the effective config",
        description="The config file (YAML) sets the objective, experiments (salt, control "
                    "share), consent mode, detector thresholds and reward weights; "
                    "RTP_CONFIG__SECTION__FIELD variables override its fields. `rtp worker "
                    "--config FILE` runs with it.")
    actions = parser.add_subparsers(dest="action", required=True)
    check = actions.add_parser("check", help="validate FILE and print the effective config",
                               description="Validate FILE (errors name the field and line, "
                                           "exit 2) and print the effective config as YAML.")
    check.add_argument("file", type=Path, help="the config file (YAML)")
    add_common(check)
    check.set_defaults(handler=_check)


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
