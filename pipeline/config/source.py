"""A YAML config file read with the line of every field, and ``RTP_CONFIG__*`` overrides.

>>> doc = ConfigSource.parse("experiments:\\n  salt: spring\\n  control_share: 0.2\\n")
>>> doc.values["experiments"]["control_share"], doc.where(("experiments", "control_share"))
(0.2, 'line 3')
>>> doc = doc.with_env({"RTP_CONFIG__EXPERIMENTS__SALT": "summer"})
>>> doc.values["experiments"]["salt"], doc.where(("experiments", "salt"))
('summer', 'RTP_CONFIG__EXPERIMENTS__SALT')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from pipeline.config.errors import ConfigError
from pipeline.yaml12 import SafeLoader12, load

__all__ = ["ENV_PREFIX", "ConfigSource", "Path_"]

#: Environment variables ``RTP_CONFIG__SECTION__FIELD=value`` override the file's fields
#: (the value is read as YAML: ``0.2``, ``true``, ``[a, b]``).
ENV_PREFIX = "RTP_CONFIG__"

Path_ = tuple[str, ...]


#: Where a node's text is in the file: start index, end index, start line, start column.
Span = tuple[int, int, int, int]


def _lines(node: yaml.Node, path: Path_, out: dict[Path_, str], errors: list[str],
           spans: dict[Path_, Span]) -> None:
    out[path] = f"line {node.start_mark.line + 1}"
    spans[path] = (node.start_mark.index, node.end_mark.index, node.start_mark.line,
                   node.start_mark.column)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                errors.append(f"line {key.start_mark.line + 1}: field "
                              f"{'.'.join((*path, name))}: given twice")
            seen.add(name)
            _lines(value, (*path, name), out, errors, spans)
    elif isinstance(node, yaml.SequenceNode):  # list items: path element = the index
        for index, item in enumerate(node.value):
            _lines(item, (*path, str(index)), out, errors, spans)


@dataclass(frozen=True)
class ConfigSource:
    """The file's values (nested dicts) and where each field came from."""

    values: dict[str, Any]
    origins: dict[Path_, str] = field(default_factory=dict)
    name: str = "<config>"
    #: The file's text and where each field's node is in it (for sections parsed on
    #: their own with their lines, like the action catalog).
    text: str = ""
    spans: dict[Path_, Span] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, name: str = "<config>") -> ConfigSource:
        """Read YAML ``text``; :class:`ConfigError` (with the line) when it is not a mapping
        of fields.

        >>> try:
        ...     ConfigSource.parse("objective: conversion\\nrewards: [")
        ... except ConfigError as exc:
        ...     print(exc.problems)
        ["line 2: not YAML: expected the node content, but found '<stream end>'"]
        """
        try:
            node = yaml.compose(text, Loader=SafeLoader12)
            values = load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            line = f"line {mark.line + 1}: " if mark is not None else ""
            raise ConfigError([f"{line}not YAML: {exc.problem}"], name) from exc
        except yaml.YAMLError as exc:  # e.g. a control character (a ReaderError, no mark)
            raise ConfigError([f"not YAML: {exc}"], name) from exc
        if values is None:
            return cls({}, {}, name, text)
        if not isinstance(values, dict) or node is None:
            raise ConfigError(["line 1: the file must be a mapping of fields"], name)
        origins: dict[Path_, str] = {}
        spans: dict[Path_, Span] = {}
        errors: list[str] = []
        _lines(node, (), origins, errors, spans)
        if errors:
            raise ConfigError(errors, name)
        return cls(values, origins, name, text, spans)

    def text_of(self, path: Path_) -> str | None:
        """The YAML text of the node at ``path``, placed at its own line and column (so a
        parser reading it alone reports the file's lines); None when it did not come from
        the file (an environment variable set it, or inside it).

        >>> doc = ConfigSource.parse("a: 1\\nsection:\\n  x: 1e-09\\n")
        >>> doc.text_of(("section",))
        '\\n\\n  x: 1e-09\\n'
        """
        span = self.spans.get(path)
        if span is None or any(p[:len(path)] == path and where.startswith(ENV_PREFIX)
                               for p, where in self.origins.items()):
            return None
        start, end, line, column = span
        return "\n" * line + " " * column + self.text[start:end]

    def where(self, path: Path_) -> str:
        """Where ``path`` was set (a line or an environment variable), or the nearest
        enclosing section's place."""
        if path in self.origins:
            return self.origins[path]
        below = sorted(where for p, where in self.origins.items() if p[:len(path)] == path)
        if below:  # a section made by an environment variable that set a field inside
            return below[0]
        for end in range(len(path) - 1, -1, -1):
            if path[:end] in self.origins:
                return self.origins[path[:end]]
        return "line 1"

    def with_env(self, env: Mapping[str, str]) -> ConfigSource:
        """Overrides from ``RTP_CONFIG__A__B=value`` variables (names are lower-cased).

        >>> ConfigSource.parse("").with_env({"RTP_CONFIG__DETECTORS__RAGE_CLICK__MIN_CLICKS":
        ...                                  "4"}).values
        {'detectors': {'rage_click': {'min_clicks': 4}}}
        """
        values = _copy(self.values)
        origins = dict(self.origins)
        errors = []
        for var in sorted(env):
            if not var.startswith(ENV_PREFIX):
                continue
            path = tuple(part.lower() for part in var[len(ENV_PREFIX):].split("__"))
            if not all(path):
                errors.append(f"{var}: name the field as {ENV_PREFIX}SECTION__FIELD")
                continue
            try:
                value = load(env[var])
            except yaml.YAMLError as exc:
                errors.append(f"{var}: not a YAML value: {exc}")
                continue
            here = values
            for part in path[:-1]:
                inner = here.setdefault(part, {})
                if not isinstance(inner, dict):
                    errors.append(f"{var}: field {'.'.join(path)}: {part} is not a section")
                    break
                here = inner
            else:
                here[path[-1]] = value
                origins[path] = var
        if errors:
            raise ConfigError(errors, self.name)
        return ConfigSource(values, origins, self.name, self.text, self.spans)


def _copy(values: Any) -> Any:
    if isinstance(values, dict):
        return {k: _copy(v) for k, v in values.items()}
    return values
