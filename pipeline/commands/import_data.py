"""``rtp import obd [DIR]``: turn an Open Bandit Dataset folder into our DecisionLog + Outcome.

Without ``DIR`` the sample is the one ``rtp data obd`` keeps in ``<cache>/obd``
(downloaded there first if it is missing or not the recorded data).

To files (``--out DIR``: ``obd_<behavior>_decisions.<fmt>`` and
``obd_<behavior>_outcomes.<fmt>``) and/or to the decision-log and outcomes
topics under ``--topic-prefix`` (``--to-topic``). ``--compare`` then prints the
headline check: the uniform random policy's click rate estimated from the
Thompson-sampling log, beside the rate the random log observed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pipeline.settings import Settings

__all__ = ["produce_obd", "register", "run_import_obd"]

_EPILOG = """\
examples:
  rtp import obd --out runs/obd --compare           the sample from rtp data obd
  rtp import obd --to-topic --topic-prefix obd.
  rtp import obd path/to/obd --out runs/obd          a folder of your own (random/, bts/)
  rtp evaluate runs/obd/obd_bts_decisions.jsonl --outcomes runs/obd/obd_bts_outcomes.jsonl

exit status: 0 done, 2 unusable input, 3 no DIR given and the sample could not be
downloaded because no package registry answered (see rtp data obd --help)
"""


def _behaviors(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    bad = [n for n in names if n not in ("random", "bts")]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"behaviors are 'random' and/or 'bts', got {text!r}")
    return names


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp import`` (with its ``obd`` source) to the CLI.

    >>> parser = argparse.ArgumentParser()
    >>> register(parser.add_subparsers(dest="command"), lambda p: None)
    >>> args = parser.parse_args(["import", "obd", "data", "--out", "o", "--behaviors", "bts"])
    >>> args.source, args.behaviors, args.format
    ('obd', ('bts',), 'jsonl')
    """
    parser = sub.add_parser(
        "import", help="import external logged data as decision logs and outcomes",
        description="Convert logged bandit data from other systems into rtp.DecisionLog and "
                    "rtp.Outcome records (files or topics), for rtp evaluate and rtp report. "
                    "Sources: obd (the Open Bandit Dataset).",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sources = parser.add_subparsers(dest="source", metavar="SOURCE", required=True)
    obd = sources.add_parser(
        "obd", help="Open Bandit Dataset folder (random/ and bts/)",
        description="Read <DIR>/random and <DIR>/bts (all.csv + item_context.csv) and write "
                    "DecisionLog + Outcome records. Propensities are the dataset's own. "
                    "Without DIR: the sample in <cache>/obd, fetched from PyPI on first use "
                    "(rtp data obd).",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    obd.add_argument("directory", type=Path, nargs="?", default=None, metavar="DIR",
                     help="the OBD folder (default: the sample of rtp data obd, "
                          "downloaded on first use)")
    obd.add_argument("--out", type=Path, default=None, metavar="DIR",
                     help="write files into this folder")
    obd.add_argument("--format", choices=["jsonl", "avro"], default="jsonl",
                     help="file format (default jsonl)")
    obd.add_argument("--behaviors", type=_behaviors, default=("random", "bts"), metavar="LIST",
                     help="random,bts (default both)")
    obd.add_argument("--limit", type=int, default=None, metavar="N",
                     help="only the first N rows of each log")
    obd.add_argument("--to-topic", action="store_true",
                     help="produce to <prefix>personalization.decisions.log and "
                          "<prefix>personalization.outcomes (topics created if missing)")
    obd.add_argument("--compare", action="store_true",
                     help="print the uniform policy's click rate estimated from bts beside "
                          "random's observed rate")
    obd.add_argument("--n-boot", type=int, default=2000, metavar="N",
                     help="--compare: bootstrap resamples (default 2000)")
    obd.add_argument("--seed", type=int, default=0, help="--compare: bootstrap seed")
    obd.add_argument("--json", action="store_true", help="--compare: print JSON")
    add_common(obd)
    parser.set_defaults(handler=lambda args, settings: 2)
    obd.set_defaults(handler=run_import_obd)


def produce_obd(settings: Settings, directory: Path, behaviors: Sequence[str],
                limit: int | None = None) -> dict[str, dict[str, Any]]:
    """Produce the OBD logs to the decision-log and outcomes topics; counts per behavior."""
    from pipeline.client import EventProducer
    from pipeline.replay.obd import read_obd
    from pipeline.topics import DECISIONS_LOG, OUTCOMES, apply_topics, topic_specs

    apply_topics(settings.bootstrap, topic_specs(settings.partitions, settings.replication,
                                                 settings.topic_prefix))
    counts: dict[str, dict[str, Any]] = {}
    with EventProducer(settings) as producer:
        for behavior in behaviors:
            log = read_obd(directory, behavior, limit)  # type: ignore[arg-type]
            for record in log.logs:
                producer.send(settings.topic(DECISIONS_LOG), "DecisionLog", record,
                              record["decision"]["decision_id"])
            for outcome in log.outcomes:
                producer.send(settings.topic(OUTCOMES), "Outcome", outcome,
                              outcome["visitor_id"])
            counts[behavior] = {"decisions": len(log.logs), "outcomes": len(log.outcomes),
                                "clicks": log.clicks}
    if producer.stats.failed:
        raise RuntimeError(f"{producer.stats.failed} records were not delivered: "
                           f"{producer.stats.errors[-1]}")
    return counts


def _fail(message: str) -> int:
    print(f"rtp import obd: {message}", file=sys.stderr)
    return 2


def run_import_obd(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``rtp import obd``; 0 on success, 2 on unusable input, 3 if no registry answered."""
    from pipeline.replay import ReplayError, compare_obd, import_obd
    from pipeline.serde import SerdeError

    if args.out is None and not args.to_topic and not args.compare:
        return _fail("give --out DIR and/or --to-topic (or --compare)")
    if args.limit is not None and args.limit < 1:
        return _fail("--limit must be >= 1")
    if args.directory is None:
        from pipeline.commands.data import fetch_obd_sample

        folder, code = fetch_obd_sample(settings, None, prog="rtp import obd")
        if folder is None:
            return code
        args.directory = folder
    if not args.directory.is_dir():
        return _fail(f"{args.directory}: not a folder (it should hold random/ and bts/)")
    try:
        if args.out is not None:
            result = import_obd(args.directory, args.out, args.format, args.behaviors,
                                args.limit)
            print(result.to_text())
        if args.to_topic:
            counts = produce_obd(settings, args.directory, args.behaviors, args.limit)
            for behavior, n in counts.items():
                print(f"{behavior}: {n['decisions']} decisions -> "
                      f"{settings.topic('personalization.decisions.log')}; {n['outcomes']} "
                      f"outcomes ({n['clicks']} clicks) -> "
                      f"{settings.topic('personalization.outcomes')}")
        if args.compare:
            comparison = compare_obd(args.directory, seed=args.seed, n_boot=args.n_boot)
            print(json.dumps(comparison.to_dict(), indent=2) if args.json
                  else comparison.to_text())
    except (ReplayError, SerdeError) as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
    return 0
