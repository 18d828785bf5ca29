"""Building frozen dataclasses on the hot path without their generated ``__init__``.

A frozen dataclass's ``__init__`` sets each field with ``object.__setattr__`` (a global
look-up and a call per field, about 0.1 µs each): the decision path builds some twenty of
them per decided event (the decision context, its views, the outcome, the history, the
bandit's scores, the outputs...). :func:`maker` compiles, once per class, a constructor
that takes every field positionally (in the class's order, defaults and ``init=False``
fields included, but not an ``init=False`` field with a default value, a cache, which the
instance reads from the class as after ``__init__``) and sets them with
``object.__setattr__`` held in its namespace: the same object as the class builds (equal,
same hash, same repr, still frozen: its ``__setattr__`` is the class's), at about two
thirds of the cost (no call through the class, no keyword binding, no look-up of
``object.__setattr__`` per field). The fields are set one by one, as ``__init__`` sets
them, so the instance keeps CPython's compact attribute storage: giving it a whole
``__dict__`` instead (tried) made every later read of its fields about 30% slower.

It runs no ``__post_init__``: a caller of the maker of a class that has one computes what
it would (see :meth:`DecisionContext.view <pipeline.decide.context.DecisionContext.view>`).
It refuses a class that is not a frozen dataclass (a mutable one's ``__init__`` is cheap
already). tests/unit/test_frozen.py compares its objects with the class's own.

>>> from dataclasses import FrozenInstanceError, dataclass
>>> @dataclass(frozen=True)
... class Point:
...     x: int
...     y: int = 0
>>> new_point = maker(Point)
>>> new_point(1, 2), new_point(1, 2) == Point(1, 2), hash(new_point(1, 2)) == hash(Point(1, 2))
(Point(x=1, y=2), True, True)
>>> new_point(1, 2).x = 3
Traceback (most recent call last):
...
dataclasses.FrozenInstanceError: cannot assign to field 'x'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, fields, is_dataclass
from typing import Any, TypeVar

__all__ = ["maker"]

T = TypeVar("T")


def maker(cls: type[T]) -> Callable[..., T]:
    """A positional constructor of the frozen dataclass ``cls``: every field, in order,
    but an ``init=False`` field with a default value (a cache: read from the class).

    >>> from dataclasses import dataclass, field
    >>> @dataclass(frozen=True)
    ... class Cached:
    ...     x: int
    ...     memo: bytes | None = field(default=None, init=False, compare=False)
    >>> maker(Cached)(1).memo is None, maker(Cached)(1) == Cached(1)
    (True, True)

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Mutable:
    ...     x: int
    >>> maker(Mutable)
    Traceback (most recent call last):
    ...
    TypeError: maker() needs a frozen dataclass, not Mutable
    """
    # A frozen dataclass is given a __setattr__ of its own that raises (documented; a
    # class that defines one itself cannot be frozen): no undocumented attribute needed.
    if not is_dataclass(cls) or "__setattr__" not in vars(cls):
        raise TypeError(f"maker() needs a frozen dataclass, not {cls.__name__}")
    # A field __init__ does not take that has a default (a cache) is not set: as after
    # __init__, the instance reads the class attribute that holds the default.
    taken = [f for f in fields(cls) if f.init or f.default is MISSING]
    arguments = ", ".join(f"_{i}" for i in range(len(taken)))
    sets = "".join(f"    _set(obj, {f.name!r}, _{i})\n" for i, f in enumerate(taken))
    source = (f"def new_{cls.__name__}({arguments}):\n"
              f"    obj = _new(_cls)\n"
              f"{sets}"
              f"    return obj\n")
    namespace: dict[str, Any] = {"_new": object.__new__, "_set": object.__setattr__,
                                 "_cls": cls}
    exec(source, namespace)  # the source names only the class's own fields
    made: Callable[..., T] = namespace[f"new_{cls.__name__}"]
    made.__doc__ = f"A {cls.__name__} from its fields, positionally (:func:`maker`)."
    return made

