"""``rtp profiles``: run the profile side (a Faust app) until stopped."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from pipeline.settings import Settings

__all__ = ["register", "run_profiles"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp profiles`` to the CLI."""
    parser = sub.add_parser(
        "profiles", help="run the profile side (Faust) until SIGTERM/SIGINT",
        description="Consume profiles.updates (identify, traits, consent, erasure) and the "
                    "workers' conversions; keep profiles by person in a RocksDB table; send "
                    "each visitor's profile view to the workers. `rtp worker` starts one "
                    "beside itself unless --no-profiles.")
    parser.add_argument("--group", default="rtp-personalize",
                        help="the worker group it serves (default rtp-personalize; its own app "
                             "id is <group>-profiles, the topic prefix is prepended unless "
                             "already there)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="RocksDB folder (default <cache>/profiles/<app id>)")
    parser.add_argument("--web-port", type=int, default=0,
                        help="Faust web port for metrics/table views (default 0 = off)")
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="config file (its consent mode applies here; see `rtp config "
                             "check`)")
    parser.add_argument("--consent", choices=("opt-in", "opt-out"), default=None,
                        help="consent mode: opt-in (no state, no decision without a consent "
                             "record) or opt-out; wins over the config file and "
                             "RTP_CONFIG__CONSENT__MODE and RTP_CONSENT_REQUIRED (default: "
                             "theirs, else opt-out)")
    add_common(parser)
    parser.set_defaults(handler=lambda args, settings: run_profiles(settings, args))


def run_profiles(settings: Settings, args: argparse.Namespace) -> int:
    """Build the Faust app and run it in this process."""
    import faust

    from pipeline.commands.config_file import engine_options_of
    from topologies.profiles import ProfileOptions, build_profile_app

    group = args.group if args.group.startswith(settings.topic_prefix) else (
        settings.topic_prefix + args.group)
    config = getattr(args, "config", None)
    engine = engine_options_of(config, "rtp profiles", getattr(args, "consent", None))
    app = build_profile_app(settings, group, ProfileOptions(data_dir=args.data_dir,
                                                            web_port=args.web_port),
                            engine_options=engine)
    # Faust (mode) would replace the root logger's handlers with its own plain-text ones:
    # keep rtp's (pipeline.logs), so its lines are structlog's JSON or console lines too.
    worker = faust.Worker(app, loglevel=settings.log_level.upper(), quiet=True,
                          override_logging=False, redirect_stdouts=False)
    worker.spinner = None  # its terminal control codes would end up between the log lines
    worker.execute_from_commandline()
    return 0
