"""A safe YAML loader whose numbers follow YAML 1.2: ``1e-09`` is a float, not a string.

PyYAML implements YAML 1.1, whose float pattern needs a dot: ``1e-09``, ``5E3`` and
``+2e4`` are read as strings there, so a threshold written that way would be refused
as "must be a number" (or, worse, taken as text). :class:`SafeLoader12` is PyYAML's
safe loader with the YAML 1.2 core schema's float pattern added (everything YAML 1.1
reads stays as it was).

>>> load("a: 1e-09\\nb: 5E3\\nc: 1.5e3\\nd: 0x10\\ne: '1e-09'\\nf: .5e1\\n")
{'a': 1e-09, 'b': 5000.0, 'c': 1500.0, 'd': 16, 'e': '1e-09', 'f': 5.0}
>>> import yaml
>>> yaml.safe_load("a: 1e-09")  # PyYAML's own safe loader, for comparison
{'a': '1e-09'}
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["SafeLoader12", "load"]


class SafeLoader12(yaml.SafeLoader):
    """:class:`yaml.SafeLoader` reading YAML 1.2 floats (``1e-09``, ``-5E+3``)."""


# YAML 1.2 core schema: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
# Only the exponent forms are added (PyYAML's needs a dot and a signed exponent); the
# rest PyYAML already reads.
SafeLoader12.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def load(text: str) -> Any:
    """``text`` read with :class:`SafeLoader12` (like :func:`yaml.safe_load`)."""
    return yaml.load(text, Loader=SafeLoader12)  # a SafeLoader subclass: safe
