"""The ``--config FILE`` option the long-running commands share (worker, profiles, learner).

>>> engine_options_of(None, "rtp learner") is None
True
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.engine import EngineOptions

__all__ = ["add_config_option", "engine_options_of"]


def add_config_option(parser: argparse.ArgumentParser, applies: str) -> None:
    """Add ``--config FILE``; ``applies`` says what of the file this command uses."""
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help=f"config file ({applies}; see `rtp config check`), read at start")


def engine_options_of(path: Path | None, command: str) -> EngineOptions | None:
    """The engine options the file at ``path`` sets (None: no file). A file with errors
    prints them, naming field and line, and exits 2."""
    if path is None:
        return None
    from pipeline.config import ConfigError, engine_options, load_config

    try:
        return engine_options(load_config(path))
    except ConfigError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
