"""Errors of the decide package.

>>> str(CatalogError("deploy/catalog/actions.yaml", 12, "unknown key 'slott'"))
"deploy/catalog/actions.yaml:12: unknown key 'slott'"
"""

from __future__ import annotations

__all__ = [
    "BanditInputError",
    "BanditStateError",
    "CatalogError",
    "DecideError",
    "DecideOptionsError",
    "HistoryDecodeError",
    "TemplateError",
]


class DecideError(ValueError):
    """Base class of the decide package's errors.

    >>> issubclass(CatalogError, DecideError)
    True
    """


class CatalogError(DecideError):
    """The action catalog is broken; the message names the file and the 1-based line.

    >>> error = CatalogError("actions.yaml", 3, "missing field 'slot'")
    >>> error.source, error.line, error.reason
    ('actions.yaml', 3, "missing field 'slot'")
    """

    def __init__(self, source: str, line: int, reason: str) -> None:
        super().__init__(f"{source}:{line}: {reason}")
        self.source = source
        self.line = line
        self.reason = reason


class BanditStateError(DecideError):
    """Serialized bandit state is unreadable or does not fit this featurizer.

    >>> str(BanditStateError("dimension 3 != 5"))
    'dimension 3 != 5'
    """


class BanditInputError(DecideError):
    """A context vector, reward or eligible set the bandit cannot use.

    >>> str(BanditInputError("no eligible action"))
    'no eligible action'
    """


class DecideOptionsError(DecideError):
    """An option of the decide package is out of range.

    >>> str(DecideOptionsError("epsilon 2 must be in [0, 1]"))
    'epsilon 2 must be in [0, 1]'
    """


class TemplateError(DecideError):
    """A payload template uses more than plain ``{name}`` placeholders.

    >>> str(TemplateError("placeholder {x.y} must be a plain {name}"))
    'placeholder {x.y} must be a plain {name}'
    """


class HistoryDecodeError(DecideError):
    """Serialized decision history is unreadable.

    >>> str(HistoryDecodeError("bad bytes"))
    'bad bytes'
    """
