"""Run one rtp subcommand module in-process, as the CLI would, without registering it globally."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from types import ModuleType

from pipeline.cli import _add_common, _settings
from pipeline.settings import Settings


def run_command(module: ModuleType, argv: Sequence[str], settings: Settings | None = None) -> int:
    """Parse ``argv`` with only ``module`` registered and run its handler; the exit status."""
    parser = argparse.ArgumentParser(prog="rtp")
    _add_common(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True)
    module.register(sub, _add_common)
    args = parser.parse_args(list(argv))
    return int(args.handler(args, settings or _settings(args)))
