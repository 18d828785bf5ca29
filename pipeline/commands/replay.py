"""``rtp replay``: run the personalization core offline over a recorded stream (backtests).

Input is a file (JSON lines or Avro container of ClickEvents, with optional
outcomes, profile updates and the logged decisions) or a range of the events
topic (``--topics``: every partition, with the outcomes, profile updates and
logged decisions topics under the same prefix). Output is the replayed decision
log, signals and dead letters as files in ``--out`` (or the decision log and
signals on new topics with ``--to-topic`` / ``--signals-topic``) plus
``metrics.json``. Same input, options and seed: byte-identical files.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path

from pipeline.settings import Settings

__all__ = ["register", "run_replay_command"]

_EPILOG = """\
ranges (--from includes, --to excludes):
  1500 | offset:1500         offset on every partition (file: record number, 0-based)
  0:1200,1:1310              offsets per partition
  2025-03-01T12:00:00Z | 1740830400000 | time:...
                             a time (topic: Kafka timestamps; file: event_time)

examples:
  rtp replay events.jsonl --outcomes outcomes.jsonl --out runs/base
  rtp replay events.jsonl --outcomes outcomes.jsonl --catalog other.yaml --out runs/candidate
  rtp replay --topics --from 2025-03-01T00:00:00Z --to 2025-03-02T00:00:00Z --out runs/day
  rtp replay --topics --options candidate.yaml --to-topic backtest.decisions.log --out runs/x

control share: each logged decision records the live run's share, and the replay
follows it (as it changed, if it changed); --control-share or decider.control_share
in an options file sets it instead

candidate options file (JSON or YAML, nested like EngineOptions, dotted keys allowed):
  signals: {hesitation: {min_dwell_ms: 20000}}
  decider: {control_share: 0.2, bandit: {alpha: 1.0, epsilon: 0.05}}
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp replay`` to the CLI.

    >>> parser = argparse.ArgumentParser()
    >>> register(parser.add_subparsers(dest="command"), lambda p: None)
    >>> args = parser.parse_args(["replay", "e.jsonl", "--out", "o", "--limit", "10"])
    >>> args.events, args.limit, args.format
    (PosixPath('e.jsonl'), 10, 'jsonl')
    """
    parser = sub.add_parser(
        "replay", help="replay recorded events through the core offline (backtest, what-if)",
        description="Run sessions -> signals -> intent -> decide -> learn over a recorded "
                    "stream, without Kafka, and write the decision log, signals, dead letters "
                    "and metrics. Same input + options + seed = byte-identical output files.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_argument_group("input")
    source.add_argument("events", nargs="?", type=Path, default=None, metavar="EVENTS",
                        help="ClickEvent file (.jsonl or .avro); omit with --topics")
    source.add_argument("--outcomes", type=Path, default=None, metavar="FILE",
                        help="Outcome file to learn from, as the worker does")
    source.add_argument("--profiles", type=Path, default=None, metavar="FILE",
                        help="ProfileUpdate file (consent, identity, traits)")
    source.add_argument("--logged-decisions", type=Path, default=None, metavar="FILE",
                        help="the DecisionLog recorded live: outcomes are learned only where "
                             "the replay chose the logged action")
    source.add_argument("--topics", action="store_true",
                        help="read the events topic (all partitions) and the outcomes, profile "
                             "and decision-log topics under --topic-prefix")
    source.add_argument("--events-topic", default=None, metavar="TOPIC",
                        help="full name of the events topic (default <prefix>clickstream.events)")
    source.add_argument("--no-outcomes", action="store_true", help="--topics: do not learn "
                                                                   "from outcomes")
    source.add_argument("--no-profiles", action="store_true",
                        help="--topics: ignore profile updates")
    source.add_argument("--no-logged-decisions", action="store_true",
                        help="--topics: do not read the live decision log")
    source.add_argument("--from", dest="start", default=None, metavar="BOUND",
                        help="first offset or time to replay (included)")
    source.add_argument("--to", dest="end", default=None, metavar="BOUND",
                        help="offset or time to stop at (excluded)")
    source.add_argument("--limit", type=int, default=None, metavar="N",
                        help="replay at most N events")
    source.add_argument("--idle-timeout", type=float, default=15.0, metavar="S",
                        help="--topics: fail when a partition delivers nothing for S seconds "
                             "(default 15)")
    config = parser.add_argument_group("candidate configuration")
    config.add_argument("--catalog", type=Path, default=None, metavar="PATH",
                        help="another action catalog (default deploy/catalog/actions.yaml)")
    config.add_argument("--options", type=Path, default=None, metavar="FILE",
                        help="JSON/YAML overrides of EngineOptions fields")
    config.add_argument("--control-share", type=float, default=None, metavar="SHARE",
                        help="share of visitors in control (default: the share each logged "
                             "decision recorded, as the live run did; else the configured "
                             "0.1)")
    config.add_argument("--seed", type=int, default=None, metavar="N",
                        help="seed of the bandit's draws and of the intent model "
                             "(default: the configured ones)")
    config.add_argument("--model", default=None, metavar="SOURCE",
                        help="decide with this model snapshot throughout and learn nothing, "
                             "as a live worker between two snapshots (its decisions are the "
                             "live ones): 'topic' (the newest on <prefix>personalization."
                             "models), 'topic:N' (version N, while compaction keeps it) or a "
                             "snapshot FILE (--save-model). Default: an untrained model that "
                             "learns as it goes")
    output = parser.add_argument_group("output")
    output.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="folder for decisions, signals, dead_letters and metrics.json")
    output.add_argument("--format", choices=["jsonl", "avro"], default="jsonl",
                        help="file format of the outputs (default jsonl)")
    output.add_argument("--to-topic", default=None, metavar="TOPIC",
                        help="write the decision log to this topic instead of a file "
                             "(created if missing; full name)")
    output.add_argument("--signals-topic", default=None, metavar="TOPIC",
                        help="with --to-topic: write signals to this topic")
    output.add_argument("--timing", type=Path, default=None, metavar="FILE",
                        help="also write elapsed time and events/s (wall clock) as JSON")
    output.add_argument("--save-model", type=Path, default=None, metavar="FILE",
                        help="write the model the replay ended with (the pinned one with "
                             "--model) as a snapshot FILE, e.g. to pin a live version before "
                             "compaction removes it from the topic")
    output.add_argument("--json", action="store_true", help="print metrics.json to stdout")
    output.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    add_common(parser)
    parser.set_defaults(handler=run_replay_command)


def _fail(message: str) -> int:
    print(f"rtp replay: {message}", file=sys.stderr)
    return 2


def run_replay_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``rtp replay`` with parsed ``args``; 0 on success, 2 on bad input or options."""
    from pipeline.replay.bounds import parse_bound
    from pipeline.replay.engine import ReplayOptions
    from pipeline.replay.errors import ReplayError
    from pipeline.replay.overrides import engine_options, load_overrides, sets_control_share
    from pipeline.replay.pinned_model import load_pinned_model
    from pipeline.replay.progress import Progress
    from pipeline.replay.runner import FileInputs, file_records, run_replay
    from pipeline.replay.sinks import RecordWriter, ReplaySink, TopicSink
    from pipeline.replay.sources import TopicSources, topic_sources
    from pipeline.serde import Codec

    if args.topics == (args.events is not None):
        return _fail("give an EVENTS file or --topics (one of them)")
    if args.signals_topic and not args.to_topic:
        return _fail("--signals-topic needs --to-topic")
    if args.limit is not None and args.limit < 0:
        return _fail("--limit must be >= 0")
    if args.control_share is not None and not 0.0 <= args.control_share < 1.0:
        return _fail("--control-share must be within [0, 1)")
    sources: TopicSources | None = None
    try:
        options = engine_options(args.options, args.catalog, args.seed)
        pinned = args.control_share is not None or (
            args.options is not None and sets_control_share(load_overrides(args.options)))
        if args.control_share is not None:
            options = dataclasses.replace(options, decider=dataclasses.replace(
                options.decider, control_share=args.control_share))
        replay_options = ReplayOptions(follow_logged_control_share=not pinned)
        model = None if args.model is None else load_pinned_model(args.model, options, settings)
        start = parse_bound(args.start) if args.start else None
        end = parse_bound(args.end) if args.end else None
        codec = Codec.default()
        if args.topics:
            sources = topic_sources(
                settings, start, end, outcomes=not args.no_outcomes,
                profiles=not args.no_profiles, logged_decisions=not args.no_logged_decisions,
                events_topic=args.events_topic, idle_timeout_s=args.idle_timeout, codec=codec)
            from pipeline.replay.sources import merge_sources

            records = merge_sources(sources.events, sources.others, args.limit)
            total: int | None = sources.total_events
            if args.limit is not None:
                total = min(total or 0, args.limit)
        else:
            records = file_records(FileInputs(args.events, args.outcomes, args.profiles,
                                              args.logged_decisions),
                                   start, end, args.limit, codec)
            total = args.limit
        sink: ReplaySink | None = None
        if args.to_topic:
            writer = RecordWriter(args.out / f"dead_letters.{args.format}", "DeadLetter", codec,
                                  args.format)
            sink = TopicSink(settings, args.to_topic, writer, args.signals_topic, codec)
        progress = Progress(total=total, quiet=args.quiet)
        run = run_replay(records, options, args.out, args.format, sink=sink,
                         options=replay_options, progress=progress, codec=codec, model=model)
        if args.save_model is not None and run.model is not None:
            args.save_model.parent.mkdir(parents=True, exist_ok=True)
            args.save_model.write_bytes(run.model.to_bytes())
    except ReplayError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
    finally:
        if sources is not None:
            sources.close()
    if args.timing is not None:
        args.timing.parent.mkdir(parents=True, exist_ok=True)
        args.timing.write_text(json.dumps({"elapsed_s": round(run.elapsed_s, 3),
                                           "events": run.metrics.events_read,
                                           "events_per_s": round(run.events_per_s, 1)}) + "\n")
    if sources is not None and sources.erased is not None and sources.erased.left_out:
        print(f"left out {sources.erased.left_out} records of erased people "
              "(privacy.erasures)", file=sys.stderr)
    if args.json:
        sys.stdout.write(run.metrics.to_json())
    else:
        print(run.metrics.to_text())
        for name, where in sorted(run.outputs.items()):
            print(f"  {name:13} {where}")
    return 0
