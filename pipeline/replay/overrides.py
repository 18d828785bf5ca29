"""Candidate configurations: override fields of :class:`~pipeline.engine.EngineOptions` from a file.

An analyst asks "what would this have done with other thresholds?" by writing
the fields to change, nested like the options dataclasses (or as dotted keys),
in JSON or YAML, and replaying with ``rtp replay --options FILE``::

    signals:
      hesitation: {min_dwell_ms: 20000}
    decider:
      control_share: 0.2
      bandit: {alpha: 1.0, epsilon: 0.05}
    "intent.cutoffs.high_intent": 0.6

Every key is checked against the dataclass it lands in: an unknown key is an
error naming the closest known ones, and every value is checked against the
field's type (``bool`` is not an ``int``, an ``int`` is accepted for a
``float``, lists become ``frozenset``/``tuple``, relative paths are resolved
against the options file's folder). The options' own checks (``__post_init__``)
run too, and their messages name the key at fault. Errors are
:class:`~pipeline.replay.errors.OptionsOverrideError`.

>>> from pipeline.engine import EngineOptions
>>> opts = apply_overrides(EngineOptions(), {"decider": {"bandit": {"epsilon": 0.05}},
...                                          "signals.hesitation.min_dwell_ms": 20000})
>>> opts.decider.bandit.epsilon, opts.signals.hesitation.min_dwell_ms
(0.05, 20000)
>>> apply_overrides(EngineOptions(), {"decider": {"bandit": {"alpah": 1.0}}})
Traceback (most recent call last):
...
pipeline.replay.errors.OptionsOverrideError: overrides: decider.bandit.alpah: unknown option \
(did you mean 'alpha'?); known: alpha, epsilon, epsilon_decay, epsilon_start, exploration, ridge, \
seed, temperature
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from pipeline import yaml12
from pipeline.decide import CatalogError, load_catalog
from pipeline.engine import EngineOptions
from pipeline.replay.errors import OptionsOverrideError

__all__ = ["apply_overrides", "engine_options", "load_overrides", "sets_control_share"]

T = TypeVar("T")

_MISSING = object()


def load_overrides(path: str | Path) -> dict[str, Any]:
    """Read an overrides file: JSON (``.json``) or YAML (anything else); a mapping at the top.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "o.yaml"
    >>> _ = p.write_text("decider:\\n  control_share: 0.2\\n")
    >>> load_overrides(p)
    {'decider': {'control_share': 0.2}}
    >>> _ = p.write_text("- 1\\n")
    >>> load_overrides(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.replay.errors.OptionsOverrideError: .../o.yaml: the file must hold a mapping ...
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise OptionsOverrideError(source, "", f"cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(text) if source.suffix.lower() == ".json" else yaml12.load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise OptionsOverrideError(source, "", f"not valid JSON/YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise OptionsOverrideError(
            source, "", f"the file must hold a mapping of option names, got {type(data).__name__}"
        )
    return dict(data)


def sets_control_share(overrides: Mapping[str, Any]) -> bool:
    """Whether an overrides mapping sets ``decider.control_share`` (nested or dotted).

    >>> sets_control_share({"decider": {"control_share": 0.2}})
    True
    >>> sets_control_share({"decider.control_share": 0.2}), sets_control_share({"decider": {}})
    (True, False)
    """
    if "decider.control_share" in overrides:
        return True
    decider = overrides.get("decider")
    return isinstance(decider, Mapping) and "control_share" in decider


def _nest(overrides: Mapping[str, Any], source: str, prefix: str) -> dict[str, Any]:
    """Expand dotted keys (``a.b.c: 1``) into nested mappings, refusing contradictions."""
    nested: dict[str, Any] = {}
    for raw_key, value in overrides.items():
        if not isinstance(raw_key, str) or not raw_key:
            raise OptionsOverrideError(source, prefix,
                                       f"option names must be text, got {raw_key!r}")
        head, _, rest = raw_key.partition(".")
        if rest:
            value = {rest: value}
        if head in nested and isinstance(nested[head], dict) and isinstance(value, Mapping):
            nested[head] = {**nested[head], **_nest(value, source, _join(prefix, head))}
        elif head in nested:
            raise OptionsOverrideError(source, _join(prefix, head), "set twice")
        else:
            nested[head] = _nest(value, source, _join(prefix, head)) if isinstance(
                value, Mapping) else value
    return nested


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _coerce(value: Any, hint: Any, current: Any, key: str, ctx: _Context) -> Any:
    """``value`` converted to the field type ``hint``, or an error naming ``key``."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, current, key, ctx)
            except OptionsOverrideError as exc:
                errors.append(exc.reason)
        raise OptionsOverrideError(ctx.source, key, " or ".join(errors))
    if origin is typing.Literal:
        if value in args:
            return value
        raise OptionsOverrideError(ctx.source, key, f"must be one of {list(args)}, got {value!r}")
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if not isinstance(value, Mapping):
            raise OptionsOverrideError(ctx.source, key, f"expected a mapping of {hint.__name__} "
                                                        f"fields, got {value!r}")
        base = current if dataclasses.is_dataclass(current) else _MISSING
        return _build(hint, base, value, key, ctx)
    if origin in (frozenset, set, tuple, list) or hint in (frozenset, set, tuple, list):
        if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
            raise OptionsOverrideError(ctx.source, key, f"expected a list, got {value!r}")
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                raise OptionsOverrideError(ctx.source, key,
                                           f"expected {len(args)} items, got {len(value)}")
            return tuple(_coerce(v, a, None, f"{key}[{i}]", ctx)
                         for i, (v, a) in enumerate(zip(value, args, strict=True)))
        item = args[0] if args else Any
        items = [_coerce(v, item, None, f"{key}[{i}]", ctx) for i, v in enumerate(value)]
        container = origin or hint
        return container(items)
    if hint is Any:
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif hint is Path or (isinstance(hint, type) and issubclass(hint, Path)):
        if isinstance(value, str) and value:
            path = Path(value).expanduser()
            return path if path.is_absolute() else (ctx.base_dir / path).resolve()
    else:
        raise OptionsOverrideError(ctx.source, key,
                                   f"options of type {_type_name(hint)} cannot be set from a file")
    raise OptionsOverrideError(ctx.source, key,
                               f"expected {_type_name(hint)}, got {value!r}")


@dataclasses.dataclass(frozen=True)
class _Context:
    source: str
    base_dir: Path


def _build(cls: type[T], base: Any, overrides: Mapping[str, Any], prefix: str,
           ctx: _Context) -> T:
    """``base`` (or a default ``cls()``) with ``overrides`` applied and validated."""
    assert dataclasses.is_dataclass(cls)
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError) as exc:  # pragma: no cover - a broken dataclass
        raise OptionsOverrideError(ctx.source, prefix,
                                   f"cannot inspect {cls.__name__}: {exc}") from None
    settable = {f.name: f for f in dataclasses.fields(cls)
                if f.init and f.metadata.get("overridable", True)}
    changes: dict[str, Any] = {}
    for name, value in overrides.items():
        key = _join(prefix, name)
        if name not in settable:
            close = difflib.get_close_matches(name, list(settable), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise OptionsOverrideError(ctx.source, key, f"unknown option{hint}; known: "
                                                        f"{', '.join(sorted(settable))}")
        current = getattr(base, name) if base is not _MISSING else None
        changes[name] = _coerce(value, hints[name], current, key, ctx)
    try:
        if base is _MISSING:
            return cls(**changes)
        return typing.cast(T, dataclasses.replace(base, **changes))
    except (ValueError, TypeError) as exc:
        raise OptionsOverrideError(ctx.source, prefix or cls.__name__, str(exc)) from None


def apply_overrides(options: T, overrides: Mapping[str, Any], source: str | Path = "overrides",
                    base_dir: str | Path | None = None) -> T:
    """A copy of the ``options`` dataclass with ``overrides`` (nested or dotted keys) applied.

    ``source`` names the overrides in error messages; relative paths are
    resolved against ``base_dir`` (default: the current directory).

    >>> from pipeline.engine import EngineOptions
    >>> apply_overrides(EngineOptions(), {"decider.control_share": "a lot"})
    Traceback (most recent call last):
    ...
    pipeline.replay.errors.OptionsOverrideError: overrides: decider.control_share: expected \
float, got 'a lot'
    >>> apply_overrides(EngineOptions(), {"sessions": {"allowed_lateness_ms": 3_600_000}})
    Traceback (most recent call last):
    ...
    pipeline.replay.errors.OptionsOverrideError: overrides: sessions: allowed_lateness_ms must \
be shorter than inactivity_gap_ms
    """
    if not dataclasses.is_dataclass(options) or isinstance(options, type):
        raise TypeError("apply_overrides needs a dataclass instance")
    ctx = _Context(str(source), Path(base_dir) if base_dir is not None else Path.cwd())
    nested = _nest(overrides, ctx.source, "")
    return _build(type(options), options, nested, "", ctx)


def engine_options(options_file: str | Path | None = None, catalog: str | Path | None = None,
                   seed: int | None = None, base: EngineOptions | None = None) -> EngineOptions:
    """The :class:`~pipeline.engine.EngineOptions` of a replay: defaults, file, catalog, seed.

    ``catalog`` replaces ``catalog_path`` (after the file); ``seed`` sets both
    the bandit's draw seed and the intent model's seed. A missing catalog file
    is an error here, before any event is read.

    >>> engine_options(seed=3).decider.bandit.seed, engine_options(seed=3).intent.seed
    (3, 3)
    >>> engine_options(catalog="/nonexistent/actions.yaml")
    Traceback (most recent call last):
    ...
    pipeline.replay.errors.OptionsOverrideError: --catalog: catalog_path: no such file: \
/nonexistent/actions.yaml
    """
    opts = base if base is not None else EngineOptions()
    if options_file is not None:
        path = Path(options_file)
        opts = apply_overrides(opts, load_overrides(path), path, path.resolve().parent)
    if catalog is not None:
        opts = dataclasses.replace(opts, catalog_path=Path(catalog).expanduser().resolve())
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise OptionsOverrideError("--seed", "seed", f"expected int, got {seed!r}")
        decider = opts.decider
        opts = dataclasses.replace(
            opts,
            decider=dataclasses.replace(decider, bandit=dataclasses.replace(decider.bandit,
                                                                            seed=seed)),
            intent=dataclasses.replace(opts.intent, seed=seed),
        )
    source = "--catalog" if catalog is not None else str(options_file or "options")
    if not Path(opts.catalog_path).is_file():
        raise OptionsOverrideError(source, "catalog_path", f"no such file: {opts.catalog_path}")
    try:
        load_catalog(opts.catalog_path)
    except CatalogError as exc:
        raise OptionsOverrideError(source, "catalog_path", str(exc)) from None
    return opts
