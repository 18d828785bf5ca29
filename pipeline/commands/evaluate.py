"""``rtp evaluate``: off-policy evaluation of a target policy from a decision log and outcomes.

Wraps :func:`pipeline.replay.evaluate` (IPS, SNIPS, doubly robust, replay; seeded
bootstrap intervals, effective sample size, weight warnings) and, with
``--compare-obd DIR``, :func:`pipeline.replay.compare_obd`: the uniform random
policy's click rate estimated from the Open Bandit Dataset's Thompson-sampling
log beside the rate the random log observed.
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

__all__ = ["parse_estimators", "register", "run_evaluate"]

_EPILOG = """\
targets: uniform (uniform over the eligible actions), logged (the logging policy: a sanity
check), greedy (argmax of a reward model fitted on the log, cross-fitted), always:<action_id>

examples:
  rtp evaluate runs/base/decisions.jsonl --outcomes outcomes.jsonl --target greedy
  rtp evaluate obd/obd_bts_decisions.jsonl --outcomes obd/obd_bts_outcomes.jsonl \\
      --target uniform --estimators ips,snips,dr --n-boot 2000 --json
  rtp evaluate --compare-obd "$(rtp data obd)"

exit status: 0 done, 2 unusable input (missing propensities, unknown target, bad file)
"""


def parse_estimators(text: str) -> tuple[str, ...]:
    """``"ips, snips,dr"`` -> ``("ips", "snips", "dr")``; unknown names are an error.

    >>> parse_estimators("ips, snips,dr")
    ('ips', 'snips', 'dr')
    >>> parse_estimators("ips,magic")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: unknown estimator 'magic': choose from dm, dr, ips, replay, snips
    """
    known = ("dm", "dr", "ips", "replay", "snips")
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    for name in names:
        if name not in known:
            raise argparse.ArgumentTypeError(
                f"unknown estimator {name!r}: choose from {', '.join(known)}")
    if not names:
        raise argparse.ArgumentTypeError("no estimator given")
    return names


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp evaluate`` to the CLI.

    >>> parser = argparse.ArgumentParser()
    >>> register(parser.add_subparsers(dest="command"), lambda p: None)
    >>> args = parser.parse_args(["evaluate", "d.jsonl", "--target", "always:x",
    ...                           "--estimators", "ips,dr"])
    >>> args.target, args.estimators, args.n_boot
    ('always:x', ('ips', 'dr'), None)
    """
    parser = sub.add_parser(
        "evaluate", help="off-policy evaluation of a target policy from a decision log",
        description="Estimate what a target policy would have earned on a logged decision "
                    "log joined with its outcomes: IPS, self-normalized IPS, doubly robust "
                    "(River reward model) and the replay method, each with a seeded 95% "
                    "bootstrap interval, the effective sample size and warnings when "
                    "propensities are tiny or weights explode.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", nargs="?", type=Path, default=None, metavar="LOG",
                        help="decision log (.jsonl or .avro of rtp.DecisionLog)")
    parser.add_argument("--outcomes", type=Path, default=None, metavar="FILE",
                        help="outcomes (.jsonl or .avro of rtp.Outcome); none: every reward 0")
    parser.add_argument("--target", default="uniform", metavar="POLICY",
                        help="uniform | logged | greedy | always:<action_id> (default uniform)")
    parser.add_argument("--estimators", type=parse_estimators, default=None, metavar="LIST",
                        help="comma-separated: ips,snips,dr,replay,dm (default "
                             "ips,snips,dr,replay; with --compare-obd ips,snips,dr)")
    parser.add_argument("--n-boot", type=int, default=None, metavar="N",
                        help="bootstrap resamples (default 1000; 2000 with --compare-obd)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--include-unserved", action="store_true",
                        help="also evaluate control-group rows (not shown to the visitor)")
    parser.add_argument("--compare-obd", type=Path, default=None, metavar="DIR",
                        help="Open Bandit Dataset folder (random/ and bts/; rtp data obd "
                             "fetches the sample and prints its folder): estimate the "
                             "uniform policy from bts and compare with random's click rate")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_erasures_argument(parser)
    add_common(parser)
    parser.set_defaults(handler=run_evaluate)


def _fail(message: str) -> int:
    print(f"rtp evaluate: {message}", file=sys.stderr)
    return 2


def run_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``rtp evaluate``; 0 on success, 2 with a message on unusable input."""
    from pipeline.replay import OpeOptions, ReplayError, compare_obd, evaluate

    if args.n_boot is not None and args.n_boot < 1:
        return _fail("--n-boot must be >= 1")
    try:
        if args.compare_obd is not None:
            if args.log is not None:
                return _fail("give a LOG or --compare-obd, not both")
            if not args.compare_obd.is_dir():
                return _fail(f"{args.compare_obd}: not a folder (it should hold random/ and "
                             "bts/)")
            comparison = compare_obd(args.compare_obd, seed=args.seed,
                                     n_boot=args.n_boot or 2000,
                                     estimators=args.estimators or ("ips", "snips", "dr"))
            print(json.dumps(comparison.to_dict(), indent=2) if args.json
                  else comparison.to_text())
            return 0
        if args.log is None:
            return _fail("give a decision LOG (or --compare-obd DIR)")
        estimators = args.estimators or ("ips", "snips", "dr", "replay")
        with tempfile.TemporaryDirectory(prefix="rtp-evaluate-") as scratch:
            (log, outcomes), _ = honour_erasures(
                getattr(args, "erasures", "none"), settings,
                [(args.log, "DecisionLog"), (args.outcomes, "Outcome")], Path(scratch))
            result = evaluate(log or args.log, outcomes, args.target, estimators,
                              n_boot=args.n_boot or 1000, seed=args.seed,
                              options=OpeOptions(include_unserved=args.include_unserved))
    except ReplayError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.to_text())
    return 0
