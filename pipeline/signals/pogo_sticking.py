"""Pogo-sticking: bouncing back and forth between similar products.

Borrowed from search UX, where a visitor who keeps jumping between results
signals that no result satisfies. Here: product page views of one category
(interleaved listing/search pages are ignored; a product of another category
ends the run). A *switch* is a move from one product to a different one. The
rule fires when the run within ``window_ms`` (5 min) has at least
``min_switches`` switches (3) and at least one product was viewed again, so
A,B,A,B fires while plainly browsing A,B,C,D does not. Products with no
category share one "unknown" bucket. The trigger is the product view that
completes the pattern; the run is then forgotten.

>>> opts, st = PogoStickingOptions(), PogoStickingState()
>>> views = [SignalEvent(f"e{i}", "page_view", 10_000 * i, f"/p/{p}", "product",
...          category="headphones", product_id=p) for i, p in enumerate("ABAB")]
>>> [observe_pogo_sticking(st, v, opts) is not None for v in views]
[False, False, False, True]
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from pipeline.signals.detection import Detection
from pipeline.signals.event import SignalEvent, key_hash
from pipeline.signals.rules import POGO_STICKING

__all__ = ["PogoStickingOptions", "PogoStickingState", "observe_pogo_sticking"]


@dataclass(frozen=True, slots=True)
class PogoStickingOptions:
    """Thresholds of the pogo-sticking rule.

    Attributes
    ----------
    min_switches
        Switches between different products of one category (3: A,B,A,B).
    window_ms
        How far back the views may go (5 min).
    history
        Product views kept in state (bounded; more than ``min_switches``).

    >>> PogoStickingOptions().window_ms
    300000
    """

    min_switches: int = 3
    window_ms: int = 300_000
    history: int = 8


@dataclass(slots=True)
class PogoStickingState:
    """Recent product views as ``(time, product hash, category hash)``, oldest first.

    >>> PogoStickingState.from_obj(PogoStickingState([(7, 1, 2)]).to_obj(5), 5).views
    [(7, 1, 2)]
    """

    views: list[tuple[int, int, int]] = field(default_factory=list)

    def to_obj(self, base: int) -> list[int]:
        """Flat list ``[t - base, product, category, ...]``.

        >>> PogoStickingState([(7, 1, 2)]).to_obj(5)
        [2, 1, 2]
        """
        return [v for t, p, c in self.views for v in (t - base, p, c)]

    @classmethod
    def from_obj(cls, obj: Any, base: int) -> PogoStickingState:
        """Inverse of :meth:`to_obj`.

        >>> PogoStickingState.from_obj([2, 1, 2], 5).views
        [(7, 1, 2)]
        """
        values = [int(v) for v in obj]
        return cls([(values[i] + base, values[i + 1], values[i + 2])
                    for i in range(0, len(values) - 2, 3)])


def observe_pogo_sticking(
    state: PogoStickingState, event: SignalEvent, options: PogoStickingOptions
) -> Detection | None:
    """Fold one event in; a :class:`Detection` when it completes a pogo-sticking run.

    >>> st = PogoStickingState()
    >>> browse = [SignalEvent(f"e{i}", "page_view", i, "/", "product", category="c",
    ...           product_id=p) for i, p in enumerate("ABCD")]
    >>> [observe_pogo_sticking(st, v, PogoStickingOptions()) for v in browse]
    [None, None, None, None]
    """
    if event.event_type != "page_view" or event.page_type != "product" or not event.product_id:
        return None
    category = key_hash(event.category or "")
    current = (event.time, key_hash(event.product_id), category)
    state.views.append(current)
    del state.views[: max(0, len(state.views) - max(options.history, options.min_switches + 1))]
    run: list[tuple[int, int, int]] = []
    for view in reversed(state.views):
        if view[2] != category:
            break
        if 0 <= current[0] - view[0] <= options.window_ms:
            run.append(view)
    run.reverse()
    switches = sum(1 for a, b in itertools.pairwise(run) if a[1] != b[1])
    distinct = len({v[1] for v in run})
    if switches < options.min_switches or distinct == len(run):
        return None
    state.views.clear()
    return Detection(
        rule=POGO_STICKING,
        trigger_event_id=event.event_id,
        event_time=event.time,
        strength=switches / options.min_switches,
        page_url=event.url,
        details={
            "switches": str(switches),
            "products": str(distinct),
            "category": (event.category or "unknown")[:128],
        },
    )
