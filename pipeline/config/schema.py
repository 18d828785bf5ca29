"""The config file's schema: what each field is, checked with the field's name and line.

Sections map onto the engine's frozen option dataclasses, so a threshold added there is
configurable here without a change:

- ``objective``: :class:`~pipeline.config.objective.Objective` (first in the file),
- ``catalog``: the action catalog, a file name or the catalog inline
  (:mod:`pipeline.config.catalog`; default: the built-in ``deploy/catalog/actions.yaml``),
- ``experiments``: ``salt``, ``control_share``,
- ``consent``: ``mode``: ``opt-out`` (personalize until a visitor opts out) or ``opt-in``
  (nothing until consent is granted),
- ``detectors``: :class:`~pipeline.signals.SignalOptions` (cool-down, enabled rules,
  every rule's thresholds),
- ``rewards``: :class:`~pipeline.feedback.options.RewardOptions` (weights on top of the
  objective's, reward wait),
- ``guardrails``: :class:`~pipeline.decide.GuardrailOptions` (global delivery caps and the
  compliance zones, a list of :class:`~pipeline.decide.ComplianceZone` sections: ``name``,
  ``sectors``, ``page_types``, ``categories``; no offers on their pages),
- ``privacy``: :class:`PrivacyConfig` (the privacy settings the engine has: how long an
  idle visitor's state is kept, and what the profile side keeps of traits).

Numbers outside ``rewards`` (whose weights may be negative) must not be negative: caps,
thresholds, windows and cool-downs are counts and durations.

>>> from pipeline.config.source import ConfigSource
>>> config = RtpConfig.from_source(ConfigSource.parse(
...     "objective: revenue\\nexperiments:\\n  control_share: 0.2\\n"))
>>> config.objective.value, config.experiments.control_share, config.rewards.revenue_weight
('revenue', 0.2, 0.01)
>>> try:
...     RtpConfig.from_source(ConfigSource.parse("experiments:\\n  control_share: 1.5\\n"))
... except ConfigError as exc:
...     print(exc.problems)
['line 2: field experiments.control_share: must be within [0, 1) (got 1.5)']
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from pipeline.config.catalog import CatalogConfig, builtin_catalog
from pipeline.config.errors import ConfigError
from pipeline.config.objective import Objective
from pipeline.config.source import ENV_PREFIX, ConfigSource, Path_
from pipeline.decide import GuardrailOptions
from pipeline.decide.errors import CatalogError
from pipeline.feedback.options import RewardOptions
from pipeline.profiles import ProfileOptions
from pipeline.sessions import SessionOptions
from pipeline.signals import SignalOptions

__all__ = ["ConsentMode", "ExperimentConfig", "PrivacyConfig", "RtpConfig"]


class ConsentMode(Enum):
    """``opt-out``: personalized until the visitor opts out; ``opt-in``: not until granted."""

    OPT_OUT = "opt-out"
    OPT_IN = "opt-in"


@dataclass(frozen=True)
class ExperimentConfig:
    """The control-group experiment.

    >>> ExperimentConfig().control_share
    0.1
    """

    #: Salt of the arm assignment; a new salt reshuffles everyone (a new experiment).
    salt: str = "rtp"
    #: Share of visitors in the control group, in [0, 1).
    control_share: float = 0.10

    def __post_init__(self) -> None:
        if not 0.0 <= self.control_share < 1.0:
            raise ValueError(f"control_share: must be within [0, 1) (got {self.control_share})")
        if not self.salt:
            raise ValueError("salt: must not be empty")


@dataclass(frozen=True)
class PrivacyConfig:
    """Privacy settings that exist in the engine (perishable state, trait minimisation).

    >>> PrivacyConfig().state_ttl_ms, PrivacyConfig().max_traits
    (7200000, 32)
    >>> PrivacyConfig(state_ttl_ms=60_000)
    Traceback (most recent call last):
    ...
    ValueError: state_ttl_ms: must be at least the session inactivity gap (1800000 ms), got 60000
    """

    #: A visitor's state (session, signals, pending rewards) idle this long is deleted
    #: (:class:`~pipeline.sessions.SessionOptions`; at least the session gap).
    state_ttl_ms: int = SessionOptions().state_ttl_ms
    #: Trait keys the profile side drops, on top of its built-in personal-data deny-list.
    denied_trait_keys: frozenset[str] = frozenset()
    #: Free-form traits kept per person; further new keys are dropped.
    max_traits: int = ProfileOptions().max_traits
    #: Longest trait key or value kept (longer ones are dropped, never truncated).
    max_trait_chars: int = ProfileOptions().max_trait_chars
    #: Values the collector keeps as sent in id and vocabulary fields although they are not
    #: machine words (multi-word or capitalised categories or event names a guardrail,
    #: detector or report must read); every other such value becomes a keyed token
    #: (:func:`pipeline.collector.minimise.is_machine_word`). Read by ``rtp collector
    #: --config`` and ``rtp erase --config`` at start (with the compliance zones'
    #: categories, :meth:`RtpConfig.collector_vocabulary`).
    vocabulary: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        gap = SessionOptions().inactivity_gap_ms
        if self.state_ttl_ms < gap:
            raise ValueError(f"state_ttl_ms: must be at least the session inactivity gap "
                             f"({gap} ms), got {self.state_ttl_ms}")
        if self.max_trait_chars < 1:
            raise ValueError(f"max_trait_chars: must be at least 1, got {self.max_trait_chars}")


@dataclass(frozen=True)
class ConsentConfig:
    """The consent regime (see :class:`ConsentMode`)."""

    mode: ConsentMode = ConsentMode.OPT_OUT


@dataclass(frozen=True)
class RtpConfig:
    """The whole config file, validated.

    >>> RtpConfig().consent.mode.value
    'opt-out'
    """

    objective: Objective = Objective.CONVERSION
    catalog: CatalogConfig = field(default_factory=builtin_catalog)
    experiments: ExperimentConfig = field(default_factory=ExperimentConfig)
    consent: ConsentConfig = field(default_factory=ConsentConfig)
    detectors: SignalOptions = field(default_factory=SignalOptions)
    rewards: RewardOptions = field(default_factory=lambda: Objective.CONVERSION.rewards())
    guardrails: GuardrailOptions = field(default_factory=GuardrailOptions)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)

    def collector_vocabulary(self) -> frozenset[str]:
        """What the collector keeps as sent in id and vocabulary fields whatever its shape:
        ``privacy.vocabulary`` and the categories the compliance zones name (a guardrail
        must see a category as its config spells it, ``Pharmacy`` too, not as a token).

        >>> sorted(RtpConfig().collector_vocabulary())
        ['health', 'medical', 'pharmacy']
        """
        zones = frozenset(c for zone in self.guardrails.compliance_zones for c in zone.categories)
        return self.privacy.vocabulary | zones

    @classmethod
    def from_source(cls, source: ConfigSource) -> RtpConfig:
        """Validate ``source``: every problem is reported at once (:class:`ConfigError`),
        each with its field and line (or environment variable)."""
        errors: list[str] = []
        values = source.values
        objective = Objective.CONVERSION
        if "objective" in values:
            try:
                objective = Objective.parse(str(values["objective"]))
            except ValueError as exc:
                errors.append(_problem(source, ("objective",), str(exc)))
        base = dataclasses.replace(cls(), objective=objective, rewards=objective.rewards())
        if "catalog" in values:
            catalog = _catalog(source, errors)
            if catalog is not None:
                base = dataclasses.replace(base, catalog=catalog)
        built = _build(base, values, (), source, errors)
        if errors:
            raise ConfigError(errors, source.name)
        return typing.cast(RtpConfig, built)

    def to_dict(self) -> dict[str, Any]:
        """The effective config as plain YAML-able values, every field included.

        >>> RtpConfig().to_dict()["experiments"]
        {'salt': 'rtp', 'control_share': 0.1}
        """
        return typing.cast(dict[str, Any], _plain(self))


def _catalog(source: ConfigSource, errors: list[str]) -> CatalogConfig | None:
    """The ``catalog`` field: a file name, or the catalog inline (None: a problem).

    >>> errors: list[str] = []
    >>> _catalog(ConfigSource.parse("catalog:\\n  version: 1\\n  actions: []\\n"), errors)
    >>> errors
    ["line 3: field catalog: catalog: 'actions' must be a non-empty list of actions"]
    """
    value = source.values["catalog"]
    here = ("catalog",)
    try:
        if isinstance(value, str):
            from_file = source.where(here).startswith("line") and Path(source.name).is_file()
            base = Path(source.name).parent if from_file else Path.cwd()
            return CatalogConfig.read(base / value)
        if isinstance(value, dict):
            text = source.text_of(here)
            if text is None:
                where = min(w for p, w in source.origins.items()
                            if p[:1] == here and w.startswith(ENV_PREFIX))
                errors.append(f"{where}: field catalog: set the whole catalog from the "
                              "environment, as a file name: RTP_CONFIG__CATALOG=FILE")
                return None
            return CatalogConfig.parse(text, source.name)
    except CatalogError as exc:
        if isinstance(value, str):  # a problem in the named file: its own name and line
            errors.append(_problem(source, here, str(exc)))
        else:
            errors.append(f"line {exc.line}: field catalog: {exc.reason}")
        return None
    errors.append(_problem(source, here, "must be a catalog file's name or the catalog "
                                         "itself (a section with version and actions)"))
    return None


def _check_sign(path: Path_, value: Any) -> None:
    """:class:`ValueError` for a negative number outside ``rewards``.

    >>> _check_sign(("guardrails", "max_actions_per_session"), -1)
    Traceback (most recent call last):
    ...
    ValueError: must not be negative (got -1)
    >>> _check_sign(("rewards", "dismissed"), -0.5)
    """
    if path[0] == "rewards" or isinstance(value, bool) or not isinstance(value, int | float):
        return
    if value < 0:
        raise ValueError(f"must not be negative (got {value!r})")


def _problem(source: ConfigSource, path: Path_, message: str) -> str:
    return f"{source.where(path)}: field {'.'.join(path)}: {message}"


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(current: Any, values: Any, path: Path_, source: ConfigSource,
           errors: list[str]) -> Any:
    """``current`` (a dataclass) with the fields ``values`` sets, checked recursively."""
    if not isinstance(values, dict):
        errors.append(_problem(source, path, "must be a section (a mapping of fields)"))
        return current
    hints = _hints(type(current))
    names = [f.name for f in dataclasses.fields(current)]
    changes: dict[str, Any] = {}
    for key, value in values.items():
        here = (*path, str(key))
        if key not in hints:
            errors.append(_problem(source, here, "unknown field (known: " + ", ".join(names)
                                   + ")"))
            continue
        if not path and key in ("objective", "catalog"):
            continue  # read first (objective: it sets the reward weights the file adjusts)
        old = getattr(current, key)
        if dataclasses.is_dataclass(old):
            changes[key] = _build(old, value, here, source, errors)
            continue
        item = _record_item(hints[key])
        if item is not None:  # a list of sections (compliance zones)
            records = _build_records(item, value, here, source, errors)
            if records is not None:
                changes[key] = records
            continue
        try:
            changes[key] = _convert(hints[key], value)
            _check_sign(here, changes[key])
        except ValueError as exc:
            changes.pop(key, None)
            errors.append(_problem(source, here, str(exc)))
    # The options' own checks (__post_init__): each change alone first, so that a
    # refusal is reported at the field (and line) that caused it.
    for key, value in list(changes.items()):
        try:
            dataclasses.replace(current, **{key: value})
        except (ValueError, TypeError) as exc:
            errors.append(_problem(source, (*path, key), _detail(str(exc), key)))
            del changes[key]
    try:
        return dataclasses.replace(current, **changes)
    except (ValueError, TypeError) as exc:  # only the combination is refused
        errors.append(_problem(source, path, str(exc)))
        return current


def _record_item(hint: Any) -> type | None:
    """The dataclass of a ``tuple[Dataclass, ...]`` field (None: another type)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and len(args) == 2 and args[1] is Ellipsis \
            and dataclasses.is_dataclass(args[0]):
        return typing.cast(type, args[0])
    return None


def _build_records(cls: type, values: Any, path: Path_, source: ConfigSource,
                   errors: list[str]) -> tuple[Any, ...] | None:
    """A list of sections as ``cls`` records, each field checked (None: a problem).

    >>> from pipeline.decide import ComplianceZone
    >>> source = ConfigSource.parse("zones:\\n  - name: a\\n    sectors: [finance]\\n"
    ...                             "  - sectors: [health]\\n")
    >>> errors: list[str] = []
    >>> _build_records(ComplianceZone, source.values["zones"], ("zones",), source, errors)
    >>> errors
    ['line 4: field zones.1.name: missing']
    """
    if not isinstance(values, list):
        errors.append(_problem(source, path, "must be a list of sections"))
        return None
    before = len(errors)
    hints = _hints(cls)
    fields = dataclasses.fields(cls)
    required = [f.name for f in fields if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING]
    built = []
    for index, entry in enumerate(values):
        here = (*path, str(index))
        if not isinstance(entry, dict):
            errors.append(_problem(source, here, "must be a section (a mapping of fields)"))
            continue
        kwargs: dict[str, Any] = {}
        for key, value in entry.items():
            if key not in hints:
                errors.append(_problem(source, (*here, str(key)), "unknown field (known: "
                                       + ", ".join(f.name for f in fields) + ")"))
                continue
            try:
                kwargs[key] = _convert(hints[key], value)
                _check_sign((*here, str(key)), kwargs[key])
            except ValueError as exc:
                errors.append(_problem(source, (*here, str(key)), str(exc)))
        for name in required:
            if name not in entry:
                errors.append(_problem(source, (*here, name), "missing"))
        if len(errors) == before:
            try:
                built.append(cls(**kwargs))
            except (ValueError, TypeError) as exc:
                errors.append(_problem(source, here, str(exc)))
    return tuple(built) if len(errors) == before else None


def _detail(message: str, key: str) -> str:
    """An options check's message without the field name it may start with."""
    for prefix in (f"{key}: ", f"{key} "):
        if message.startswith(prefix):
            return message[len(prefix):] if prefix.endswith(": ") else message
    return message


def _convert(hint: Any, value: Any) -> Any:
    """``value`` as the field's type (int, float, str, bool, an Enum, frozenset[str])."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None:
            return None
        return _convert(options[0], value)
    if origin is frozenset:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("must be a list of names")
        return frozenset(value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        for member in hint:
            if member.value == value:
                return member
        raise ValueError("must be one of " + ", ".join(str(m.value) for m in hint))
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false (got {value!r})")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be a whole number (got {value!r})")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number (got {value!r})")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"must be text (got {value!r})")
        return value
    raise ValueError(f"cannot be set in the config file (type {hint})")


def _plain(value: Any) -> Any:
    if isinstance(value, CatalogConfig):
        return _copy(value.values)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
