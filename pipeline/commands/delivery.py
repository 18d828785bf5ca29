"""``rtp delivery``: serve decisions (HTTP + SSE), take outcomes, serve the demo storefront.

``--with-collector`` also runs the collector in the same process (the demo's web
tier in one command): the storefront is then wired to it, with a fresh write key
unless one is configured. Every option has an ``RTP_DELIVERY_*`` variable.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import secrets
import sys
from collections.abc import Callable
from typing import Any

from pipeline.logs import say
from pipeline.settings import Settings

__all__ = ["delivery_options", "register", "run_web_tier"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp delivery`` to the CLI.

    >>> parser = argparse.ArgumentParser()
    >>> register(parser.add_subparsers(dest="command"), lambda p: None)
    >>> args = parser.parse_args(["delivery", "--budget-ms", "90", "--cors-origin", "http://a",
    ...                           "--max-held", "500"])
    >>> o = delivery_options(args, {})
    >>> o.budget_ms, o.cors_origins, o.max_held
    (90, frozenset({'http://a'}), 500)
    """
    parser = sub.add_parser(
        "delivery", help="serve decisions over HTTP and SSE; storefront at /shop/",
        description="Consume personalization.actions (rebuilding the last --horizon-ms on "
                    "start), serve GET /v1/decisions, GET /v1/stream (SSE), POST /v1/outcomes, "
                    "/healthz, /readyz, /metrics, and the demo storefront under /shop/. Every "
                    "option of pipeline.delivery.DeliveryOptions is also read from "
                    "RTP_DELIVERY_<OPTION>, e.g. RTP_DELIVERY_HTTP_PORT, RTP_DELIVERY_WRITE_KEY, "
                    "RTP_DELIVERY_CORS_ORIGINS=a,b, RTP_DELIVERY_SERVE_SHOP=false; flags win.")
    parser.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    parser.add_argument("--http-port", type=int, default=None, metavar="N",
                        help="HTTP port (default 8700; 0 = any free port)")
    parser.add_argument("--horizon-ms", type=int, default=None, metavar="MS",
                        help="how far back to read the actions topic on start (default 3600000)")
    parser.add_argument("--max-visitors", type=int, default=None, metavar="N",
                        help="visitors held in memory (default 100000)")
    parser.add_argument("--cors-origin", dest="cors_origins", action="append", default=None,
                        metavar="ORIGIN", help="origin whose pages may call the API "
                                               "(repeatable; * for any)")
    parser.add_argument("--budget-ms", type=int, default=None, metavar="MS",
                        help="the storefront tracker's decision time budget (default 150)")
    parser.add_argument("--max-wait-ms", type=int, default=None, metavar="MS",
                        help="longest a request with trigger= may be held for its decision "
                             "(default 1000; a larger wait_ms is capped to it)")
    parser.add_argument("--max-held", type=int, default=None, metavar="N",
                        help="requests held at once at most; more are answered at once with "
                             "X-RTP-Wait: full (default 10000)")
    parser.add_argument("--remembered-triggers", type=int, default=None, metavar="N",
                        help="trigger event ids remembered as decided, so a request arriving "
                             "after its decision is answered at once (default 100000)")
    parser.add_argument("--collector-url", default=None, metavar="URL",
                        help="collector the storefront sends to (default http://127.0.0.1:8701)")
    parser.add_argument("--write-key", default=None, metavar="KEY",
                        help="write key the storefront uses with the collector")
    parser.add_argument("--no-shop", dest="serve_shop", action="store_const", const=False,
                        default=None, help="do not serve the demo storefront")
    parser.add_argument("--no-consent-banner", dest="consent_required", action="store_const",
                        const=False, default=None,
                        help="storefront tracks without asking for consent first")
    parser.add_argument("--with-collector", action="store_true",
                        help="also run the collector in this process (port from "
                             "--collector-url) and wire the storefront to it")
    add_common(parser)
    parser.set_defaults(handler=_run)


def delivery_options(args: argparse.Namespace, env: Any = None) -> Any:
    """DeliveryOptions from ``RTP_DELIVERY_*`` (``env``, default os.environ) and flags.

    >>> o = delivery_options(argparse.Namespace(http_port=9000), {"RTP_DELIVERY_HTTP_PORT": "1",
    ...                                                           "RTP_DELIVERY_BUDGET_MS": "80"})
    >>> o.http_port, o.budget_ms
    (9000, 80)
    """
    from pipeline.delivery.options import DeliveryOptions

    overrides = {name: getattr(args, name, None) for name in (
        "host", "http_port", "horizon_ms", "max_visitors", "budget_ms", "max_wait_ms",
        "max_held", "remembered_triggers", "collector_url", "write_key", "serve_shop",
        "consent_required")}
    origins = getattr(args, "cors_origins", None)
    overrides["cors_origins"] = frozenset(origins) if origins else None
    return DeliveryOptions.from_env(env, **overrides)


def run_web_tier(settings: Settings, delivery: Any, collector: Any,
                 echo: Callable[[str], None] = say) -> int:
    """Run the delivery service and the collector in one process until SIGTERM/SIGINT.

    Without a broker the delivery service cannot start, and both stop again:

    >>> from pipeline.collector.options import CollectorOptions
    >>> from pipeline.delivery.options import DeliveryOptions
    >>> from structlog.testing import capture_logs
    >>> with capture_logs():  # doctest: +ELLIPSIS
    ...     run_web_tier(Settings(kafka_port=1), DeliveryOptions(http_port=0, start_timeout_s=0.3),
    ...                  CollectorOptions(http_port=0, require_auth=False))
    Traceback (most recent call last):
    ...
    pipeline.delivery.errors.FeedError: cannot read personalization.actions on 127.0.0.1:1 ...
    """
    from pipeline.collector.service import CollectorService
    from pipeline.delivery.service import DeliveryService
    from pipeline.web.serve import stop_on_signals
    from pipeline.web.visitor_token import new_key

    if not settings.token_keys():  # one random key shared by both: delivery accepts its tokens
        settings = dataclasses.replace(settings, visitor_token_keys=new_key())

    async def main() -> None:
        stop = asyncio.Event()
        uninstall = stop_on_signals(stop)
        collecting = CollectorService(settings, collector)
        serving = DeliveryService(settings, delivery)
        try:
            c = await collecting.start()
            d = await serving.start()
            echo(f"storefront: {d.url}/shop/   delivery: {d.url}/v1/decisions   "
                 f"collector: {c.url}/v1/t")
            await stop.wait()
            echo("web tier: stopping")
        finally:
            await serving.stop()
            await collecting.stop()
            uninstall()

    asyncio.run(main())
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.delivery.errors import FeedError
    from pipeline.web.env import OptionsError

    try:
        return _serve(args, settings)
    except (OptionsError, ValueError, FeedError) as exc:
        print(f"rtp delivery: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the port is taken
        print(f"rtp delivery: cannot listen: {exc}", file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from urllib.parse import urlsplit

    from pipeline.collector.options import CollectorOptions
    from pipeline.delivery.service import run_delivery

    options = delivery_options(args)
    if not args.with_collector:
        return run_delivery(settings, options)
    key = options.write_key or secrets.token_urlsafe(12)
    options = dataclasses.replace(options, write_key=key)
    parts = urlsplit(options.collector_url)
    origin = f"http://{options.host}:{options.http_port}"
    collector = CollectorOptions.from_env(
        host=parts.hostname or "127.0.0.1", http_port=parts.port or 8701,
        write_keys=frozenset({key}),
        cors_origins=frozenset({origin, origin.replace("127.0.0.1", "localhost")}))
    return run_web_tier(settings, options, collector)
