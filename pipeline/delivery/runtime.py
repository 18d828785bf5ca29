"""Process-level choices of the delivery service: its event loop, and its heap once filled.

Both are about tail latency. uvloop runs the same asyncio code with a loop and
transports written in C: on ``GET /v1/decisions`` about a fifth less server CPU
per request at 2,000 req/s and 5-8% less when saturated (bench/delivery.py, 2-core
machine); it is optional (``pip install 'rtp[bench]'`` brings it) and asyncio's
own loop is used without it. :func:`settle_heap` moves everything
alive after the start-up read-back out of the garbage collector's view: a full
collection would otherwise walk every held decision (0.3 s for 100 000 visitors
with two slots each, measured on the 2-core development machine), stopping every
request in flight meanwhile. Decisions that arrive later are not frozen: as the
store turns over, full collections cost more again.

>>> loop_factory("asyncio") is None
True
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
from collections.abc import Callable

__all__ = ["EVENT_LOOPS", "loop_factory", "loop_name", "settle_heap", "unsettle_heap"]

#: Values of ``DeliveryOptions.event_loop``.
EVENT_LOOPS = ("auto", "asyncio", "uvloop")


def loop_factory(name: str = "auto") -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop factory for ``name`` (for :class:`asyncio.Runner`; None: asyncio's own).

    ``auto`` is uvloop when it is installed; ``uvloop`` insists on it.

    >>> loop_factory("auto") is None or loop_factory("auto").__module__.startswith("uvloop")
    True
    >>> loop_factory("trio")
    Traceback (most recent call last):
    ...
    ValueError: event loop 'trio' is not one of ('auto', 'asyncio', 'uvloop')
    """
    if name not in EVENT_LOOPS:
        raise ValueError(f"event loop {name!r} is not one of {EVENT_LOOPS}")
    if name == "asyncio" or (name == "auto" and importlib.util.find_spec("uvloop") is None):
        return None
    try:
        import uvloop
    except ImportError as exc:
        raise ValueError("event loop 'uvloop' asked for but uvloop is not installed "
                         "(pip install uvloop)") from exc
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """``uvloop`` or ``asyncio``: which loop is running (for logs and benchmark notes).

    >>> loop = asyncio.new_event_loop()
    >>> loop_name(loop)
    'asyncio'
    >>> loop.close()
    """
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def settle_heap() -> int:
    """Collect garbage once, then freeze what is left (call when the store is filled).

    Frozen objects are still freed when nothing refers to them; only the cyclic
    collector stops walking them. Returns how many objects were frozen.

    >>> settle_heap() > 0 and gc.get_freeze_count() > 0
    True
    >>> unsettle_heap(); gc.get_freeze_count()
    0
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def unsettle_heap() -> None:
    """Undo :func:`settle_heap` (on shutdown: frozen cycles become collectable again)."""
    gc.unfreeze()
