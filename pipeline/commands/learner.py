"""``rtp learner``: fold every worker's learning records into the model, publish snapshots."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from pipeline.commands.config_file import add_config_option, engine_options_of
from pipeline.settings import Settings

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp learner`` to the CLI."""
    parser = sub.add_parser(
        "learner", help="run the learning service until SIGTERM/SIGINT (one per deployment)",
        description="Read personalization.learning (the rewards and intent labels every "
                    "worker resolved), train the contextual bandit and the intent model, and "
                    "publish versioned snapshots on personalization.models, which every "
                    "worker decides with. Its restart point (model, input position, recent "
                    "record ids) is one value on rtp.internal.learner-checkpoints: a restart, "
                    "even after kill -9, applies every record exactly once. Run one per "
                    "deployment (or `rtp worker --learner` starts one beside a worker).")
    parser.add_argument("--snapshot-every-updates", type=int, default=1000,
                        help="publish a snapshot after this many new records (default 1000)")
    parser.add_argument("--snapshot-every", type=float, default=1.0,
                        help="...or after this many seconds with something new (default 1.0)")
    parser.add_argument("--checkpoint-every", type=float, default=5.0,
                        help="seconds between restart points (default 5.0; a restart redoes "
                             "at most this much, with the same result)")
    add_config_option(parser, "the model's setup must match the workers': give it the file "
                              "they use")
    add_common(parser)
    parser.set_defaults(handler=lambda args, settings: run(settings, args))


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Validate the flags and run the learner in this process."""
    from topologies.learner import LearnerOptions, run_learner

    if args.snapshot_every_updates < 1 or args.snapshot_every <= 0 or args.checkpoint_every <= 0:
        raise SystemExit("rtp learner: --snapshot-every-updates must be >= 1 and the "
                         "intervals > 0 seconds")
    engine = engine_options_of(getattr(args, "config", None), "rtp learner")
    return run_learner(settings, engine, options=LearnerOptions(
        snapshot_every_updates=args.snapshot_every_updates,
        snapshot_every_s=args.snapshot_every, checkpoint_every_s=args.checkpoint_every))
