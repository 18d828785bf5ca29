"""Dead click: a click on something that is not interactive and leads nowhere.

A click whose target is not interactive (``click.interactive`` false) is a
*candidate*; it is a dead click when no page_view follows within ``window_ms``.
Browser SDKs decide it from DOM reactions after 0.5 s (Mixpanel, Amplitude) up
to several seconds (Sentry's slow clicks); a stream only sees page views, so the
default is 1 s.

**When it is decided.** One candidate is pending at a time (later candidates
inside its window are ignored). It is decided when the next event whose time
is past the window arrives (that event's ``observe`` returns the detection), or
when :func:`flush_dead_click` is called with a ``now_ms`` past the window (from a
timer, or when the session ends). A page_view inside the window clears it. The
trigger is the click itself, so every path yields the same signal id.

>>> opts, st = DeadClickOptions(), DeadClickState()
>>> click = SignalEvent("c1", "click", 1_000, "/", "home", click_interactive=False)
>>> observe_dead_click(st, click, opts) is None
True
>>> later = SignalEvent("s1", "scroll", 2_500, "/", "home")
>>> observe_dead_click(st, later, opts).trigger_event_id
'c1'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.signals.detection import Detection
from pipeline.signals.event import SignalEvent
from pipeline.signals.rules import DEAD_CLICK

__all__ = [
    "DeadClickOptions",
    "DeadClickState",
    "dead_click_due",
    "flush_dead_click",
    "observe_dead_click",
]


@dataclass(frozen=True, slots=True)
class DeadClickOptions:
    """Thresholds of the dead-click rule.

    Attributes
    ----------
    window_ms
        How long a page_view may take to follow the click (1 s).

    >>> DeadClickOptions().window_ms
    1000
    """

    window_ms: int = 1_000


@dataclass(slots=True)
class DeadClickState:
    """The pending candidate click, if any: time, event id, page URL, target.

    >>> DeadClickState().pending_time is None
    True
    """

    pending_time: int | None = None
    pending_event_id: str = ""
    pending_url: str = ""
    pending_target: str = ""

    def to_obj(self, base: int) -> list[Any]:
        """``[]`` or ``[t - base, event_id, url, target]``.

        >>> DeadClickState(105, "c1", "/", "#x").to_obj(100)
        [5, 'c1', '/', '#x']
        """
        if self.pending_time is None:
            return []
        return [self.pending_time - base, self.pending_event_id, self.pending_url,
                self.pending_target]

    @classmethod
    def from_obj(cls, obj: Any, base: int) -> DeadClickState:
        """Inverse of :meth:`to_obj`.

        >>> DeadClickState.from_obj([5, "c1", "/", "#x"], 100).pending_time
        105
        """
        if not obj:
            return cls()
        t, event_id, url, target = obj
        return cls(int(t) + base, str(event_id), str(url), str(target))

    def clear(self) -> None:
        """Forget the pending candidate.

        >>> st = DeadClickState(1, "c", "/", ""); st.clear(); st.pending_time is None
        True
        """
        self.pending_time = None
        self.pending_event_id = self.pending_url = self.pending_target = ""


def _decide(state: DeadClickState, pending_time: int, options: DeadClickOptions) -> Detection:
    detection = Detection(
        rule=DEAD_CLICK,
        trigger_event_id=state.pending_event_id,
        event_time=pending_time,
        strength=1.0,
        page_url=state.pending_url or None,
        details={"target": state.pending_target, "window_ms": str(options.window_ms)},
    )
    state.clear()
    return detection


def observe_dead_click(
    state: DeadClickState, event: SignalEvent, options: DeadClickOptions
) -> Detection | None:
    """Fold one event in; a :class:`Detection` when it decides a pending dead click.

    >>> st, opts = DeadClickState(), DeadClickOptions()
    >>> _ = observe_dead_click(st, SignalEvent("c1", "click", 0, "/", "home",
    ...                                        click_interactive=False), opts)
    >>> observe_dead_click(st, SignalEvent("p1", "page_view", 400, "/b", "home"), opts) is None
    True
    >>> st.pending_time is None
    True
    """
    result: Detection | None = None
    if state.pending_time is not None:
        if event.event_type == "page_view" and (
            state.pending_time <= event.time <= state.pending_time + options.window_ms
        ):
            state.clear()
        elif event.time > state.pending_time + options.window_ms:
            result = _decide(state, state.pending_time, options)
    if event.is_click and event.click_interactive is False and state.pending_time is None:
        state.pending_time = event.time
        state.pending_event_id = event.event_id
        state.pending_url = event.url
        state.pending_target = (event.click_target or "")[:128]
    return result


def flush_dead_click(
    state: DeadClickState, now_ms: int | None, options: DeadClickOptions
) -> Detection | None:
    """Decide the pending candidate if ``now_ms`` is past its window (``None``: session over).

    >>> st = DeadClickState(0, "c1", "/", "")
    >>> flush_dead_click(st, 500, DeadClickOptions()) is None
    True
    >>> flush_dead_click(st, None, DeadClickOptions()).trigger_event_id
    'c1'
    """
    pending = state.pending_time
    if pending is None or (now_ms is not None and now_ms <= pending + options.window_ms):
        return None
    return _decide(state, pending, options)


def dead_click_due(state: DeadClickState, options: DeadClickOptions) -> int | None:
    """The first ``now_ms`` at which :func:`flush_dead_click` decides the pending candidate
    (None: none pending): one millisecond past its window.

    >>> st, opts = DeadClickState(1_000, "c1", "/", ""), DeadClickOptions()
    >>> due = dead_click_due(st, opts)
    >>> due, flush_dead_click(st, due - 1, opts) is None, flush_dead_click(st, due, opts) is None
    (2001, True, False)
    """
    if state.pending_time is None:
        return None
    return state.pending_time + options.window_ms + 1
