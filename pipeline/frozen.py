"""Building frozen dataclasses on the hot path without their generated ``__init__``.

A frozen dataclass's ``__init__`` sets each field with ``object.__setattr__`` (a global
look-up and a call per field, about 0.1 µs each): the decision path builds some twenty of
them per decided event (the decision context, its views, the outcome, the history, the
bandit's scores, the outputs...). :func:`maker` compiles, once per class, a constructor
that takes every field positionally (in the class's order, defaults and ``init=False``
fields included) and gives the new instance its whole ``__dict__`` at once: the same
object as the class builds (equal, same hash, same repr, still frozen: its
``__setattr__`` is the class's), at about half the cost.

It runs no ``__post_init__``: a caller of the maker of a class that has one computes what
it would (see :meth:`DecisionContext.view <pipeline.decide.context.DecisionContext.view>`).
It refuses classes without a per-instance ``__dict__`` (``slots=True``), which the trick
cannot fill. tests/unit/test_frozen.py compares its objects with the class's own.

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
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

__all__ = ["maker"]

T = TypeVar("T")


def maker(cls: type[T]) -> Callable[..., T]:
    """A positional constructor of the frozen dataclass ``cls``: every field, in order.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True, slots=True)
    ... class Slotted:
    ...     x: int
    >>> maker(Slotted)
    Traceback (most recent call last):
    ...
    TypeError: maker() needs a frozen dataclass with a __dict__, not Slotted
    """
    params = getattr(cls, "__dataclass_params__", None)
    if (not is_dataclass(cls) or params is None or not params.frozen
            or "__slots__" in cls.__dict__):
        raise TypeError(f"maker() needs a frozen dataclass with a __dict__, not {cls.__name__}")
    names = [f.name for f in fields(cls)]
    arguments = ", ".join(f"_{i}" for i in range(len(names)))
    items = ", ".join(f"{name!r}: _{i}" for i, name in enumerate(names))
    source = (f"def new_{cls.__name__}({arguments}):\n"
              f"    obj = _new(_cls)\n"
              f"    _set(obj, '__dict__', {{{items}}})\n"
              f"    return obj\n")
    namespace: dict[str, Any] = {"_new": object.__new__, "_set": object.__setattr__,
                                 "_cls": cls}
    exec(source, namespace)  # the source names only the class's own fields
    made: Callable[..., T] = namespace[f"new_{cls.__name__}"]
    made.__doc__ = f"A {cls.__name__} from all its fields, positionally (:func:`maker`)."
    return made
