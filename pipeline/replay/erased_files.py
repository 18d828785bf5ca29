"""Erasure marks for file inputs: copies of a report's files without the erased people.

``rtp report --from-topics`` and ``rtp replay --topics`` leave out the records of people
with a mark on ``privacy.erasures`` as they read (:mod:`pipeline.replay.sources`). Files
(a decision log, outcomes and purchases exported earlier, or written by a simulation) are
read as they are; :func:`without_erased` writes a copy of each without the records
:class:`~pipeline.profiles.erasures.ErasedIds` covers, in a folder of the caller's
choosing, and says how many it left out, so ``rtp report`` / ``rtp evaluate`` on files
count nobody who asked to be erased. The marks come from the topic
(:func:`~pipeline.replay.sources.read_erasures`) or from a file (:func:`marks_from_file`:
every ``x.<32 hex>`` in it, e.g. what ``rtp erase`` printed).

>>> import tempfile, pathlib
>>> from pipeline.profiles.erasures import ErasedIds, erasure_mark
>>> from pipeline.profiles.pseudonym import Pseudonyms
>>> from pipeline.replay.logfile import read_records, write_records
>>> names = Pseudonyms(("erased-files-doctest-key",))
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> out = {"outcome_id": "o", "decision_id": "d", "kind": "converted", "value": 1.0,
...        "event_time": 5}
>>> _ = write_records(folder / "o.jsonl", "Outcome", [{**out, "visitor_id": "v-ann"},
...                                                    {**out, "visitor_id": "v-bob"}])
>>> erased = ErasedIds(names, {erasure_mark("v-ann", names)})
>>> [path], left_out = without_erased([(folder / "o.jsonl", "Outcome")], erased,
...                                   folder / "kept")
>>> [r["visitor_id"] for r in read_records(path, "Outcome")], left_out
(['v-bob'], 1)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from pipeline.profiles.erasures import ErasedIds
from pipeline.replay.errors import ReplaySourceError

__all__ = ["FileKind", "marks_from_file", "without_erased"]

#: The kinds of file a report or an evaluation reads.
FileKind = Literal["DecisionLog", "Outcome", "ClickEvent"]

_MARK = re.compile(r"x\.[0-9a-f]{32}")


def marks_from_file(path: str | Path) -> set[str]:
    """Every erasure mark (``x.<32 hex>``) written in ``path``, whatever surrounds them.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "marks.txt"
    >>> _ = p.write_text("removed: x." + "a" * 32 + "\\n  x." + "b" * 32 + " (profile)\\n")
    >>> sorted(m[:3] for m in marks_from_file(p))
    ['x.a', 'x.b']
    """
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ReplaySourceError(f"{path}: cannot read erasure marks: "
                                f"{exc.strerror or exc}") from None
    return set(_MARK.findall(text))


def _kept(path: Path, kind: FileKind, erased: ErasedIds) -> Iterator[dict[str, Any]]:
    from pipeline.replay.sources import read_file

    for source in read_file(path, kind):
        if source.record is None:
            continue  # unreadable: the report would skip it too
        if not erased.covers(source.record):
            yield source.record


def without_erased(files: Sequence[tuple[str | Path, FileKind]], erased: ErasedIds,
                   folder: str | Path) -> tuple[list[Path], int]:
    """Copies of ``files`` in ``folder`` (numbered, same extensions) without the records
    ``erased`` covers, and how many records were left out in all.

    Records that do not decode are not copied (the report skips them anyway).
    """
    out_dir = Path(folder)
    before = erased.left_out
    out: list[Path] = []
    from pipeline.replay.logfile import write_records

    for i, (path, kind) in enumerate(files):
        target = out_dir / f"{i}-{Path(path).name}"  # two inputs may share a name
        write_records(target, kind, _kept(Path(path), kind, erased))
        out.append(target)
    return out, erased.left_out - before
