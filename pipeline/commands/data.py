"""``rtp data obd``: fetch the Open Bandit Dataset sample once into the cache and check it.

The sample comes out of the Open Bandit Pipeline source distribution on PyPI
(:mod:`pipeline.replay.obd_sample`); ``rtp import obd`` without a folder uses the
same code, so an analyst or a test never needs a copy from anywhere else.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from pipeline.settings import Settings

__all__ = ["EXIT_NO_REGISTRY", "fetch_obd_sample", "register", "run_data_obd"]

#: Exit status when no package registry answered (2 is a bad download or folder).
EXIT_NO_REGISTRY = 3

_EPILOG = """\
The sample: 10,000 logged impressions per logging policy (random/ = uniform random,
bts/ = Bernoulli Thompson sampling), each all.csv + item_context.csv, taken from the
source distribution of the Open Bandit Pipeline on PyPI (pip download obp==0.5.7
--no-deps --no-binary :all: --ignore-requires-python; about 1.3 MB, your pip
configuration applies). Only the CSV files are kept; the package is never installed.
Each file is checked (columns, row count, SHA-256 recorded in rtp); valid files are
left alone, a missing, truncated or altered one is fetched again.

Dataset: Saito, Aihara, Matsutani, Narita, "Open Bandit Dataset and Pipeline: Towards
Realistic and Reproducible Off-Policy Evaluation", NeurIPS 2021 Datasets and
Benchmarks; ZOZO, Inc., licence CC BY 4.0.

The folder is printed on stdout (progress on stderr), so:
  rtp evaluate --compare-obd "$(rtp data obd)"
  rtp import obd --out runs/obd --compare          (no DIR: this same sample)

exit status: 0 the sample is there and valid, 2 the download did not hold the
expected files or the folder cannot be written, 3 no package registry answered
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser],
             add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``rtp data`` (with its ``obd`` dataset) to the CLI.

    >>> parser = argparse.ArgumentParser()
    >>> register(parser.add_subparsers(dest="command"), lambda p: None)
    >>> args = parser.parse_args(["data", "obd", "--dir", "d"])
    >>> args.dataset, str(args.dir)
    ('obd', 'd')
    """
    parser = sub.add_parser(
        "data", help="fetch the public datasets rtp's examples and tests use",
        description="Download public datasets into the cache once and check them. "
                    "Datasets: obd (the Open Bandit Dataset sample).",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    datasets = parser.add_subparsers(dest="dataset", metavar="DATASET", required=True)
    obd = datasets.add_parser(
        "obd", help="the Open Bandit Dataset sample (random/ and bts/), from PyPI",
        description="Make the Open Bandit Dataset sample available in <cache>/obd "
                    "(RTP_CACHE_DIR, default .cache/ in the repository) or --dir: download "
                    "it if it is missing or not the recorded data, else do nothing.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    obd.add_argument("--dir", type=Path, default=None, metavar="DIR",
                     help="put the sample here instead of <cache>/obd")
    add_common(obd)
    parser.set_defaults(handler=lambda args, settings: 2)
    obd.set_defaults(handler=run_data_obd)


def fetch_obd_sample(settings: Settings, directory: Path | None,
                     prog: str = "rtp data obd") -> tuple[Path | None, int]:
    """Ensure the sample in ``directory`` (default ``<cache>/obd``): (folder, 0) or (None, code).

    Messages go to stderr under ``prog``; the code is 3 when no registry answered,
    2 for any other failure.
    """
    from pipeline.replay.obd_sample import (
        ObdSampleError,
        RegistryUnavailable,
        default_obd_dir,
        ensure_obd_sample,
    )

    target = directory if directory is not None else default_obd_dir(settings.cache_dir)

    def echo(message: str) -> None:
        print(f"{prog}: {message}", file=sys.stderr, flush=True)

    try:
        status = ensure_obd_sample(target, echo=echo)
    except RegistryUnavailable as exc:
        echo(f"cannot fetch the Open Bandit Dataset sample: {exc}")
        return None, EXIT_NO_REGISTRY
    except ObdSampleError as exc:
        echo(f"cannot fetch the Open Bandit Dataset sample: {exc}")
        return None, 2
    return status.directory, 0


def run_data_obd(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``rtp data obd``: print the folder of the valid sample; 0, 2 or 3."""
    folder, code = fetch_obd_sample(settings, args.dir)
    if folder is None:
        return code
    print(folder.resolve(), flush=True)
    return 0
