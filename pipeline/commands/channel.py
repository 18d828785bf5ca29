"""``rtp channel email|sms``: send the email or SMS actions the workers decided.

>>> parser = argparse.ArgumentParser()
>>> register(parser.add_subparsers(dest="command"), lambda p: None)
>>> args = parser.parse_args(["channel", "sms", "--contacts", "c.json", "--per-day", "2"])
>>> args.channel, args.per_day, args.quiet_hours
('sms', 2, '21:00-08:00')
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.logs import say
from pipeline.settings import Settings

__all__ = ["register"]

_DESCRIPTION = """\
A reference outbound service for one channel beyond the web page. It consumes
personalization.actions and sends the decisions whose Decision.channel is this channel (the
catalog's `channel: email|sms` actions, decided by the workers like any other action) to a
sink, after these rules, checked when a message falls due (its decision time + --delay-s):

  expired (decision time + the action's ttl passed)           never sent
  the visitor opted out or was erased (profile views)          never sent
  a first-purchase offer, and the visitor purchased on any     never sent
    device (profile view purchased_ever, or a server-reported
    `converted` outcome)
  the same offer dismissed on the web or in the app            never sent
    (catalog same_offer_as, else the action id)
  no contact for the visitor (--contacts)                      never sent
  inside the contact's quiet hours (their time zone, else      held until they end
    --time-zone)
  over the contact's frequency caps on this channel            never sent

Kafka carries pseudonymous visitor ids only: --contacts maps them to a person, an address and
a time zone outside Kafka. The file and webhook sinks receive the contact reference (the
person), never the address; only the smtp sink uses the address. State (pending messages,
sends, dismissals, purchases) is snapshotted to --state before offsets are committed.
"""

_EPILOG = """\
contacts file (JSON):
  {"visitor-1": {"person": "crm-42", "email": "ann@example.com", "phone": "+49...",
                 "time_zone": "Europe/Berlin"}, ...}

examples:
  rtp channel email --contacts crm.json --sink smtp --smtp-port 2525
  rtp channel sms --contacts crm.json --sink webhook:http://127.0.0.1:9000/sms
  rtp channel email --contacts crm.json --sink file:out/email.jsonl --quiet-hours off
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp channel`` to the CLI."""
    parser = sub.add_parser(
        "channel", help="send email/SMS actions: caps, quiet hours, cross-channel rules",
        description=_DESCRIPTION, epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("channel", choices=["email", "sms"])
    parser.add_argument("--contacts", type=Path, required=True, metavar="FILE",
                        help="JSON file: visitor id -> {person, email, phone, time_zone}")
    parser.add_argument("--sink", default=None, metavar="SPEC",
                        help="file:PATH (JSON lines), webhook:URL (HTTP POST of JSON) or smtp "
                             "(email only); default file:<cache>/channels/<channel>.jsonl")
    parser.add_argument("--quiet-hours", default="21:00-08:00", metavar="HH:MM-HH:MM",
                        help="local window with no sends, or off (default 21:00-08:00)")
    parser.add_argument("--time-zone", default="UTC", metavar="ZONE",
                        help="IANA zone of the quiet hours for contacts without one "
                             "(default UTC)")
    parser.add_argument("--per-day", type=int, default=1, metavar="N",
                        help="messages per contact in any 24 h (default 1; 0: no cap)")
    parser.add_argument("--per-week", type=int, default=3, metavar="N",
                        help="messages per contact in any 7 days (default 3; 0: no cap)")
    parser.add_argument("--delay-s", type=float, default=0.0, metavar="S",
                        help="hold a message this long after its decision, so a dismissal or "
                             "purchase meanwhile still stops it (default 0)")
    parser.add_argument("--state", type=Path, default=None, metavar="FILE",
                        help="state snapshot (default <cache>/channels/<channel>-state.json)")
    parser.add_argument("--catalog", type=Path, default=None, metavar="FILE",
                        help="the workers' action catalog (default deploy/catalog/actions.yaml)")
    parser.add_argument("--smtp-host", default="127.0.0.1", help="smtp sink: server host")
    parser.add_argument("--smtp-port", type=int, default=25, help="smtp sink: server port")
    parser.add_argument("--smtp-from", default="offers@rtp.invalid",
                        help="smtp sink: From address")
    parser.add_argument("--group", default=None,
                        help="consumer group (default <prefix>rtp-channel-<channel>)")
    add_common(parser)
    parser.set_defaults(handler=_run)


def _build(args: argparse.Namespace, settings: Settings) -> Any:
    from pipeline.channels import (
        ContactCaps,
        FileContactResolver,
        Outbox,
        OutboxOptions,
        QuietHours,
        SmtpOptions,
        build_sink,
    )
    from pipeline.channels.errors import ChannelOptionsError
    from pipeline.decide.catalog import load_catalog
    from pipeline.engine import EngineOptions
    from topologies.channel import ChannelService, ChannelServiceOptions

    if args.per_day < 0 or args.per_week < 0 or args.delay_s < 0:
        raise ChannelOptionsError("--per-day, --per-week and --delay-s must be >= 0")
    channel = args.channel
    options = OutboxOptions(
        channel=channel,
        caps=ContactCaps(per_day=args.per_day or None, per_week=args.per_week or None),
        quiet_hours=QuietHours.parse(args.quiet_hours), time_zone=args.time_zone,
        delay_ms=int(args.delay_s * 1000))
    catalog = load_catalog(args.catalog or EngineOptions().catalog_path)
    resolver = FileContactResolver(args.contacts)
    base = settings.cache_dir / "channels"
    sink = build_sink(args.sink or f"file:{base / f'{channel}.jsonl'}", channel,
                      SmtpOptions(args.smtp_host, args.smtp_port, args.smtp_from))
    service_options = ChannelServiceOptions(
        state_path=args.state or base / f"{channel}-state.json", group_id=args.group or "")
    return ChannelService(settings, service_options, Outbox(options, catalog), resolver, sink)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.channels.errors import ChannelError
    from pipeline.decide.errors import CatalogError

    try:
        service = _build(args, settings)
    except (ChannelError, CatalogError) as exc:
        print(f"rtp channel {args.channel}: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    say(f"rtp channel {args.channel}: sending to {args.sink or 'the default file sink'}; "
        "SIGTERM/SIGINT stops")
    service.run(stop)
    say(f"rtp channel {args.channel}: stopped after {service.sent} sent")
    return 0
