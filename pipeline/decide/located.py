"""YAML with line numbers, and a small reader that validates fields and blames the right line.

PyYAML's ``compose`` keeps the position of every node; :func:`load_located` turns the node
tree into plain ``dict``/``list`` subclasses that remember the 1-based line of each key and
item, so every validation error can name ``file:line``.

>>> data = load_located("version: 1\\nactions:\\n  - id: a\\n", "actions.yaml")
>>> data["actions"][0]["id"], line_of(data["actions"][0], "id")
('a', 3)
>>> load_located("a: 1\\na: 2\\n", "x.yaml")
Traceback (most recent call last):
...
pipeline.decide.errors.CatalogError: x.yaml:2: duplicate key 'a'
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

import yaml

from pipeline.decide.errors import CatalogError
from pipeline.yaml12 import SafeLoader12

__all__ = ["Fields", "LocatedDict", "LocatedList", "content_fingerprint", "line_of",
           "load_located", "number_value"]


def content_fingerprint(data: Any) -> str:
    """SHA-256 of YAML-read ``data``'s content: key order, layout, comments and whether it
    came from its own file or a config file's section do not count.

    >>> content_fingerprint(load_located("b: 2\\na: 1 # c\\n", "x")) == content_fingerprint(
    ...     {"a": 1, "b": 2})
    True
    """
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class LocatedDict(dict[str, Any]):
    """A mapping from YAML that knows its own line and the line of each key.

    >>> LocatedDict({"a": 1}, line=4, key_lines={"a": 5}).key_lines["a"]
    5
    """

    def __init__(self, items: Mapping[str, Any], line: int, key_lines: Mapping[str, int]) -> None:
        super().__init__(items)
        self.line = line
        self.key_lines = dict(key_lines)


class LocatedList(list[Any]):
    """A sequence from YAML that knows its own line and the line of each item.

    >>> LocatedList([1, 2], line=7, item_lines=[7, 8]).item_lines[1]
    8
    """

    def __init__(self, items: Iterable[Any], line: int, item_lines: Iterable[int]) -> None:
        super().__init__(items)
        self.line = line
        self.item_lines = list(item_lines)


def line_of(container: Any, key: str | int | None = None, default: int = 0) -> int:
    """Line of ``container[key]`` (or of ``container``) when known, else ``default``.

    >>> line_of({"plain": "dict"}, "plain", default=9)
    9
    """
    if isinstance(container, LocatedDict):
        if isinstance(key, str) and key in container.key_lines:
            return container.key_lines[key]
        return container.line
    if isinstance(container, LocatedList):
        if isinstance(key, int) and 0 <= key < len(container.item_lines):
            return container.item_lines[key]
        return container.line
    return default


def _convert(node: yaml.Node, source: str, constructor: yaml.SafeLoader) -> Any:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode):
        return constructor.construct_object(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return LocatedList(
            (_convert(item, source, constructor) for item in node.value),
            line=line,
            item_lines=[item.start_mark.line + 1 for item in node.value],
        )
    if isinstance(node, yaml.MappingNode):
        items: dict[str, Any] = {}
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            key = _convert(key_node, source, constructor)
            if not isinstance(key, str):
                raise CatalogError(source, key_line, f"keys must be strings, got {key!r}")
            if key in items:
                raise CatalogError(source, key_line, f"duplicate key {key!r}")
            items[key] = _convert(value_node, source, constructor)
            key_lines[key] = key_line
        return LocatedDict(items, line=line, key_lines=key_lines)
    raise CatalogError(source, line, f"unsupported YAML node {type(node).__name__}")


def load_located(text: str, source: str) -> Any:
    """Parse YAML ``text`` into located values; broken YAML raises :class:`CatalogError`.

    >>> try:
    ...     load_located("a: [1,\\nb: 2", "bad.yaml")
    ... except CatalogError as error:
    ...     print(error.line, "invalid YAML" in error.reason)
    2 True
    """
    try:
        node = yaml.compose(text, Loader=SafeLoader12)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = error.problem or error.context or "syntax error"
        context = error.context_mark
        if error.context and context is not None and context.line + 1 != line:
            problem += f" ({error.context} started on line {context.line + 1})"
        raise CatalogError(source, line, f"invalid YAML: {problem}") from error
    except yaml.YAMLError as error:
        raise CatalogError(source, 1, f"invalid YAML: {error}") from error
    if node is None:
        return None
    try:
        return _convert(node, source, SafeLoader12(""))
    except yaml.constructor.ConstructorError as error:
        mark = error.problem_mark
        raise CatalogError(
            source, mark.line + 1 if mark else 1, f"invalid YAML value: {error.problem}"
        ) from error


class Fields:
    """Typed, line-aware access to one YAML mapping (or a plain dict, with a base line).

    Every accessor raises :class:`CatalogError` naming ``source:line`` and the field.

    >>> fields = Fields({"ttl_seconds": "soon"}, "a.yaml", 4, what="action 'x'")
    >>> try:
    ...     fields.integer("ttl_seconds")
    ... except CatalogError as error:
    ...     print(error)
    a.yaml:4: action 'x': 'ttl_seconds' must be an integer, got 'soon'
    """

    def __init__(self, data: Any, source: str, line: int, what: str) -> None:
        self.source = source
        self.what = what
        self.line = line_of(data, None, line)
        if not isinstance(data, Mapping):
            self.fail(None, f"must be a mapping, got {_describe(data)}")
        self.data: Mapping[str, Any] = data

    def line_for(self, key: str | None) -> int:
        """Line of ``key`` (or of the mapping).

        >>> Fields({}, "a.yaml", 3, "x").line_for("anything")
        3
        """
        if key is None:
            return self.line
        return line_of(self.data, key, self.line) if hasattr(self, "data") else self.line

    def fail(self, key: str | None, reason: str, line: int | None = None) -> NoReturn:
        """Raise :class:`CatalogError` about ``key``.

        >>> Fields({}, "a.yaml", 3, "action 'x'").fail("slot", "is wrong")
        Traceback (most recent call last):
        ...
        pipeline.decide.errors.CatalogError: a.yaml:3: action 'x': 'slot' is wrong
        """
        subject = f"{self.what}: {key!r} {reason}" if key is not None else f"{self.what} {reason}"
        raise CatalogError(self.source, line if line is not None else self.line_for(key), subject)

    def check_keys(self, allowed: Iterable[str], required: Iterable[str] = ()) -> None:
        """Unknown keys and missing required keys are errors.

        >>> Fields({"idd": 1}, "a.yaml", 2, "action").check_keys(["id"])
        Traceback (most recent call last):
        ...
        pipeline.decide.errors.CatalogError: a.yaml:2: action: 'idd' is not a known key (known: id)
        """
        allowed_set = set(allowed)
        for key in self.data:
            if key not in allowed_set:
                self.fail(key, f"is not a known key (known: {', '.join(sorted(allowed_set))})")
        for key in required:
            if key not in self.data:
                self.fail(None, f"is missing the required field {key!r}")

    def has(self, key: str) -> bool:
        """Whether the mapping has ``key``.

        >>> Fields({"a": None}, "a.yaml", 1, "x").has("a")
        True
        """
        return key in self.data

    def string(self, key: str, default: str | None = None) -> str:
        """A non-empty string field.

        >>> Fields({"id": "hero"}, "a.yaml", 1, "x").string("id")
        'hero'
        """
        value = self.data.get(key, default)
        if not isinstance(value, str) or not value:
            self.fail(key, f"must be a non-empty string, got {_describe(value)}")
        return str(value)

    def integer(self, key: str, default: int | None = None, minimum: int = 0) -> int:
        """An integer field (booleans are not integers here).

        >>> Fields({"n": 3}, "a.yaml", 1, "x").integer("n")
        3
        """
        value = self.data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(key, f"must be an integer, got {_describe(value)}")
        if value < minimum:
            self.fail(key, f"must be >= {minimum}, got {value}")
        return int(value)

    def optional_integer(self, key: str, minimum: int = 0) -> int | None:
        """An integer field that may be absent or null.

        >>> Fields({}, "a.yaml", 1, "x").optional_integer("n") is None
        True
        """
        if self.data.get(key) is None:
            return None
        return self.integer(key, minimum=minimum)

    def number(self, key: str, low: float = -math.inf, high: float = math.inf) -> float:
        """A finite number in [low, high].

        >>> Fields({"p": 0.5}, "a.yaml", 1, "x").number("p", 0.0, 1.0)
        0.5
        """
        value = self.data.get(key)
        return number_value(value, lambda reason: self.fail(key, reason), low, high)

    def boolean(self, key: str, default: bool = False) -> bool:
        """A boolean field.

        >>> Fields({"offer": True}, "a.yaml", 1, "x").boolean("offer")
        True
        """
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, got {_describe(value)}")
        return bool(value)

    def names(self, key: str, allowed: Iterable[str] | None = None) -> frozenset[str]:
        """A list of strings, each from ``allowed`` when given (absent: empty set).

        >>> sorted(Fields({"s": ["saas", "travel"]}, "a.yaml", 1, "x").names("s"))
        ['saas', 'travel']
        """
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, f"must be a list of strings, got {_describe(value)}")
        allowed_set = set(allowed) if allowed is not None else None
        for index, item in enumerate(value):
            if allowed_set is not None and item not in allowed_set:
                self.fail(
                    key,
                    f"has unknown value {item!r} (known: {', '.join(sorted(allowed_set))})",
                    line=line_of(value, index, self.line_for(key)),
                )
        return frozenset(value)

    def mapping(self, key: str) -> Fields:
        """A nested mapping, as :class:`Fields` (absent: empty).

        >>> Fields({"caps": {"per_session": 1}}, "a.yaml", 1, "x").mapping("caps").data
        {'per_session': 1}
        """
        value = self.data.get(key, {})
        if value is None:
            value = {}
        return Fields(value, self.source, self.line_for(key), f"{self.what}: {key!r}")

    def string_map(self, key: str) -> dict[str, str]:
        """A mapping of string to string (numbers and booleans are refused, quote them).

        >>> Fields({"payload": {"title": "Hi"}}, "a.yaml", 1, "x").string_map("payload")
        {'title': 'Hi'}
        """
        nested = self.mapping(key)
        result: dict[str, str] = {}
        for name, value in nested.data.items():
            if not isinstance(value, str):
                nested.fail(name, f"must be a string, got {_describe(value)} (quote it)")
            result[name] = value
        return result


def number_value(value: Any, fail: Any, low: float = -math.inf, high: float = math.inf) -> float:
    """Validate a finite number in [low, high]; ``fail(reason)`` must raise.

    >>> number_value(3, print)
    3.0
    """
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        fail(f"must be a finite number, got {_describe(value)}")
    if not low <= float(value) <= high:
        fail(f"must be between {low} and {high}, got {value}")
    return float(value)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"boolean {value!r}".lower()
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)
