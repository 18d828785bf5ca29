"""``rtp report``: the experiment report (personalized vs control) as a table and an HTML page.

From a decision log, its outcomes and the purchases (files), or ``--from-topics``: first
export ``personalization.decisions.log``, ``personalization.outcomes`` and the purchases
the workers accepted (``rtp.internal.conversions``) under the topic prefix (optionally
since a time) with :func:`pipeline.replay.sources.export_topics` and
:func:`~pipeline.replay.sources.export_purchases`, then report on the export. Conversions
are the purchases attributed to the visitors' logged decisions of either arm
(:mod:`pipeline.replay.attribution`).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from pipeline.commands.erasure_args import add_erasures_argument, honour_erasures
from pipeline.settings import Settings

__all__ = ["register", "run_report"]

_EPILOG = """\
examples:
  rtp report decisions.jsonl outcomes.jsonl --purchases purchases.jsonl --html report.html
  rtp report decisions.jsonl outcomes.jsonl --purchases clickstream.jsonl
  rtp report old-decisions.jsonl old-outcomes.jsonl --control-share 0.1
  rtp report --from-topics --since 2025-03-01T00:00:00Z --html report.html

the control share comes from the log (each decision records it); a log that mixes
shares, or was written before DecisionLog v2, needs --control-share (exit 2 otherwise)

conversions: each purchase (--purchases: any ClickEvent file, only purchase events are
read) credits its person's logged decisions of either arm, on any of their devices
(DecisionLog v5 records the person; older logs: the visitor's), in the
--attribution-window minutes before it (default 30); without purchases, conversions are
converted outcomes, which control decisions never get (the report warns); a "visitor"
of the report is a person

CUPED: the conversion and revenue-per-visitor lifts are also shown adjusted for
--cuped-covariate (default past_purchases) of each visitor's first decision, when that is
present and not constant

exit status: 0 done (a sample-ratio mismatch is a warning in the report), 2 unusable input
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp report`` to the CLI.

    >>> parser = argparse.ArgumentParser()
    >>> register(parser.add_subparsers(dest="command"), lambda p: None)
    >>> args = parser.parse_args(["report", "d.jsonl", "o.jsonl", "--html", "r.html"])
    >>> args.control_share, args.html.name
    (None, 'r.html')
    """
    parser = sub.add_parser(
        "report", help="experiment report: lift of personalized over control, with intervals",
        description="Conversion rate, click rate, bounce rate, revenue per visitor and average "
                    "order value per arm; absolute and relative lift with 95% intervals; a "
                    "sample-ratio-mismatch check; per-action and per-segment breakdowns; a "
                    "self-contained HTML page with plots (lift over time, cumulative reward, "
                    "action mix).",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", nargs="?", type=Path, default=None, metavar="LOG",
                        help="decision log (.jsonl or .avro)")
    parser.add_argument("outcomes", nargs="?", type=Path, default=None, metavar="OUTCOMES",
                        help="outcomes (.jsonl or .avro)")
    parser.add_argument("--control-share", type=float, default=None, metavar="SHARE",
                        help="configured share of visitors in control, for the sample-ratio "
                             "check (default: the share every decision recorded; needed for "
                             "logs written before DecisionLog v2; overrides the log)")
    parser.add_argument("--purchases", type=Path, default=None, metavar="FILE",
                        help="ClickEvents (.jsonl or .avro) whose purchase events are the "
                             "conversions, attributed to both arms' decisions (the demo's "
                             "purchases.jsonl, or a clickstream file)")
    parser.add_argument("--attribution-window", type=float, default=30.0, metavar="MIN",
                        help="a purchase credits the decisions of its visitor made this many "
                             "minutes before it (default 30)")
    parser.add_argument("--cuped-covariate", default="past_purchases", metavar="FEATURE",
                        help="numeric feature of each visitor's first decision (before any "
                             "exposure) for the CUPED-adjusted conversion lift (default "
                             "past_purchases; 'none' turns CUPED off)")
    parser.add_argument("--html", type=Path, default=None, metavar="FILE",
                        help="also write the report as a self-contained HTML page")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--n-boot", type=int, default=1000, metavar="N",
                        help="bootstrap resamples for revenue intervals (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--page-views", type=Path, default=None, metavar="FILE",
                        help="JSON lines {visitor_id, page_views} for the bounce rate")
    parser.add_argument("--from-topics", action="store_true",
                        help="export the decision log, outcomes and purchases first")
    parser.add_argument("--since", default=None, metavar="TIME",
                        help="--from-topics: only records from this time (ISO 8601 or epoch ms)")
    parser.add_argument("--export-dir", type=Path, default=None, metavar="DIR",
                        help="--from-topics: where the exported files go (default "
                             "<cache>/report-export/<prefix>)")
    parser.add_argument("--idle-timeout", type=float, default=15.0, metavar="S",
                        help="--from-topics: fail when a partition delivers nothing for S s")
    add_erasures_argument(parser)
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="config file whose objective the report leads with (its "
                             "headline metric; RTP_CONFIG__OBJECTIVE also works; default "
                             "conversion)")
    add_common(parser)
    parser.set_defaults(handler=run_report)


def _fail(message: str) -> int:
    print(f"rtp report: {message}", file=sys.stderr)
    return 2


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``rtp report``; 0 on success, 2 with a message on unusable input."""
    from pipeline.replay import (
        AttributionOptions,
        ReplayError,
        ReplaySourceError,
        ReportOptions,
        build_report,
        read_page_views,
    )
    from pipeline.replay.bounds import parse_bound
    from pipeline.replay.sources import export_purchases, export_topics

    if args.n_boot < 1:
        return _fail("--n-boot must be >= 1")
    if not args.attribution_window >= 0:
        return _fail("--attribution-window must be >= 0 minutes")
    purchases_path = args.purchases
    scratch = tempfile.TemporaryDirectory(prefix="rtp-report-")  # erasure-filtered copies
    erased = None  # --from-topics leaves erased people out as it exports
    outcomes_path: Path | None
    names: list[str] | None = None  # the files the report names (not the filtered copies)
    try:
        if args.from_topics:
            if args.log is not None or args.outcomes is not None:
                return _fail("give LOG and OUTCOMES or --from-topics, not both")
            since_ms = None
            if args.since:
                bound = parse_bound(args.since)
                if bound.kind != "time" or bound.time_ms is None:
                    return _fail(f"--since {args.since!r} is not a time")
                since_ms = bound.time_ms
            folder = args.export_dir or (settings.cache_dir / "report-export" /
                                         (settings.topic_prefix.rstrip(".") or "default"))
            log_path, outcomes_path = export_topics(settings, folder, since_ms,
                                                    idle_timeout_s=args.idle_timeout)
            print(f"exported {log_path} and {outcomes_path}", file=sys.stderr)
            if purchases_path is None:
                try:
                    purchases_path = export_purchases(settings, folder, since_ms,
                                                      idle_timeout_s=args.idle_timeout)
                    print(f"exported {purchases_path}", file=sys.stderr)
                except ReplaySourceError as exc:  # no worker has run under this prefix
                    print(f"no purchases: {exc}", file=sys.stderr)
        else:
            if args.log is None:
                return _fail("give LOG and OUTCOMES files (or --from-topics)")
            files, erased = honour_erasures(
                getattr(args, "erasures", "none"), settings,
                [(args.log, "DecisionLog"), (args.outcomes, "Outcome"),
                 (purchases_path, "ClickEvent")], Path(scratch.name), args.idle_timeout)
            names = [str(p) for p in (args.log, args.outcomes, purchases_path) if p is not None]
            log_path, outcomes_path, purchases_path = files[0] or args.log, files[1], files[2]
        views = read_page_views(args.page_views) if args.page_views else None
        if views is not None and not args.from_topics and erased is not None:
            views = {v: n for v, n in views.items() if not erased.covers({"visitor_id": v})}
        from pipeline.commands.config_file import config_of

        objective = config_of(getattr(args, "config", None), "rtp report").objective
        window = AttributionOptions(window_ms=round(args.attribution_window * 60_000))
        report = build_report(log_path, outcomes_path, args.control_share,
                              ReportOptions(n_boot=args.n_boot, seed=args.seed,
                                            attribution=window,
                                            cuped_covariate=None if args.cuped_covariate
                                            == "none" else args.cuped_covariate,
                                            headline_metric=objective.metric,
                                            headline_label=objective.headline), views,
                              purchases_path=purchases_path, source_names=names)
        html = report.write_html(args.html) if args.html is not None else None
    except ReplayError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
    finally:
        scratch.cleanup()
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.to_text())
    if html is not None:
        print(f"HTML report: {html}", file=sys.stderr)
    return 0
