"""Hesitation: lingering on a page that answers a doubt, or returning to a product.

Two variants, one rule name (``details["variant"]`` tells them apart):

* ``dwell``: at least ``min_dwell_ms`` (30 s, about three times the median
  page view) on a shipping & returns, pricing or eligibility page — the
  pages visitors read when a worry blocks the decision. Checked on every event
  while the visitor is still on the page, on the first event after they leave
  it, and by :func:`flush_hesitation` (a timer). The trigger is that page's
  page_view, so every path yields the same signal id; it fires once per visit
  of the page.
* ``revisits``: one product page viewed at least ``product_views`` (3) times in
  the session; the trigger is the page_view that reaches the count.

>>> opts, st = HesitationOptions(), HesitationState()
>>> observe_hesitation(st, SignalEvent("p1", "page_view", 0, "/shipping",
...                                    "shipping_returns"), opts)
[]
>>> [d.trigger_event_id for d in observe_hesitation(
...     st, SignalEvent("s1", "scroll", 31_000, "/shipping", "shipping_returns"), opts)]
['p1']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.signals.detection import Detection
from pipeline.signals.event import SignalEvent, key_hash
from pipeline.signals.rules import HESITATION

__all__ = [
    "HesitationOptions",
    "HesitationState",
    "flush_hesitation",
    "hesitation_due",
    "observe_hesitation",
]


@dataclass(frozen=True, slots=True)
class HesitationOptions:
    """Thresholds of the hesitation rule.

    Attributes
    ----------
    min_dwell_ms
        Dwell on a doubt page that counts as hesitation (30 s).
    page_types
        The doubt pages: shipping_returns, pricing, eligibility.
    product_views
        Views of one product page in the session that count as hesitation (3).
    history
        Products whose views are counted (bounded; further products are ignored).

    >>> sorted(HesitationOptions().page_types)
    ['eligibility', 'pricing', 'shipping_returns']
    """

    min_dwell_ms: int = 30_000
    page_types: frozenset[str] = frozenset({"shipping_returns", "pricing", "eligibility"})
    product_views: int = 3
    history: int = 8


@dataclass(slots=True)
class HesitationState:
    """The doubt page being read (if any) and per-product view counts.

    >>> HesitationState().page_time is None
    True
    """

    page_time: int | None = None
    page_event_id: str = ""
    page_url: str = ""
    page_type: str = ""
    page_fired: bool = False
    latest_time: int | None = None
    product_counts: dict[int, int] = field(default_factory=dict)

    def to_obj(self, base: int) -> list[Any]:
        """``[latest, page-or-[], counts]`` with times relative to ``base``.

        >>> HesitationState(page_time=12, page_event_id="p", page_url="/", page_type="pricing",
        ...                 latest_time=12, product_counts={7: 2}).to_obj(10)
        [2, [2, 'p', '/', 'pricing', 0], [7, 2]]
        """
        page: list[Any] = []
        if self.page_time is not None:
            page = [self.page_time - base, self.page_event_id, self.page_url, self.page_type,
                    int(self.page_fired)]
        latest = None if self.latest_time is None else self.latest_time - base
        counts = [v for k, n in self.product_counts.items() for v in (k, n)]
        return [latest, page, counts]

    @classmethod
    def from_obj(cls, obj: Any, base: int) -> HesitationState:
        """Inverse of :meth:`to_obj`.

        >>> HesitationState.from_obj([2, [], [7, 2]], 10).product_counts
        {7: 2}
        """
        latest, page, counts = obj
        st = cls(latest_time=None if latest is None else int(latest) + base)
        if page:
            t, event_id, url, page_type, fired = page
            st.page_time, st.page_event_id, st.page_url = int(t) + base, str(event_id), str(url)
            st.page_type, st.page_fired = str(page_type), bool(fired)
        values = [int(v) for v in counts]
        st.product_counts = {values[i]: values[i + 1] for i in range(0, len(values) - 1, 2)}
        return st


def _dwell(state: HesitationState, now: int, options: HesitationOptions) -> Detection | None:
    if state.page_time is None or state.page_fired or now - state.page_time < options.min_dwell_ms:
        return None
    state.page_fired = True
    dwell = now - state.page_time
    return Detection(
        rule=HESITATION,
        trigger_event_id=state.page_event_id,
        event_time=state.page_time,
        strength=dwell / options.min_dwell_ms,
        page_url=state.page_url or None,
        details={"variant": "dwell", "page_type": state.page_type, "dwell_ms": str(dwell)},
    )


def observe_hesitation(
    state: HesitationState, event: SignalEvent, options: HesitationOptions
) -> list[Detection]:
    """Fold one event in; the detections it completes (0, 1 or 2).

    >>> st, opts = HesitationState(), HesitationOptions()
    >>> views = [SignalEvent(f"v{i}", "page_view", i * 1000, "/p/1", "product",
    ...          product_id="1") for i in range(3)]
    >>> [len(observe_hesitation(st, v, opts)) for v in views]
    [0, 0, 1]
    """
    found: list[Detection] = []
    in_order = state.latest_time is None or event.time >= state.latest_time
    if in_order:
        state.latest_time = event.time
        dwell = _dwell(state, event.time, options)
        if dwell is not None:
            found.append(dwell)
    if event.event_type != "page_view":
        return found
    if in_order:
        if event.page_type in options.page_types:
            state.page_time, state.page_event_id = event.time, event.event_id
            state.page_url, state.page_type = event.url, event.page_type
            state.page_fired = False
        else:
            state.page_time, state.page_event_id = None, ""
            state.page_url = state.page_type = ""
            state.page_fired = False
    if event.page_type == "product" and event.product_id:
        key = key_hash(event.product_id)
        if key in state.product_counts or len(state.product_counts) < options.history:
            count = state.product_counts.get(key, 0) + 1
            state.product_counts[key] = count
            if count >= options.product_views:
                found.append(Detection(
                    rule=HESITATION,
                    trigger_event_id=event.event_id,
                    event_time=event.time,
                    strength=count / options.product_views,
                    page_url=event.url,
                    details={"variant": "revisits", "views": str(count),
                             "product_id": event.product_id[:128]},
                ))
    return found


def flush_hesitation(
    state: HesitationState, now_ms: int, options: HesitationOptions
) -> Detection | None:
    """Check the dwell variant at ``now_ms`` while the visitor is still on the page.

    >>> st = HesitationState(page_time=0, page_event_id="p1", page_url="/pricing",
    ...                      page_type="pricing", latest_time=0)
    >>> flush_hesitation(st, 10_000, HesitationOptions()) is None
    True
    >>> flush_hesitation(st, 45_000, HesitationOptions()).details["dwell_ms"]
    '45000'
    """
    return _dwell(state, now_ms, options)


def hesitation_due(state: HesitationState, options: HesitationOptions) -> int | None:
    """The first ``now_ms`` at which :func:`flush_hesitation` fires the dwell variant (None:
    not on a doubt page, or it fired already for this visit of the page).

    >>> st, opts = HesitationState(page_time=0, page_event_id="p1", page_url="/shipping",
    ...                            page_type="shipping_returns", latest_time=0), HesitationOptions()
    >>> due = hesitation_due(st, opts)
    >>> due, flush_hesitation(st, due - 1, opts) is None, flush_hesitation(st, due, opts) is None
    (30000, True, False)
    >>> hesitation_due(st, opts) is None  # fired: nothing more is due for this page
    True
    """
    if state.page_time is None or state.page_fired:
        return None
    return state.page_time + options.min_dwell_ms
