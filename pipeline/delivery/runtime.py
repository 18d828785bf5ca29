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
store turns over, full collections cost more again. It also makes young collections
rarer (:data:`GEN0_THRESHOLD`), so that held requests are not promoted into the old
generations.

>>> loop_factory("asyncio") is None
True
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
from collections.abc import Callable

__all__ = ["EVENT_LOOPS", "GEN0_THRESHOLD", "loop_factory", "loop_name", "settle_heap",
           "unsettle_heap"]

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


#: The cyclic collector's first threshold once the heap is settled (CPython's default is
#: 700 container allocations). Held requests live up to ``max_wait_ms`` (1 s): at the
#: default, a collection of the youngest generation ran every ~17 ms under 2,000 held
#: requests and 4,000 req/s, so each held request's objects were promoted to the old
#: generations and forced a full collection every ~2 s (tens of ms with every request
#: stopped). Ten times fewer young collections promote far fewer of them: measured with
#: the bench's server under 2,000 held requests and 2,000 req/s (2-core machine shared with
#: other work, runs alternated), the collector's time over a ~10 s run fell from 1.3-1.6 s
#: to 0.55-0.6 s, middle-generation collections from 46-48 to 17-18 and full ones from 4
#: to 2 (one of them the settling collection itself).
GEN0_THRESHOLD = 7_000

_thresholds: list[tuple[int, int, int]] = []  # what settle_heap replaced, for unsettle_heap


def settle_heap(gen0_threshold: int = GEN0_THRESHOLD) -> int:
    """Collect garbage once, then freeze what is left (call when the store is filled), and
    raise the collector's first threshold to ``gen0_threshold`` (see :data:`GEN0_THRESHOLD`;
    never lowered).

    Frozen objects are still freed when nothing refers to them; only the cyclic
    collector stops walking them. Returns how many objects were frozen.

    >>> before = gc.get_threshold()
    >>> settle_heap() > 0 and gc.get_freeze_count() > 0
    True
    >>> gc.get_threshold()[0] >= GEN0_THRESHOLD
    True
    >>> unsettle_heap(); gc.get_freeze_count(), gc.get_threshold() == before
    (0, True)
    """
    gc.collect()
    gc.freeze()
    first, second, third = gc.get_threshold()
    if not _thresholds:
        _thresholds.append((first, second, third))
    gc.set_threshold(max(first, gen0_threshold), second, third)
    return gc.get_freeze_count()


def unsettle_heap() -> None:
    """Undo :func:`settle_heap` (on shutdown: frozen cycles become collectable again, and
    the collector's thresholds are what they were)."""
    gc.unfreeze()
    if _thresholds:
        gc.set_threshold(*_thresholds.pop())
