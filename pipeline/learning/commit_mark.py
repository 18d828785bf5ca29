"""A commit mark of several parts: the model snapshot and the config version of a partition.

A partition's offset-commit metadata names everything its records are decided with, each
part written by its ref's ``mark()`` (``rtp-model=5@50``, ``rtp-config=3@2``) and joined
with ``;``. A mark written before there were several parts (``rtp-model=5@50`` alone)
reads as that one part; a part that is not there reads as ``""`` (no mark).

>>> mark = join_marks(["rtp-model=5@50", "rtp-config=3@2"]); mark
'rtp-model=5@50;rtp-config=3@2'
>>> mark_part(mark, "rtp-config"), mark_part("rtp-model=5@50", "rtp-config")
('rtp-config=3@2', '')
>>> mark_part("rtp-model=5@50", "rtp-model")
'rtp-model=5@50'
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["join_marks", "mark_part"]

_SEPARATOR = ";"


def join_marks(parts: Iterable[str]) -> str:
    """One mark of ``parts`` (empty ones left out), in the order given.

    >>> join_marks(["", "rtp-config=1@0"])
    'rtp-config=1@0'
    """
    return _SEPARATOR.join(part for part in parts if part)


def mark_part(mark: str | None, prefix: str) -> str:
    """The part of ``mark`` that starts with ``prefix=`` (``""``: none).

    >>> mark_part(None, "rtp-model"), mark_part("something else", "rtp-model")
    ('', '')
    """
    for part in (mark or "").split(_SEPARATOR):
        if part.startswith(prefix + "="):
            return part
    return ""
