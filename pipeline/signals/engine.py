"""Run every struggle detector over one event, with per-session cool-down.

Call order per ClickEvent, after the sessionizer (which resets the detector
state when a session starts)::

    step = sessionizer.apply(state, event, profile)
    if step.previous is not None:            # a session ended: decide its pending rules
        out += engine.close(step.previous.signals, step.previous.session_id, visitor_id)
    if not step.late and not step.duplicate:
        out += engine.observe(step.state.signals, event, step.state.session_id, visitor_id)
    table[visitor_id] = step.state.to_bytes()  # observe mutated step.state.signals

>>> engine = SignalEngine()
>>> state = SignalState()
>>> def click(i):
...     return {"event_id": f"e{i}", "event_type": "click", "event_time": 1_000 + 100 * i,
...             "page": {"url": "/p/1", "page_type": "product"},
...             "click": {"x": 10, "y": 10, "target": "#buy", "interactive": True}}
>>> [len(engine.observe(state, click(i), "v1:1000", "v1")) for i in range(6)]
[0, 0, 1, 0, 0, 0]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.signals.calculator_fiddling import observe_calculator_fiddling
from pipeline.signals.dead_click import dead_click_due, flush_dead_click, observe_dead_click
from pipeline.signals.detection import Detection
from pipeline.signals.event import SignalEvent, read_signal_event
from pipeline.signals.form_struggle import observe_form_struggle
from pipeline.signals.hesitation import flush_hesitation, hesitation_due, observe_hesitation
from pipeline.signals.options import SignalOptions
from pipeline.signals.pogo_sticking import observe_pogo_sticking
from pipeline.signals.rage_click import observe_rage_click
from pipeline.signals.rules import (
    CALCULATOR_FIDDLING,
    DEAD_CLICK,
    FORM_STRUGGLE,
    HESITATION,
    POGO_STICKING,
    RAGE_CLICK,
    SEARCH_REFRESH_LOOP,
)
from pipeline.signals.search_refresh_loop import observe_search_refresh_loop
from pipeline.signals.state import SignalState
from pipeline.signals.struggle_signal import struggle_signal

__all__ = ["SignalEngine"]


class SignalEngine:
    """Stateless runner of the detectors; all state lives in the :class:`SignalState` passed in.

    Methods mutate that state in place; write the owning SessionState back afterwards.

    >>> SignalEngine(SignalOptions(cooldown_ms=60_000)).options.cooldown_ms
    60000
    """

    def __init__(self, options: SignalOptions | None = None) -> None:
        self.options = options or SignalOptions()

    def observe(
        self, state: SignalState, event: Mapping[str, Any], session_id: str, visitor_id: str
    ) -> list[dict[str, Any]]:
        """Fold one ClickEvent into ``state``; the StruggleSignal dicts it produces.

        Raises :class:`~pipeline.signals.errors.InvalidSignalEventError` (before
        touching ``state``) when the event lacks an id, type, time or page.

        >>> SignalEngine().observe(SignalState(), {"event_id": "e1", "event_type": "page_view",
        ...     "event_time": 5, "page": {"url": "/", "page_type": "home"}}, "s", "v")
        []
        """
        return self.observe_read(state, read_signal_event(event), session_id, visitor_id)

    def observe_read(
        self, state: SignalState, ev: SignalEvent, session_id: str, visitor_id: str
    ) -> list[dict[str, Any]]:
        """:meth:`observe` for an event already read (the engine reads each event once).

        >>> SignalEngine().observe_read(SignalState(), SignalEvent("e1", "page_view", 5, "/",
        ...     "home"), "s", "v")
        []
        """
        opts = self.options
        on = opts.enabled_rules
        if state.base_ms is None:
            state.base_ms = ev.time
        # Each detector's answer is kept only when it found something (per event, seven
        # times: tested here rather than in a helper call).
        found: list[Detection] = []
        if DEAD_CLICK in on:
            detection = observe_dead_click(state.dead_click, ev, opts.dead_click)
            if detection is not None:
                found.append(detection)
        if RAGE_CLICK in on:
            detection = observe_rage_click(state.rage_click, ev, opts.rage_click)
            if detection is not None:
                found.append(detection)
        if POGO_STICKING in on:
            detection = observe_pogo_sticking(state.pogo_sticking, ev, opts.pogo_sticking)
            if detection is not None:
                found.append(detection)
        if HESITATION in on:
            found.extend(observe_hesitation(state.hesitation, ev, opts.hesitation))
        if FORM_STRUGGLE in on:
            detection = observe_form_struggle(state.form_struggle, ev, opts.form_struggle)
            if detection is not None:
                found.append(detection)
        if CALCULATOR_FIDDLING in on:
            detection = observe_calculator_fiddling(state.calculator_fiddling, ev,
                                                    opts.calculator_fiddling)
            if detection is not None:
                found.append(detection)
        if SEARCH_REFRESH_LOOP in on:
            detection = observe_search_refresh_loop(state.search_refresh_loop, ev,
                                                    opts.search_refresh_loop)
            if detection is not None:
                found.append(detection)
        if not found:  # most events: nothing to emit
            return []
        return self._emit(state, found, session_id, visitor_id)

    def flush(
        self, state: SignalState, now_ms: int, session_id: str, visitor_id: str
    ) -> list[dict[str, Any]]:
        """Decide time-based rules at ``now_ms`` (event time) without a new event.

        A pending dead click whose window has passed fires; a visitor still on a
        doubt page past the dwell threshold fires hesitation. Call it from a
        timer (e.g. with the partition's latest event time).

        >>> st = SignalState()
        >>> _ = SignalEngine().observe(st, {"event_id": "c1", "event_type": "click",
        ...     "event_time": 0, "page": {"url": "/", "page_type": "home"},
        ...     "click": {"x": 1, "y": 1, "target": "img", "interactive": False}}, "s", "v")
        >>> [s["rule"] for s in SignalEngine().flush(st, 5_000, "s", "v")]
        ['dead_click']
        """
        opts = self.options
        found: list[Detection] = []
        if DEAD_CLICK in opts.enabled_rules:
            _add(found, flush_dead_click(state.dead_click, now_ms, opts.dead_click))
        if HESITATION in opts.enabled_rules:
            _add(found, flush_hesitation(state.hesitation, now_ms, opts.hesitation))
        return self._emit(state, found, session_id, visitor_id)

    def next_due_ms(self, state: SignalState) -> int | None:
        """The earliest event time at which :meth:`flush` has something to decide (None:
        no timer pending): what a timer index keeps per visitor.

        >>> st = SignalState()
        >>> _ = SignalEngine().observe(st, {"event_id": "p1", "event_type": "page_view",
        ...     "event_time": 0, "page": {"url": "/shipping", "page_type": "shipping_returns"}},
        ...     "s", "v")
        >>> SignalEngine().next_due_ms(st)
        30000
        >>> [s["details"]["dwell_ms"] for s in SignalEngine().flush(st, 30_000, "s", "v")]
        ['30000']
        >>> SignalEngine().next_due_ms(st) is None
        True
        """
        opts = self.options
        due: int | None = None
        if DEAD_CLICK in opts.enabled_rules:
            due = dead_click_due(state.dead_click, opts.dead_click)
        if HESITATION in opts.enabled_rules:
            dwell = hesitation_due(state.hesitation, opts.hesitation)
            if dwell is not None and (due is None or dwell < due):
                due = dwell
        return due

    def close(self, state: SignalState, session_id: str, visitor_id: str) -> list[dict[str, Any]]:
        """The session ended: decide what is still pending (a dead click candidate).

        Dwell on the last page is unknown at session end, so hesitation does not fire here.

        >>> SignalEngine().close(SignalState(), "s", "v")
        []
        """
        found: list[Detection] = []
        if DEAD_CLICK in self.options.enabled_rules:
            _add(found, flush_dead_click(state.dead_click, None, self.options.dead_click))
        return self._emit(state, found, session_id, visitor_id)

    def _emit(
        self, state: SignalState, found: list[Detection], session_id: str, visitor_id: str
    ) -> list[dict[str, Any]]:
        signals: list[dict[str, Any]] = []
        for detection in found:
            previous = state.fired.get(detection.rule)
            if previous is not None and (
                detection.event_time - previous[0] < self.options.cooldown_ms
            ):
                continue
            count = 0 if previous is None else previous[1]
            state.fired[detection.rule] = (detection.event_time, count + 1)
            signals.append(struggle_signal(detection, session_id=session_id,
                                           visitor_id=visitor_id))
        return signals


def _add(found: list[Detection], detection: Detection | None) -> None:
    if detection is not None:
        found.append(detection)
