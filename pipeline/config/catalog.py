"""The action catalog in the config file: a file it names, or the catalog itself, inline.

``catalog: actions.yaml`` names a catalog file (relative to the config file's folder;
from an environment variable or without a file: to the working directory);
``catalog:`` followed by ``version:`` and ``actions:`` (the catalog file's format,
:mod:`pipeline.decide.catalog`) carries it inline. Either way the catalog is validated
like a catalog file, its errors naming the line (in the config file, or in the named
file), and the **effective** config carries it inline: what ``rtp config check`` prints
and ``rtp config publish`` puts on the config topic is the whole catalog, so one
published version is one catalog on every worker, whatever files their images hold.

The catalog's fingerprint (in every decision's ``policy_version``) is of its content,
not of the text it was written in (:func:`~pipeline.decide.located.content_fingerprint`):
the same actions inline, in a file or published give the same fingerprint.

>>> inline = CatalogConfig.parse("version: 2\\nactions:\\n  - {id: no_action, slot: none}\\n",
...                              "<inline>")
>>> inline.catalog.version, inline.catalog.ids, inline.values["version"]
(2, ('no_action',), 2)
>>> again = CatalogConfig.parse("{version: 2, actions: [{slot: none, id: no_action}]}", "x")
>>> again == inline, again.catalog.fingerprint == inline.catalog.fingerprint
(True, True)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.decide.catalog import Catalog, parse_catalog
from pipeline.decide.errors import CatalogError
from pipeline.settings import PROJECT_ROOT
from pipeline.yaml12 import load

__all__ = ["BUILTIN_CATALOG", "CatalogConfig", "builtin_catalog"]

#: The catalog a config without ``catalog:`` uses (the engine's default).
BUILTIN_CATALOG = PROJECT_ROOT / "deploy" / "catalog" / "actions.yaml"


def _plain(value: Any) -> Any:
    """YAML-read values as plain dicts and lists (no located subclasses)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class CatalogConfig:
    """A validated catalog and the plain values it was read from (what the effective config
    prints). Two are equal when their content is."""

    values: Mapping[str, Any]
    catalog: Catalog = field(compare=False, repr=False)
    #: Where it was read from (a file, or the config file).
    source: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str, source: str) -> CatalogConfig:
        """The catalog in YAML ``text``; :class:`~pipeline.decide.errors.CatalogError` (with
        ``source`` and the line) when it is not a valid catalog."""
        catalog = parse_catalog(text, source)  # its fingerprint is of the content
        return cls(_plain(load(text)), catalog, source)

    @classmethod
    def read(cls, path: Path) -> CatalogConfig:
        """The catalog file at ``path`` (:class:`CatalogError` when missing or invalid).

        >>> CatalogConfig.read(Path("/no/such.yaml"))
        Traceback (most recent call last):
        ...
        pipeline.decide.errors.CatalogError: /no/such.yaml:1: cannot read the catalog: \
No such file or directory
        """
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            raise CatalogError(str(path), 1, f"cannot read the catalog: {reason}") from exc
        return cls.parse(text, str(path))


@functools.cache
def builtin_catalog() -> CatalogConfig:
    """The built-in catalog (``deploy/catalog/actions.yaml``), read once.

    >>> "no_action" in builtin_catalog().catalog
    True
    """
    return CatalogConfig.read(BUILTIN_CATALOG)
