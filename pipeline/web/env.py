"""Options dataclasses from ``RTP_<SERVICE>_*`` environment variables.

Each field of a frozen options dataclass maps to ``<prefix><FIELD_NAME>``; the
type of the field's default decides how the text is read (bool, int, float,
str, tuples of strings as comma-separated lists). Unset or empty variables keep
the default. Nothing else reads the environment: tests pass a mapping.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Opts:
...     port: int = 8080
...     origins: tuple[str, ...] = ()
...     debug: bool = False
>>> options_from_env(Opts, "RTP_X_", {"RTP_X_PORT": "9000", "RTP_X_ORIGINS": "a, b",
...                                   "RTP_X_DEBUG": "yes"})
Opts(port=9000, origins=('a', 'b'), debug=True)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = ["OptionsError", "env_names", "options_from_env"]

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class OptionsError(ValueError):
    """An environment variable holds a value of the wrong type for its option.

    >>> issubclass(OptionsError, ValueError)
    True
    """


def env_names(cls: type[Any], prefix: str) -> dict[str, str]:
    """Field name -> environment variable name for options class ``cls``.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class O:
    ...     http_port: int = 1
    >>> env_names(O, "RTP_DELIVERY_")
    {'http_port': 'RTP_DELIVERY_HTTP_PORT'}
    """
    return {f.name: prefix + f.name.upper() for f in dataclasses.fields(cls)}


def _default_of(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def _parse(var: str, raw: str, default: Any) -> Any:
    text = raw.strip()
    if isinstance(default, bool):
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise OptionsError(f"{var} must be true or false, got {raw!r}")
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            raise OptionsError(f"{var} must be an integer, got {raw!r}") from None
    if isinstance(default, float):
        try:
            return float(text)
        except ValueError:
            raise OptionsError(f"{var} must be a number, got {raw!r}") from None
    if isinstance(default, tuple | frozenset):
        items = tuple(p.strip() for p in text.split(",") if p.strip())
        return frozenset(items) if isinstance(default, frozenset) else items
    return raw


def options_from_env(cls: type[T], prefix: str, env: Mapping[str, str] | None = None,
                     **overrides: Any) -> T:
    """Build ``cls`` from ``env`` (default ``os.environ``); ``overrides`` (not None) win.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class O:
    ...     n: int = 1
    >>> options_from_env(O, "P_", {"P_N": "x"})
    Traceback (most recent call last):
    ...
    pipeline.web.env.OptionsError: P_N must be an integer, got 'x'
    >>> options_from_env(O, "P_", {"P_N": "2"}, n=None).n, options_from_env(O, "P_", {}, n=3).n
    (2, 3)
    """
    source = os.environ if env is None else env
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        var = prefix + field.name.upper()
        raw = source.get(var)
        if raw is not None and raw.strip() != "":
            values[field.name] = _parse(var, raw, _default_of(field))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return cls(**values)
