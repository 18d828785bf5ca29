"""Rage click: several rapid clicks on one small spot.

Defaults follow the common product-analytics definition (PostHog's rage-click
config ships ``click_count=3``, ``threshold_px=30``, ``timeout_ms=1000``;
Microsoft Clarity and FullStory describe the same pattern: repeated rapid
clicks in one small area).

The rule fires on the click that completes a cluster of ``min_clicks`` clicks
that are pairwise within ``radius_px`` and span at most ``window_ms``. The
trigger is that completing click. The clicks used are then forgotten, so the
next rage click needs a fresh cluster.

>>> opts, state = RageClickOptions(), RageClickState()
>>> clicks = [SignalEvent(f"e{i}", "click", 1_000 + 200 * i, "/p", "product",
...           click_x=100 + i, click_y=50, click_interactive=True) for i in range(3)]
>>> [observe_rage_click(state, c, opts) is not None for c in clicks]
[False, False, True]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.signals.detection import Detection
from pipeline.signals.event import SignalEvent
from pipeline.signals.rules import RAGE_CLICK

__all__ = ["RageClickOptions", "RageClickState", "observe_rage_click"]


@dataclass(frozen=True, slots=True)
class RageClickOptions:
    """Thresholds of the rage-click rule.

    Attributes
    ----------
    min_clicks
        Clicks needed (3).
    window_ms
        Longest time between the first and last click of the cluster (1 s).
    radius_px
        Largest distance between any two clicks of the cluster (30 px).
    history
        Recent clicks kept in state (bounded; at least ``min_clicks``).

    >>> RageClickOptions().radius_px
    30
    """

    min_clicks: int = 3
    window_ms: int = 1_000
    radius_px: int = 30
    history: int = 6


@dataclass(slots=True)
class RageClickState:
    """Recent clicks as ``(time, x, y)``, oldest first, at most ``history``.

    >>> RageClickState.from_obj(RageClickState([(10, 1, 2)]).to_obj(0), 0).clicks
    [(10, 1, 2)]
    """

    clicks: list[tuple[int, int, int]] = field(default_factory=list)

    def to_obj(self, base: int) -> list[int]:
        """Flat list ``[t - base, x, y, ...]`` for compact serialization.

        >>> RageClickState([(105, 1, 2)]).to_obj(100)
        [5, 1, 2]
        """
        return [v for t, x, y in self.clicks for v in (t - base, x, y)]

    @classmethod
    def from_obj(cls, obj: Any, base: int) -> RageClickState:
        """Inverse of :meth:`to_obj`.

        >>> RageClickState.from_obj([5, 1, 2], 100).clicks
        [(105, 1, 2)]
        """
        values = [int(v) for v in obj]
        return cls([(values[i] + base, values[i + 1], values[i + 2])
                    for i in range(0, len(values) - 2, 3)])


def _close(a: tuple[int, int, int], b: tuple[int, int, int], radius: int) -> bool:
    dx, dy = a[1] - b[1], a[2] - b[2]
    return dx * dx + dy * dy <= radius * radius


def observe_rage_click(
    state: RageClickState, event: SignalEvent, options: RageClickOptions
) -> Detection | None:
    """Fold one event in; a :class:`Detection` when it completes a rage click.

    >>> st = RageClickState()
    >>> far = [SignalEvent(f"e{i}", "click", 200 * i, "/", "home", click_x=100 * i,
    ...        click_interactive=True) for i in range(3)]
    >>> [observe_rage_click(st, c, RageClickOptions()) for c in far]
    [None, None, None]
    """
    if not event.is_click:
        return None
    current = (event.time, event.click_x, event.click_y)
    state.clicks.append(current)
    del state.clicks[: max(0, len(state.clicks) - max(options.history, options.min_clicks))]
    # A cluster is the click and some of the earlier clicks near it: with fewer of those
    # than it needs (most clicks), nothing can fire, and nothing is sorted or clustered.
    need = options.min_clicks - 1
    if len(state.clicks) <= need:
        return None
    near = [c for c in state.clicks[:-1]
            if abs(c[0] - current[0]) <= options.window_ms
            and _close(c, current, options.radius_px)]
    if len(near) < need:
        return None
    candidates = sorted(near, key=lambda c: abs(c[0] - current[0]))
    cluster = [current]
    for c in candidates:
        times = [m[0] for m in cluster] + [c[0]]
        if max(times) - min(times) <= options.window_ms and all(
            _close(c, m, options.radius_px) for m in cluster
        ):
            cluster.append(c)
    if len(cluster) < options.min_clicks:
        return None
    used = set(cluster)
    state.clicks = [c for c in state.clicks if c not in used]
    times = [m[0] for m in cluster]
    return Detection(
        rule=RAGE_CLICK,
        trigger_event_id=event.event_id,
        event_time=event.time,
        strength=len(cluster) / options.min_clicks,
        page_url=event.url,
        details={
            "clicks": str(len(cluster)),
            "span_ms": str(max(times) - min(times)),
            "target": (event.click_target or "")[:128],
        },
    )
