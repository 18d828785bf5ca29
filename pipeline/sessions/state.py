"""Per-visitor session state: compact, bounded, one table value (signals included).

Every feature is a running aggregate updated in O(1) per event; only small
bounded collections are kept (recent event-id fingerprints, up to 16 category
and product hashes, the detectors' rings). Serialized as a compact JSON list
whose first item is the format :attr:`~SessionState.version`; other versions are
refused with :class:`SessionStateVersionError`.

>>> st = SessionState(visitor_id="v1", first_event_ms=1_000, started_ms=1_000, last_ms=4_000)
>>> st.session_id, SessionState.from_bytes(st.to_bytes()) == st
('v1:1000', True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import isfinite
from typing import Any

import orjson

from pipeline.frozen import maker
from pipeline.serde import compact_json
from pipeline.sessions.errors import SessionStateFormatError, SessionStateVersionError
from pipeline.sessions.features import SessionFeatures
from pipeline.sessions.options import SessionOptions
from pipeline.sessions.pages import DWELL_BUCKETS
from pipeline.sessions.summary import SessionSummary
from pipeline.signals import STRUGGLE_RULES, SignalState, SignalStateFormatError

__all__ = ["SESSION_STATE_VERSION", "SessionState"]

#: Format version written by :meth:`SessionState.to_bytes`.
SESSION_STATE_VERSION = 1
_FIELDS = 25
# Feature names built once (features() runs for every scored event).
_DWELL_KEYS = tuple(f"dwell_{bucket}_s" for bucket in DWELL_BUCKETS)
_SIGNAL_KEYS = tuple((rule, f"signal_{rule}") for rule in STRUGGLE_RULES)
_N_DWELL = len(DWELL_BUCKETS)
#: The numeric features' names in the order :meth:`SessionState.features` writes them.
_NUMERIC_KEYS = (
    "page_views", "product_views", "distinct_categories", "max_views_same_product",
    *_DWELL_KEYS,
    "max_scroll_pct", "clicks", "searches", "cart_adds", "cart_value", "form_errors",
    "calculator_changes", "session_age_s", "since_last_event_s", "returning",
    "past_purchases", "converted", "signal_count",
    *(key for _rule, key in _SIGNAL_KEYS),
)
_NO_FLAGS = (0.0,) * len(_SIGNAL_KEYS)


def _rel(value: int | None, base: int) -> int | None:
    return None if value is None else value - base


def _abs(value: Any, base: int) -> int | None:
    return None if value is None else int(value) + base


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(slots=True)
class SessionState:
    """The current session of one visitor (mutated in place by the sessionizer).

    Attributes
    ----------
    visitor_id
        Whose session it is.
    first_event_ms
        Time of the session's first event (in arrival order): the id anchor.
    started_ms, last_ms
        Earliest and latest event time folded in.
    user_id
        Latest user id seen on the visitor's events.
    timezone, day_start_ms, day_end_ms
        Visitor's IANA zone (if known and valid) and the local day of the session.
    previous_end_ms, sessions_before
        End of the visitor's previous session and how many preceded this one,
        while the state lived (TTL).
    events ... calculator_changes, cart_value, max_scroll_pct
        Running counts; ``max_scroll_pct`` is for the current page.
    dwell_ms
        Dwell per bucket of :data:`~pipeline.sessions.pages.DWELL_BUCKETS`.
    category_hashes, product_counts, max_views_same_product
        Distinct categories and per-product page-view counts (bounded).
    page_type, category, product_id
        The current page.
    sector, traffic_source, device, country, landing_page_type, stated_industry
        Session context, from the first event that carried it.
    converted, conversion_value, conversion_kind
        Purchase outcome of this session.
    profile_returning, loyalty_tier, past_purchases, preferred_category, industry, plan
        Profile traits joined in (only when personalization is allowed).
    recent_event_ids
        Fingerprints of the latest event ids (duplicate detection).
    signals
        The struggle detectors' state (:class:`~pipeline.signals.SignalState`).
    version
        Format version, :data:`SESSION_STATE_VERSION`.

    >>> SessionState(visitor_id="v", first_event_ms=0, started_ms=0, last_ms=0).dwell_ms
    [0, 0, 0, 0, 0, 0, 0, 0]
    """

    visitor_id: str
    first_event_ms: int
    started_ms: int
    last_ms: int
    user_id: str | None = None
    timezone: str | None = None
    day_start_ms: int | None = None
    day_end_ms: int | None = None
    previous_end_ms: int | None = None
    sessions_before: int = 0
    events: int = 0
    page_views: int = 0
    product_views: int = 0
    clicks: int = 0
    searches: int = 0
    cart_adds: int = 0
    form_errors: int = 0
    calculator_changes: int = 0
    cart_value: float = 0.0
    max_scroll_pct: float = 0.0
    dwell_ms: list[int] = field(default_factory=lambda: [0] * len(DWELL_BUCKETS))
    category_hashes: list[int] = field(default_factory=list)
    product_counts: dict[int, int] = field(default_factory=dict)
    max_views_same_product: int = 0
    page_type: str | None = None
    category: str | None = None
    product_id: str | None = None
    sector: str | None = None
    traffic_source: str | None = None
    device: str | None = None
    country: str | None = None
    landing_page_type: str | None = None
    stated_industry: str | None = None
    converted: bool = False
    conversion_value: float = 0.0
    conversion_kind: str | None = None
    profile_returning: bool = False
    loyalty_tier: str | None = None
    past_purchases: int = 0
    preferred_category: str | None = None
    industry: str | None = None
    plan: str | None = None
    recent_event_ids: list[int] = field(default_factory=list)
    signals: SignalState = field(default_factory=SignalState)
    version: int = SESSION_STATE_VERSION

    @property
    def session_id(self) -> str:
        """Deterministic id: ``f"{visitor_id}:{first_event_ms}"``.

        >>> SessionState(visitor_id="v9", first_event_ms=42, started_ms=42, last_ms=42).session_id
        'v9:42'
        """
        return f"{self.visitor_id}:{self.first_event_ms}"

    def has_ended(self, now_ms: int, options: SessionOptions) -> bool:
        """Whether the session is over at event time ``now_ms`` (gap passed, or local midnight).

        >>> st = SessionState(visitor_id="v", first_event_ms=0, started_ms=0, last_ms=0)
        >>> st.has_ended(60_000, SessionOptions()), st.has_ended(1_800_000, SessionOptions())
        (False, True)
        """
        if now_ms - self.last_ms >= options.inactivity_gap_ms:
            return True
        return (
            options.split_at_local_midnight
            and self.day_end_ms is not None
            and now_ms >= self.day_end_ms
        )

    def is_expired(self, now_ms: int, options: SessionOptions) -> bool:
        """Whether the state has been idle for ``state_ttl_ms`` and should be deleted.

        Emit :meth:`summary` with ``end_reason="expired"`` before deleting it.

        >>> st = SessionState(visitor_id="v", first_event_ms=0, started_ms=0, last_ms=0)
        >>> st.is_expired(3_600_000, SessionOptions()), st.is_expired(7_200_000, SessionOptions())
        (False, True)
        """
        return now_ms - self.last_ms >= options.state_ttl_ms

    def summary(self, end_reason: str = "inactivity") -> SessionSummary:
        """The session's final summary (see :class:`SessionSummary`).

        >>> SessionState(visitor_id="v", first_event_ms=5, started_ms=5, last_ms=9,
        ...              converted=True).summary().converted
        True
        """
        return SessionSummary(
            session_id=self.session_id,
            visitor_id=self.visitor_id,
            user_id=self.user_id,
            started_ms=self.started_ms,
            ended_ms=self.last_ms,
            converted=self.converted,
            conversion_value=self.conversion_value,
            conversion_kind=self.conversion_kind,
            events=self.events,
            page_views=self.page_views,
            end_reason=end_reason,
        )

    def features(self, now_ms: int) -> SessionFeatures:
        """The contract's features at event time ``now_ms`` (O(1)).

        ``session_age_s`` and ``since_last_event_s`` are measured to ``now_ms``
        (never negative). Signal flags reflect what the signal engine recorded
        in :attr:`signals`, so call this after ``SignalEngine.observe``.

        >>> st = SessionState(visitor_id="v", first_event_ms=0, started_ms=0, last_ms=10_000,
        ...                   page_views=2, page_type="pricing")
        >>> f = st.features(40_000)
        >>> f.numeric["session_age_s"], f.numeric["since_last_event_s"], f.categorical["page_type"]
        (40.0, 30.0, 'pricing')
        """
        dwell = self.dwell_ms
        if len(dwell) != _N_DWELL:
            raise ValueError(f"dwell has {len(dwell)} buckets, expected {_N_DWELL}")
        signals = self.signals
        fired = signals.fired
        # One tuple zipped with the names (built once): no item assignment per feature.
        # Key order is part of the result (model input, logged maps): _NUMERIC_KEYS keeps it.
        numeric = dict(zip(_NUMERIC_KEYS, (
            float(self.page_views),
            float(self.product_views),
            float(len(self.category_hashes)),
            float(self.max_views_same_product),
            *[ms / 1000.0 for ms in dwell],
            self.max_scroll_pct,
            float(self.clicks),
            float(self.searches),
            float(self.cart_adds),
            self.cart_value,
            float(self.form_errors),
            float(self.calculator_changes),
            max(0, now_ms - self.started_ms) / 1000.0,
            max(0, now_ms - self.last_ms) / 1000.0,
            1.0 if self.profile_returning or self.sessions_before > 0 else 0.0,
            float(self.past_purchases),
            1.0 if self.converted else 0.0,
            float(signals.signal_count) if fired else 0.0,
            *([1.0 if rule in fired else 0.0 for rule, _key in _SIGNAL_KEYS] if fired
              else _NO_FLAGS),
        ), strict=True))
        unknown = "unknown"
        categorical = {
            "sector": self.sector or unknown,
            "traffic_source": self.traffic_source or unknown,
            "device": self.device or unknown,
            "country": self.country or unknown,
            "landing_page_type": self.landing_page_type or unknown,
            "page_type": self.page_type or unknown,
            "category": self.category or "none",
            "product_id": self.product_id or "none",
            "loyalty_tier": self.loyalty_tier or unknown,
            "preferred_category": self.preferred_category or unknown,
            "industry": self.industry or self.stated_industry or unknown,
            "plan": self.plan or unknown,
        }
        return _new_features(numeric, categorical)  # SessionFeatures, without its __init__

    def to_bytes(self) -> bytes:
        """Compact JSON list; times relative to ``first_event_ms``.

        >>> st = SessionState(visitor_id="v", first_event_ms=0, started_ms=0, last_ms=0)
        >>> st.to_bytes()[:8]
        b'[1,"v",0'
        """
        base = self.first_event_ms
        obj: list[Any] = [
            self.version,
            self.visitor_id,
            self.first_event_ms,
            [self.started_ms - base, self.last_ms - base, _rel(self.day_start_ms, base),
             _rel(self.day_end_ms, base), _rel(self.previous_end_ms, base)],
            self.user_id,
            self.timezone,
            self.sessions_before,
            [self.events, self.page_views, self.product_views, self.clicks, self.searches,
             self.cart_adds, self.form_errors, self.calculator_changes],
            self.cart_value,
            self.max_scroll_pct,
            self.dwell_ms,
            self.category_hashes,
            [v for k, n in self.product_counts.items() for v in (k, n)],
            self.max_views_same_product,
            [self.page_type, self.category, self.product_id],
            [self.sector, self.traffic_source, self.device, self.country,
             self.landing_page_type],
            self.stated_industry,
            int(self.converted),
            self.conversion_value,
            self.conversion_kind,
            int(self.profile_returning),
            [self.loyalty_tier, self.preferred_category, self.industry, self.plan],
            self.past_purchases,
            self.recent_event_ids,
            self.signals.to_obj(),
        ]
        # The float fields are checked themselves (orjson writes a non-finite float as
        # null; a session holds None too, so the bytes prove nothing): every other field is
        # an int, a text or None (tests/unit/sessions: each float field is refused non-finite).
        if not (isfinite(self.cart_value) and isfinite(self.max_scroll_pct)
                and isfinite(self.conversion_value)):
            raise ValueError("a non-finite number cannot be stored as JSON")
        return orjson.dumps(obj)

    @classmethod
    def from_bytes(cls, data: bytes) -> SessionState:
        """Read what :meth:`to_bytes` wrote; refuse other format versions.

        >>> SessionState.from_bytes(b'[7,"v"]')  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pipeline.sessions.errors.SessionStateVersionError: session state format version 7 ...
        """
        try:
            obj = compact_json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SessionStateFormatError(f"session state is not JSON: {exc}") from exc
        if not isinstance(obj, list) or not obj:
            raise SessionStateFormatError("session state must be a non-empty JSON list")
        if obj[0] != SESSION_STATE_VERSION:
            raise SessionStateVersionError(
                f"session state format version {obj[0]!r} is not supported (this code reads "
                f"version {SESSION_STATE_VERSION}); let the state expire or rebuild the table"
            )
        if len(obj) != _FIELDS:
            raise SessionStateFormatError(
                f"session state has {len(obj)} items, expected {_FIELDS}"
            )
        try:
            return cls._from_obj(obj)
        except SignalStateFormatError as exc:
            raise SessionStateFormatError(f"session state's signals: {exc}") from exc
        except (TypeError, ValueError, IndexError, AttributeError) as exc:
            raise SessionStateFormatError(f"session state is malformed: {exc}") from exc

    @classmethod
    def _from_obj(cls, obj: list[Any]) -> SessionState:
        (_, visitor_id, first, times, user_id, timezone, sessions_before, counts, cart_value,
         max_scroll, dwell, categories, products, max_same, page, context, stated_industry,
         converted, conversion_value, conversion_kind, profile_returning, traits,
         past_purchases, recent, signals) = obj
        base = int(first)
        started, last, day_start, day_end, previous_end = times
        dwell_ms = [int(v) for v in dwell]
        if len(dwell_ms) != len(DWELL_BUCKETS):
            raise ValueError(f"dwell has {len(dwell_ms)} buckets, expected {len(DWELL_BUCKETS)}")
        flat = [int(v) for v in products]
        (events, page_views, product_views, clicks, searches, cart_adds, form_errors,
         calculator_changes) = (int(v) for v in counts)
        page_type, category, product_id = page
        sector, traffic_source, device, country, landing = context
        # A fourth trait (plan) since the account traits; states written before have three.
        loyalty_tier, preferred_category, industry, *rest = traits
        plan = rest[0] if rest else None
        return cls(
            visitor_id=str(visitor_id),
            first_event_ms=base,
            started_ms=int(started) + base,
            last_ms=int(last) + base,
            user_id=_opt(user_id),
            timezone=_opt(timezone),
            day_start_ms=_abs(day_start, base),
            day_end_ms=_abs(day_end, base),
            previous_end_ms=_abs(previous_end, base),
            sessions_before=int(sessions_before),
            events=events,
            page_views=page_views,
            product_views=product_views,
            clicks=clicks,
            searches=searches,
            cart_adds=cart_adds,
            form_errors=form_errors,
            calculator_changes=calculator_changes,
            cart_value=float(cart_value),
            max_scroll_pct=float(max_scroll),
            dwell_ms=dwell_ms,
            category_hashes=[int(v) for v in categories],
            product_counts={flat[i]: flat[i + 1] for i in range(0, len(flat) - 1, 2)},
            max_views_same_product=int(max_same),
            page_type=_opt(page_type),
            category=_opt(category),
            product_id=_opt(product_id),
            sector=_opt(sector),
            traffic_source=_opt(traffic_source),
            device=_opt(device),
            country=_opt(country),
            landing_page_type=_opt(landing),
            stated_industry=_opt(stated_industry),
            converted=bool(converted),
            conversion_value=float(conversion_value),
            conversion_kind=_opt(conversion_kind),
            profile_returning=bool(profile_returning),
            loyalty_tier=_opt(loyalty_tier),
            past_purchases=int(past_purchases),
            preferred_category=_opt(preferred_category),
            industry=_opt(industry),
            plan=_opt(plan),
            recent_event_ids=[int(v) for v in recent],
            signals=SignalState.from_obj(signals),
        )


#: ``SessionFeatures(numeric, categorical)`` (:mod:`pipeline.frozen`: once per scored event).
_new_features = maker(SessionFeatures)
