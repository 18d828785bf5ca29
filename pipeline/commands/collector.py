"""``rtp collector``: the Segment-compatible HTTP collector (and the tracker's endpoint).

Every option has an ``RTP_COLLECTOR_*`` variable (a flag wins); broker and topic
prefix come from the common flags / ``RTP_*`` settings.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from typing import Any

from pipeline.commands.config_file import add_config_option, config_of
from pipeline.settings import Settings

__all__ = ["collector_options", "register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp collector`` to the CLI.

    >>> parser = argparse.ArgumentParser()
    >>> register(parser.add_subparsers(dest="command"), lambda p: None)
    >>> args = parser.parse_args(["collector", "--write-key", "k", "--http-port", "0"])
    >>> sorted(collector_options(args, {}).write_keys), args.http_port
    (['k'], 0)
    """
    parser = sub.add_parser(
        "collector", help="HTTP ingestion: Segment Tracking API + the tracker's endpoint",
        description="Accept Segment calls (/v1/track, /v1/page, /v1/screen, /v1/identify, "
                    "/v1/alias, /v1/group, /v1/batch with write-key Basic auth) and the "
                    "tracker's batches (/v1/t), map them to "
                    "ClickEvent/ProfileUpdate, validate, and produce them keyed by visitor. "
                    "A browser names a visitor id only with that visitor's token (the "
                    "tracker's 'token', a Segment call's context.visitorToken; signed with "
                    "RTP_VISITOR_TOKEN_KEYS); server write keys (RTP_COLLECTOR_SERVER_KEYS) "
                    "name any id. "
                    "Every option of pipeline.collector.CollectorOptions is also read from "
                    "RTP_COLLECTOR_<OPTION>, e.g. RTP_COLLECTOR_WRITE_KEYS=k1,k2, "
                    "RTP_COLLECTOR_CORS_ORIGINS, RTP_COLLECTOR_VISITOR_RATE_PER_S; flags win.")
    parser.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    parser.add_argument("--http-port", type=int, default=None, metavar="N",
                        help="HTTP port (default 8701; 0 = any free port)")
    parser.add_argument("--write-key", dest="write_keys", action="append", default=None,
                        metavar="KEY", help="accepted write key (repeatable)")
    parser.add_argument("--no-auth", dest="require_auth", action="store_const", const=False,
                        default=None, help="accept requests without a write key (local only)")
    parser.add_argument("--cors-origin", dest="cors_origins", action="append", default=None,
                        metavar="ORIGIN", help="origin allowed to send from a browser "
                                               "(repeatable; * for any)")
    parser.add_argument("--max-body-bytes", type=int, default=None, metavar="N",
                        help="largest request body (default 512000)")
    parser.add_argument("--max-batch", type=int, default=None, metavar="N",
                        help="most messages per request (default 500)")
    parser.add_argument("--visitor-rate", dest="visitor_rate_per_s", type=float, default=None,
                        metavar="PER_S", help="events per second per visitor (default 20)")
    parser.add_argument("--visitor-burst", type=int, default=None, metavar="N",
                        help="burst per visitor (default 200)")
    parser.add_argument("--dedup-window-ms", type=int, default=None, metavar="MS",
                        help="messageId de-duplication window (default 600000)")
    parser.add_argument("--sector", default=None,
                        choices=["ecommerce", "saas", "travel", "finance"],
                        help="the site's sector for events that do not say (default ecommerce)")
    add_config_option(parser, "its privacy.vocabulary: values kept as sent in id and "
                              "vocabulary fields")
    add_common(parser)
    parser.set_defaults(handler=_run)


def collector_options(args: argparse.Namespace, env: Any = None) -> Any:
    """CollectorOptions from ``RTP_COLLECTOR_*`` (``env``, default os.environ) and flags.

    >>> o = collector_options(argparse.Namespace(max_batch=10),
    ...                       {"RTP_COLLECTOR_WRITE_KEYS": "a,b", "RTP_COLLECTOR_MAX_BATCH": "5"})
    >>> sorted(o.write_keys), o.max_batch
    (['a', 'b'], 10)
    >>> sorted(collector_options(argparse.Namespace(), {"RTP_COLLECTOR_WRITE_KEYS": "a",
    ...     "RTP_COLLECTOR_VOCABULARY": "Real Estate",
    ...     "RTP_CONFIG__PRIVACY__VOCABULARY": '["Home & Garden"]'}).vocabulary)
    ['Home & Garden', 'Real Estate', 'health', 'medical', 'pharmacy']
    """
    from pipeline.collector.options import CollectorOptions

    overrides = {name: getattr(args, name, None) for name in (
        "host", "http_port", "require_auth", "max_body_bytes", "max_batch",
        "visitor_rate_per_s", "visitor_burst", "dedup_window_ms", "sector")}
    for name in ("write_keys", "cors_origins"):
        values = getattr(args, name, None)
        overrides[name] = frozenset(values) if values else None
    options = CollectorOptions.from_env(env, **overrides)
    # the config file's privacy.vocabulary and guardrail categories (and RTP_CONFIG__*),
    # besides RTP_COLLECTOR_VOCABULARY
    vocabulary = config_of(getattr(args, "config", None), "rtp collector",
                           env).collector_vocabulary()
    return dataclasses.replace(options, vocabulary=options.vocabulary | vocabulary)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.collector.service import run_collector
    from pipeline.web.env import OptionsError

    try:
        return run_collector(settings, collector_options(args))
    except (OptionsError, ValueError) as exc:
        print(f"rtp collector: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the port is taken
        print(f"rtp collector: cannot listen: {exc}", file=sys.stderr)
        return 2
