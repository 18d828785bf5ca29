"""``rtp worker``: run the personalization topology (a Faust worker) until stopped."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from pathlib import Path

from pipeline.settings import Settings

__all__ = ["register", "run_worker"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp worker`` to the CLI."""
    parser = sub.add_parser(
        "worker", help="run the personalization worker (Faust) until SIGTERM/SIGINT",
        description="Consume clickstream.events, personalization.outcomes and profiles.updates; "
                    "sessionize, detect struggle, score intent, decide, learn; write actions, "
                    "the decision log and signals. Several workers with the same app id split "
                    "the partitions. Stops gracefully on SIGTERM or Ctrl-C.")
    parser.add_argument("--app-id", default="rtp-personalize",
                        help="Faust app id = consumer group (default rtp-personalize; the topic "
                             "prefix is prepended)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="RocksDB folder (default <cache>/worker/<app id>)")
    parser.add_argument("--web-port", type=int, default=0,
                        help="Faust web port for metrics/table views (default 0 = off)")
    parser.add_argument("--commit-every", type=float, default=2.0,
                        help="seconds between commits: learner checkpoint, changed visitor "
                             "states, input offsets; a crash applies at most this much input "
                             "again, never loses it (default 2.0)")
    parser.add_argument("--control-share", type=float, default=0.10,
                        help="share of people in the control group (default 0.10)")
    parser.add_argument("--sweep-every", type=float, default=60.0,
                        help="seconds between deletions of expired visitor states (default 60)")
    add_common(parser)
    parser.set_defaults(handler=lambda args, settings: run_worker(settings, args))


def run_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Build the Faust app and run it in this process."""
    import faust

    from pipeline.engine import EngineOptions
    from topologies.personalize import WorkerOptions, build_app

    options = dataclasses.replace(WorkerOptions(), app_id=args.app_id, data_dir=args.data_dir,
                                  web_port=args.web_port,
                                  commit_every_seconds=args.commit_every,
                                  sweep_every_seconds=args.sweep_every)
    if args.commit_every <= 0:
        raise SystemExit("rtp worker: --commit-every must be > 0 seconds")
    if not 0.0 <= args.control_share < 1.0:
        raise SystemExit("rtp worker: --control-share must be within [0, 1)")
    engine = EngineOptions()
    engine = dataclasses.replace(engine, decider=dataclasses.replace(
        engine.decider, control_share=args.control_share))
    app = build_app(settings, options, engine)
    worker = faust.Worker(app, loglevel=settings.log_level.upper(), quiet=True)
    worker.execute_from_commandline()
    return 0
