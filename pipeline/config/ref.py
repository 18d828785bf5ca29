"""A config version: its number and its offset on the config topic.

``rtp config publish`` appends the effective config to ``personalization.config`` (one
partition, compacted, key ``config``); the version is the record's offset + 1, so two
publishers never hand out the same number. Version 0 is a worker's startup config (its
``--config`` file and flags), used until a version is published.

>>> ConfigRef.at_offset(2)
ConfigRef(version=3, offset=2)
>>> ConfigRef.from_mark(ConfigRef.at_offset(2).mark())
ConfigRef(version=3, offset=2)
>>> ConfigRef.from_mark("") is None, ConfigRef.from_mark("rtp-model=1@0") is None
(True, True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MARK_PREFIX", "STARTUP", "ConfigRef"]

#: How a commit mark's config part starts (:mod:`pipeline.learning.commit_mark`).
MARK_PREFIX = "rtp-config"

_MARK = re.compile(MARK_PREFIX + r"=(\d+)@(-?\d+)")


@dataclass(frozen=True)
class ConfigRef:
    """A config version (-1 offset: not from the topic, the startup config, version 0)."""

    version: int
    offset: int

    @classmethod
    def at_offset(cls, offset: int) -> ConfigRef:
        """The version of the record at ``offset`` on the config topic."""
        return cls(offset + 1, offset)

    def mark(self) -> str:
        """The commit mark's part that names this version.

        >>> STARTUP.mark()
        'rtp-config=0@-1'
        """
        return f"{MARK_PREFIX}={self.version}@{self.offset}"

    @classmethod
    def from_mark(cls, text: str | None) -> ConfigRef | None:
        """The version a mark part names (None: none, or not a config part)."""
        found = _MARK.fullmatch(text or "")
        return cls(int(found[1]), int(found[2])) if found else None


#: The startup config's ref.
STARTUP = ConfigRef(0, -1)
