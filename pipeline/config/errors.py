"""What is wrong with a config file: every problem, each with its field and line.

>>> print(ConfigError(["line 3: field experiments.control_share: must be within [0, 1)"],
...                   "rtp.yaml"))
rtp.yaml: line 3: field experiments.control_share: must be within [0, 1)
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """The config does not validate; :attr:`problems` lists each one."""

    def __init__(self, problems: Sequence[str], name: str = "<config>") -> None:
        self.problems = list(problems)
        self.name = name
        super().__init__("\n".join(f"{name}: {p}" for p in self.problems))
