"""``rtp console``: the live console for analysts and marketers (a page and its JSON).

Every option of :class:`pipeline.console.ConsoleOptions` is also read from
``RTP_CONSOLE_<OPTION>`` (a flag wins); broker and topic prefix come from the common
flags / ``RTP_*`` settings; ``--config`` names the catalog shown beside the actions.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from pipeline.commands.config_file import add_config_option, config_of
from pipeline.settings import Settings

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp console`` to the CLI.

    >>> parser = argparse.ArgumentParser()
    >>> register(parser.add_subparsers(dest="command"), lambda p: None)
    >>> parser.parse_args(["console", "--http-port", "0"]).http_port
    0
    """
    parser = sub.add_parser(
        "console", help="live console: lift over time, decisions/s, p99, signals, dead letters",
        description="Read the decision log, signals, outcomes, purchases, clickstream (for "
                    "the event->action latency) and dead-letter topics, and serve a page "
                    "(/console/) and its JSON (/v1/console): experiment lift with intervals "
                    "over time, decisions per second, event->action p99, struggle signals by "
                    "rule, per-action performance beside the catalog and its version, dead "
                    "letters by reason. Published configs (rtp config publish) are followed "
                    "live. Login: the operator key RTP_CONSOLE_KEY (without it a random key "
                    "is printed once); wrong keys are limited per client address "
                    "(RTP_CONSOLE_LOGIN_ATTEMPTS, default 5, then one per "
                    "RTP_CONSOLE_LOGIN_EVERY_S, default 60; 429 meanwhile). Options are also "
                    "read from RTP_CONSOLE_<OPTION>, e.g. RTP_CONSOLE_HTTP_PORT; flags win.")
    parser.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    parser.add_argument("--http-port", type=int, default=None, metavar="N",
                        help="HTTP port (default 8702; 0 = any free port)")
    parser.add_argument("--horizon-ms", type=int, default=None, metavar="MS",
                        help="how far back the topics are read on start (default 24 h)")
    add_config_option(parser, "the action catalog shown beside the actions, and the "
                              "objective: the headline metric")
    add_common(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.console import ConsoleOptions, run_console
    from pipeline.web.env import OptionsError

    try:
        options = ConsoleOptions.from_env(None, host=args.host, http_port=args.http_port,
                                          horizon_ms=args.horizon_ms)
        from pipeline.config import engine_options

        config = config_of(args.config, "rtp console")
        return run_console(settings, options, engine_options(config),
                           objective=config.objective)
    except (OptionsError, ValueError) as exc:
        print(f"rtp console: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the port is taken
        print(f"rtp console: cannot listen: {exc}", file=sys.stderr)
        return 2
