"""The ``--config FILE`` option the long-running commands share (worker, profiles, learner).

>>> engine_options_of(None, "rtp learner", env={}).decider.control_share
0.1
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.config import RtpConfig
    from pipeline.engine import EngineOptions

__all__ = ["add_config_option", "config_of", "engine_options_of"]


def add_config_option(parser: argparse.ArgumentParser, applies: str) -> None:
    """Add ``--config FILE``; ``applies`` says what of the file this command uses."""
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help=f"config file ({applies}; see `rtp config check`), read at start")


def config_of(path: Path | None, command: str,
              env: Mapping[str, str] | None = None) -> RtpConfig:
    """The config of the file at ``path`` (None: the defaults) with the environment's
    ``RTP_CONFIG__*`` overrides; invalid ones print the problems and exit 2.

    >>> config_of(None, "rtp report", env={"RTP_CONFIG__OBJECTIVE": "bounce"}).objective.value
    'bounce'
    """
    import os

    from pipeline.config import ConfigError, load_config, load_config_text

    env = os.environ if env is None else env
    try:
        return (load_config(path, env) if path is not None
                else load_config_text("", env, "<environment>"))
    except ConfigError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def engine_options_of(path: Path | None, command: str, consent: str | None = None,
                      env: Mapping[str, str] | None = None) -> EngineOptions:
    """The engine options of the file at ``path`` (None: the defaults), the environment's
    ``RTP_CONFIG__*`` overrides and a ``--consent`` flag. Invalid ones print the problems,
    naming field and line, and exit 2."""
    from pipeline.config import ConfigError, startup_options

    try:
        return startup_options(path, consent, env)
    except ConfigError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
