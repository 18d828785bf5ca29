"""Sessionize a visitor's events in event time: gaps, local midnight, bounded lateness.

>>> def ev(i, t, **kw):
...     return {"event_id": f"e{i}", "event_type": "page_view", "visitor_id": "v1",
...             "event_time": t, "page": {"url": "/", "page_type": "home"},
...             "context": {"timezone": "UTC"}, **kw}
>>> s = Sessionizer()
>>> step = s.apply(None, ev(1, 1_700_000_000_000), None)
>>> step.new_session, step.state.session_id
(True, 'v1:1700000000000')
>>> step = s.apply(step.state, ev(2, 1_700_000_060_000), None)
>>> step.new_session, step.state.features(1_700_000_060_000).numeric["page_views"]
(False, 2.0)
>>> step = s.apply(step.state, ev(3, 1_700_003_000_000), None)  # 49 min later
>>> step.new_session, step.ended.end_reason, step.ended.page_views
(True, 'inactivity', 2)
>>> s.apply(step.state, ev(4, 1_700_002_000_000), None).late
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pipeline.frozen import maker
from pipeline.profiles import ProfileView, may_personalize
from pipeline.sessions.errors import InvalidSessionEventError
from pipeline.sessions.event import SessionEvent, event_fingerprint, read_session_event
from pipeline.sessions.options import SessionOptions
from pipeline.sessions.pages import dwell_index
from pipeline.sessions.state import SessionState
from pipeline.sessions.step import SessionStep
from pipeline.sessions.timezones import local_day_bounds, resolve_timezone
from pipeline.signals import key_hash

__all__ = ["Sessionizer"]


class Sessionizer:
    """Folds ClickEvents into a visitor's :class:`SessionState`, in event time.

    A session ends when an event arrives ``inactivity_gap_ms`` or more after the
    session's latest event, or (``split_at_local_midnight``) at or after
    midnight in the visitor's time zone (``context.timezone``; an unknown or
    invalid zone means no midnight split). The event then starts a new session
    and the step carries the ended session's summary and final state.

    Events up to ``allowed_lateness_ms`` behind the latest event are folded in:
    counters, conversion and profile join are updated, while dwell, the current
    page and scroll depth follow only in-order events (so dwell never goes
    negative). An out-of-order event before the session's start moves
    ``started_ms`` back, unless it belongs to the previous session (within the
    gap of its end, or before the local day's midnight), in which case it is
    late. Older events are late: the state is unchanged and the caller routes
    the event to the DLQ. Redelivered event ids are reported as duplicates.

    >>> Sessionizer(SessionOptions(inactivity_gap_ms=600_000)).options.inactivity_gap_ms
    600000
    """

    def __init__(self, options: SessionOptions | None = None) -> None:
        self.options = options or SessionOptions()

    def apply(
        self,
        state: SessionState | None,
        event: Mapping[str, Any],
        profile: ProfileView | None = None,
    ) -> SessionStep:
        """Fold one ClickEvent dict into ``state`` (mutated in place) and say what happened.

        ``profile`` is the visitor's consent-filtered profile (``None``: keep
        what was joined before). Raises
        :class:`~pipeline.sessions.errors.InvalidSessionEventError`, before
        touching the state, when the event is unusable or belongs to another visitor.

        >>> Sessionizer().apply(None, {"event_id": "e", "event_type": "click"})
        Traceback (most recent call last):
        ...
        pipeline.sessions.errors.InvalidSessionEventError: ClickEvent.visitor_id is missing or empty
        """
        return self.apply_read(state, read_session_event(event), profile)

    def apply_read(
        self,
        state: SessionState | None,
        ev: SessionEvent,
        profile: ProfileView | None = None,
    ) -> SessionStep:
        """:meth:`apply` for an event already read (the engine reads each event once).

        >>> from pipeline.sessions.event import read_session_event
        >>> ev = read_session_event({"event_id": "e", "event_type": "page_view",
        ...     "visitor_id": "v", "event_time": 0, "page": {"url": "/"}})
        >>> Sessionizer().apply_read(None, ev).new_session
        True
        """
        opts = self.options
        if state is None:
            return _new_step(self._start(ev, None, profile), True, None, None, False, None, False)
        if state.visitor_id != ev.visitor_id:
            raise InvalidSessionEventError(
                f"event of visitor {ev.visitor_id!r} applied to the session of visitor "
                f"{state.visitor_id!r}"
            )
        fingerprint = event_fingerprint(ev.event_id)
        if fingerprint in state.recent_event_ids:
            return SessionStep(state=state, duplicate=True)
        t = ev.time
        if t >= state.last_ms:
            reason = None
            if t - state.last_ms >= opts.inactivity_gap_ms:
                reason = "inactivity"
            elif (opts.split_at_local_midnight and state.day_end_ms is not None
                  and t >= state.day_end_ms):
                reason = "midnight"
            if reason is not None:
                new = self._start(ev, state, profile)
                return SessionStep(state=new, new_session=True, ended=state.summary(reason),
                                   previous=state)
            self._fold(state, ev, fingerprint, profile, in_order=True)
            return _new_step(state, False, None, None, False, None, False)
        late = self._late_reason(state, t)
        if late is not None:
            return SessionStep(state=state, late=True, late_reason=late)
        self._fold(state, ev, fingerprint, profile, in_order=False)
        return SessionStep(state=state)

    def _late_reason(self, state: SessionState, t: int) -> str | None:
        opts = self.options
        behind = state.last_ms - t
        if behind > opts.allowed_lateness_ms:
            return (
                f"event time is {behind} ms behind the session's latest event; allowed "
                f"lateness is {opts.allowed_lateness_ms} ms"
            )
        if t < state.started_ms:
            if (opts.split_at_local_midnight and state.day_start_ms is not None
                    and t < state.day_start_ms):
                return "event is before local midnight: it belongs to a session that has ended"
            if state.previous_end_ms is not None and (
                t - state.previous_end_ms < opts.inactivity_gap_ms
            ):
                return "event belongs to the visitor's previous session, which has ended"
        return None

    def _start(self, ev: SessionEvent, previous: SessionState | None,
               profile: ProfileView | None) -> SessionState:
        st = SessionState(
            visitor_id=ev.visitor_id,
            first_event_ms=ev.time,
            started_ms=ev.time,
            last_ms=ev.time,
            sector=ev.sector,
            traffic_source=ev.traffic_source,
            device=ev.device,
            landing_page_type=ev.page_type,
        )
        if previous is not None:
            st.user_id = previous.user_id
            st.previous_end_ms = previous.last_ms
            st.sessions_before = previous.sessions_before + 1
            st.profile_returning = previous.profile_returning
            st.loyalty_tier = previous.loyalty_tier
            st.past_purchases = previous.past_purchases
            st.preferred_category = previous.preferred_category
            st.industry = previous.industry
            st.plan = previous.plan
            st.stated_industry = previous.stated_industry
            st.recent_event_ids = list(previous.recent_event_ids)  # redeliveries stay duplicates
        self._fold(st, ev, event_fingerprint(ev.event_id), profile, in_order=True)
        return st

    def _fold(self, st: SessionState, ev: SessionEvent, fingerprint: int,
              profile: ProfileView | None, *, in_order: bool) -> None:
        opts = self.options
        t = ev.time
        st.events += 1
        st.recent_event_ids.append(fingerprint)
        del st.recent_event_ids[: max(0, len(st.recent_event_ids) - opts.recent_event_ids)]
        if ev.user_id is not None:
            st.user_id = ev.user_id
        if in_order:
            if st.page_type is not None:
                st.dwell_ms[dwell_index(st.page_type)] += min(t - st.last_ms,
                                                              opts.inactivity_gap_ms)
            st.last_ms = t
            st.page_type, st.category, st.product_id = ev.page_type, ev.category, ev.product_id
            if ev.event_type == "page_view":
                st.max_scroll_pct = 0.0
            elif ev.scroll_pct is not None:
                st.max_scroll_pct = max(st.max_scroll_pct, ev.scroll_pct)
        else:
            st.started_ms = min(st.started_ms, t)
        self._count(st, ev)
        if st.country is None and ev.country is not None:
            st.country = ev.country
        if ev.industry is not None:
            st.stated_industry = ev.industry
        if st.timezone is None and ev.timezone is not None:
            zone = resolve_timezone(ev.timezone)
            if zone is not None:
                st.timezone = zone.key
                bounds = local_day_bounds(st.first_event_ms, zone)
                if bounds is not None:
                    st.day_start_ms, st.day_end_ms = bounds
        if profile is not None:
            _join(st, profile)

    def _count(self, st: SessionState, ev: SessionEvent) -> None:
        opts = self.options
        kind = ev.event_type
        if kind == "page_view":
            st.page_views += 1
            if ev.page_type == "product":
                st.product_views += 1
            if ev.category is not None:
                h = key_hash(ev.category)
                if h not in st.category_hashes and len(st.category_hashes) < opts.max_categories:
                    st.category_hashes.append(h)
            if ev.product_id is not None:
                h = key_hash(ev.product_id)
                if h in st.product_counts or len(st.product_counts) < opts.max_products:
                    count = st.product_counts.get(h, 0) + 1
                    st.product_counts[h] = count
                    st.max_views_same_product = max(st.max_views_same_product, count)
        elif kind == "click":
            st.clicks += 1
        elif kind == "search":
            st.searches += 1
        elif kind == "add_to_cart":
            st.cart_adds += 1
            st.cart_value = _add(st.cart_value, ev.cart_value)
        elif kind == "purchase":
            st.converted = True
            st.conversion_value = _add(st.conversion_value, ev.purchase_value)
            st.conversion_kind = ev.purchase_kind or "purchase"
        elif kind == "form_error":
            st.form_errors += 1
        elif kind == "custom" and ev.custom_name == "calculator_change":
            st.calculator_changes += 1


def _add(total: float, value: float | None) -> float:
    if value is None or value < 0:
        return total
    result = total + value
    return result if math.isfinite(result) else total


def _join(st: SessionState, profile: ProfileView) -> None:
    if may_personalize(profile):
        st.profile_returning = profile.returning
        st.loyalty_tier = profile.loyalty_tier
        st.past_purchases = profile.past_purchases
        st.preferred_category = profile.preferred_category
        st.industry = profile.industry
        st.plan = profile.plan
    else:
        st.profile_returning = False
        st.loyalty_tier = st.preferred_category = st.industry = st.plan = None
        st.past_purchases = 0


#: ``SessionStep(state, new_session, ended, previous, late, late_reason, duplicate)``, every
#: field given (:mod:`pipeline.frozen`: once per event).
_new_step = maker(SessionStep)
