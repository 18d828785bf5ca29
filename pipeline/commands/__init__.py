"""The job subcommands of ``rtp`` (one module each), registered on the CLI's parser."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from pipeline.commands import (
    channel,
    collector,
    config,
    console,
    data,
    delivery,
    demo,
    erase,
    evaluate,
    import_data,
    learner,
    profiles,
    ready,
    replay,
    report,
    simulate,
    worker,
)

__all__ = ["register_commands"]


def register_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    add_common: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Add every job subcommand to ``sub``."""
    for module in (demo, worker, ready, simulate, delivery, collector, replay, evaluate,
                   report, import_data, data, profiles, learner, config, erase, console, channel):
        module.register(sub, add_common)
