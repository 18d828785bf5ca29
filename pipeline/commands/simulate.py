"""``rtp simulate``: synthetic visitors of the seed's four sectors, in a closed loop.

Against running workers (``rtp worker``) through the real topics, or
``--offline`` through the engine in this process.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TextIO

from pipeline.commands.world_args import add_world_arguments, world_options
from pipeline.settings import Settings
from pipeline.sim.closed_loop import ClosedLoop, LoopOptions
from pipeline.sim.offline import run_offline
from pipeline.sim.options import SimulatorOptions

__all__ = ["minute_progress", "register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp simulate`` to the CLI."""
    parser = sub.add_parser(
        "simulate", help="run synthetic visitors against the workers (or offline)",
        description="Synthetic visitors (e-commerce, SaaS, travel, finance) with a latent "
                    "intent and known responses to each action produce events through the SDK, "
                    "react to the actions the workers decide, and send outcomes back; the "
                    "summary compares the reward with the simulator's oracle. Needs running "
                    "workers (rtp worker) unless --offline.")
    parser.add_argument("--seconds", type=float, default=60.0, help="wall time (default 60)")
    parser.add_argument("--speed", type=float, default=10.0,
                        help="simulated seconds per second (default 10)")
    parser.add_argument("--visitors-per-minute", type=float, default=40.0,
                        help="arrival rate (default 40)")
    parser.add_argument("--seed", type=int, default=7, help="seed (default 7)")
    parser.add_argument("--offline", action="store_true",
                        help="no Kafka: run the engine in this process")
    parser.add_argument("--minutes", type=int, default=60,
                        help="--offline: simulated minutes (default 60)")
    add_world_arguments(parser)
    add_common(parser)
    parser.set_defaults(handler=lambda args, settings: _run(
        args, settings, world_options(parser, args)))


def minute_progress(total: int, stream: TextIO | None = None,
                    every: int = 5) -> Callable[[int], None]:
    """Report simulated minutes every ``every`` minutes: redrawn in place with ``\\r`` on a
    terminal, one line each otherwise (a pipe or a CI log gets no carriage returns).

    >>> import io
    >>> out = io.StringIO()
    >>> report = minute_progress(10, out)
    >>> for minute in range(1, 11):
    ...     report(minute)
    >>> out.getvalue()
    'simulated 5/10 min\\nsimulated 10/10 min\\n'
    """
    def report(minute: int) -> None:
        out = stream if stream is not None else sys.stdout
        if minute % every and minute != total:
            return
        if out.isatty():
            out.write(f"\rsimulated {minute}/{total} min" + ("\n" if minute == total else ""))
        else:
            out.write(f"simulated {minute}/{total} min\n")
        out.flush()

    return report


def _run(args: argparse.Namespace, settings: Settings, world: dict[str, Any]) -> int:
    sim = SimulatorOptions(seed=args.seed, visitors_per_minute=args.visitors_per_minute,
                           id_prefix=f"sim{args.seed}", **world)
    if args.offline:
        summary = run_offline(sim, args.minutes, progress=minute_progress(args.minutes))
        print(summary.to_text())
        return 0
    loop = ClosedLoop(settings, sim, LoopOptions(duration_s=args.seconds, speed=args.speed),
                      progress=print)
    report = loop.run()
    print(report.to_text())
    return 0 if report.decisions_logged else 1
