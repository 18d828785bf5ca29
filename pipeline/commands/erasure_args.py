"""``--erasures`` of ``rtp report`` and ``rtp evaluate`` on files: leave erased people out.

``auto`` (the default): the marks on ``privacy.erasures`` under the settings' prefix when a
broker answers (else a warning on stderr: the files are read as they are); ``topic``: the
same, but a broker that does not answer is an error; ``none``: the files as they are;
anything else: a file holding marks (every ``x.<32 hex>`` in it, e.g. what ``rtp erase``
printed). The marks are computed under the pseudonym keys of this machine
(``RTP_PSEUDONYM_KEYS``), so they match only where those are the workers' keys.

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_erasures_argument(parser)
>>> parser.parse_args([]).erasures, parser.parse_args(["--erasures", "none"]).erasures
('auto', 'none')
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.settings import Settings

if TYPE_CHECKING:
    from pipeline.profiles.erasures import ErasedIds
    from pipeline.replay.erased_files import FileKind

__all__ = ["add_erasures_argument", "honour_erasures"]


def add_erasures_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--erasures auto|topic|none|FILE`` to ``parser``."""
    parser.add_argument(
        "--erasures", default="auto", metavar="SOURCE",
        help="leave out the records of erased people: 'auto' (default: the marks on "
             "privacy.erasures when a broker answers), 'topic' (the same, required), "
             "'none' (files as they are), or a FILE of marks (x.<hex>, e.g. what rtp erase "
             "printed)")


def honour_erasures(source: str, settings: Settings,
                    files: Sequence[tuple[Path | None, FileKind]], folder: Path,
                    idle_timeout_s: float = 15.0) -> tuple[list[Path | None], ErasedIds | None]:
    """``files`` (None entries kept as None) without the records of erased people, and the
    marks used (None when none were read).

    Without marks the files are used as they are. Copies go to ``folder`` (the caller's
    temporary folder: they hold personal data); a line on stderr says how many records were
    left out and from where the marks came. Raises
    :class:`~pipeline.replay.errors.ReplaySourceError` for ``topic`` without a broker or an
    unreadable marks file.

    >>> honour_erasures("none", Settings(kafka_port=1), [(None, "Outcome")], Path("."))
    ([None], None)
    """
    from pipeline.profiles.erasures import ErasedIds
    from pipeline.profiles.pseudonym import resolve_pseudonyms
    from pipeline.replay.errors import ReplaySourceError
    from pipeline.topics import ERASURES

    if source == "none" or not any(path is not None for path, _ in files):
        return [path for path, _ in files], None
    if source in ("auto", "topic"):
        from pipeline.broker import broker_reachable
        from pipeline.replay.sources import read_erasures

        if not broker_reachable(settings.bootstrap):
            if source == "topic":
                raise ReplaySourceError(f"--erasures topic: no broker answers at "
                                        f"{settings.bootstrap}")
            print(f"erasure marks not read: no broker answers at {settings.bootstrap} "
                  "(--erasures FILE gives them; --erasures none hides this)", file=sys.stderr)
            return [path for path, _ in files], None
        erased = read_erasures(settings, idle_timeout_s)
        origin = settings.topic(ERASURES)
    else:
        from pipeline.replay.erased_files import marks_from_file

        erased = ErasedIds(resolve_pseudonyms(settings), marks_from_file(source))
        origin = source
    if not erased.marks:  # nobody was erased: the files as they are, nothing to say
        return [path for path, _ in files], None
    from pipeline.replay.erased_files import without_erased

    present = [(path, kind) for path, kind in files if path is not None]
    copies, left_out = without_erased(present, erased, folder)
    print(f"{left_out} records of erased people left out ({len(erased.marks)} marks from "
          f"{origin})", file=sys.stderr)
    by_path = dict(zip([path for path, _ in present], copies, strict=True))
    return [None if path is None else by_path[path] for path, _ in files], erased
