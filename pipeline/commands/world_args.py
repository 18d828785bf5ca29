"""The simulated world's flags, shared by ``rtp simulate`` and ``rtp demo``.

``--world classic|contextual`` picks the response model (:class:`SimulatorOptions`
``world``); ``--drift-after-minutes M`` makes the contextual world's responses drift M
simulated minutes after the start (``drift_after_ms``).

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_world_arguments(parser)
>>> world_options(parser, parser.parse_args(["--world", "contextual",
...                                          "--drift-after-minutes", "1.5"]))
{'world': 'contextual', 'drift_after_ms': 90000}
>>> world_options(parser, parser.parse_args([]))
{'world': 'classic', 'drift_after_ms': None}
"""

from __future__ import annotations

import argparse
from typing import Any

from pipeline.sim.vocabulary import WORLDS

__all__ = ["add_world_arguments", "world_options"]


def add_world_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--world`` and ``--drift-after-minutes`` to ``parser``.

    >>> parser = argparse.ArgumentParser()
    >>> add_world_arguments(parser)
    >>> parser.parse_args(["--world", "contextual"]).world
    'contextual'
    """
    parser.add_argument(
        "--world", choices=WORLDS, default="classic",
        help="the simulated visitors' responses: 'classic' (default; an action's effect "
             "depends on the sector, the visible struggle and the intent, so the first "
             "eligible action is nearly always the best) or 'contextual' (it also depends on "
             "the device and traffic source: a first-order discount converts campaign "
             "visitors and puts the others off, the walkthrough video gets in the way on a "
             "phone, ...; the best action differs between visitors a static rule cannot "
             "tell apart)")
    parser.add_argument(
        "--drift-after-minutes", type=float, default=None, metavar="MINUTES",
        help="with --world contextual: the responses drift this many simulated minutes "
             "after the start (the discount stops working for campaign visitors, free "
             "express shipping converts them instead); default: no drift")


def world_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`~pipeline.sim.SimulatorOptions` keywords of the parsed flags; a drift
    without the contextual world, or a negative one, is a usage error (exit 2).

    >>> parser = argparse.ArgumentParser(prog="rtp simulate")
    >>> add_world_arguments(parser)
    >>> world_options(parser, parser.parse_args(["--drift-after-minutes", "5"]))
    Traceback (most recent call last):
    ...
    SystemExit: 2
    """
    drift = args.drift_after_minutes
    if drift is not None:
        if args.world != "contextual":
            parser.error("--drift-after-minutes needs --world contextual")
        if not drift >= 0:
            parser.error(f"--drift-after-minutes must be >= 0 (got {drift})")
    return {"world": args.world,
            "drift_after_ms": None if drift is None else round(drift * 60_000)}
