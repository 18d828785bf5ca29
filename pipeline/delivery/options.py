"""Options of the delivery service (``rtp delivery``), from ``RTP_DELIVERY_*`` and flags.

>>> o = DeliveryOptions.from_env({"RTP_DELIVERY_HTTP_PORT": "9100",
...                               "RTP_DELIVERY_CORS_ORIGINS": "https://shop.example"})
>>> o.http_port, o.cors_origins, o.budget_ms
(9100, frozenset({'https://shop.example'}), 150)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.delivery.runtime import EVENT_LOOPS
from pipeline.web.env import options_from_env

__all__ = ["ENV_PREFIX", "DeliveryOptions"]

#: Every option ``x`` is also read from ``RTP_DELIVERY_X``.
ENV_PREFIX = "RTP_DELIVERY_"


@dataclass(frozen=True)
class DeliveryOptions:
    """How the delivery service listens, what it holds, and what the storefront is told.

    Attributes
    ----------
    host, http_port
        Where the HTTP API listens (port 0: any free port).
    max_visitors
        Visitors held in memory; the least recently used is evicted beyond it (100 000,
        about 100 MB with two slots each).
    max_slots_per_visitor
        Slots held per visitor (8); the decision that expires first makes room.
    remembered_ids
        Decision ids remembered to serve a replayed decision once (200 000, more than a
        horizon's worth of decisions at demo rates; older ids fall out first).
    horizon_ms
        How far back the topic is read on start to rebuild the store: at least the
        longest decision ttl in the action catalog (30 min there), so 1 hour.
    start_timeout_s
        How long start-up waits for the actions topic to be readable (a topic just
        created has no partition leader for a moment) before failing.
    poll_timeout_s, poll_max_records
        One consumer poll (short, so shutdown is prompt) and its batch size.
    sse_queue
        Decisions buffered per SSE connection; a client that falls this far behind is
        disconnected (its EventSource reconnects and gets the current state).
    sse_heartbeat_s
        Comment lines that keep idle SSE connections open through proxies.
    max_outcomes
        Outcomes accepted in one POST (a list).
    max_body_bytes
        Largest request body (outcomes are small).
    cors_origins
        Origins whose pages may call the API (``*`` for any); the storefront it serves
        itself is same-origin.
    serve_shop
        Serve the demo storefront under ``/shop/`` and the tracker at ``/rtp.js``.
    collector_url, write_key
        Where the storefront's tracker sends events, and the collector write key it uses.
    budget_ms
        The tracker's time budget for decisions before it paints personalized slots; also
        how long ``GET /v1/decisions?trigger=…`` holds a request that gives no ``wait_ms``.
    max_wait_ms
        The longest a request is held for its trigger's decision (a larger ``wait_ms`` is
        cut to it): 1 s.
    max_held
        Requests held at once waiting for their trigger's decision (10 000); beyond it a
        request is answered at once with what is held (header ``X-RTP-Wait: full``).
    remembered_triggers
        Trigger event ids remembered as decided (100 000), so a request that arrives after
        its decision is answered at once.
    consent_required
        Whether the storefront asks for consent before tracking and personalizing.
    group_id
        Consumer group id (used for naming only: the service reads every partition
        itself and commits nothing, so every instance holds every visitor).
    answer_cache
        Encoded ``GET /v1/decisions`` answers kept for reuse while the visitor's
        decisions are unchanged, and the JSON of up to twice as many decisions for the
        answers that must be made again (10 000, a few MB; 0: encode every answer).
    event_loop
        ``auto`` (uvloop when installed, else asyncio's loop), ``asyncio`` or ``uvloop``.
    max_client_value
        Largest ``converted`` value a page may report (10 000); server-side purchases
        remain the source of conversions.
    visitor_rate_per_s, visitor_burst
        Requests per visitor (decisions, stream, outcomes; counted once its token is
        checked): 20/s with a burst of 100; beyond it 429 with a message and Retry-After.
    address_rate_per_s, address_burst
        Requests per client address (:mod:`pipeline.web.rate_limits`): 100/s with a burst
        of 1 000 (many visitors behind one NAT); behind a proxy, raise it or limit there.
    metrics_token
        ``/metrics`` answers only with ``Authorization: Bearer <metrics_token>``; empty
        (the default): ``/metrics`` is refused.
    idle_timeout_s
        Header and keep-alive timeout: a connection without a complete request head this
        long after it connected or after its last answer is closed (open SSE streams
        are answers in progress and are not affected).
    body_timeout_s
        A request body that has not fully arrived this long after its head gets 408 and
        the connection is closed.
    admin_token
        ``GET /v1/privacy/export`` for any visitor with ``Authorization: Bearer
        <admin_token>`` (``RTP_DELIVERY_ADMIN_TOKEN``, an operator's secret); empty (the
        default): only a visitor's own token exports, for that visitor.
    export_window_ms
        How far back an export reads the visitor's decisions on the actions topic (1 day,
        the topic's retention).
    export_history_ms
        How far back an export reads the visitor's events, outcomes, signals (on the
        visitor's partition) and decision-log entries (on every partition of the decision
        log): 7 days, the retention of events and outcomes.
    export_max_records
        The most records an export reads per partition of those topics (the newest of the
        window; the export names a part that was cut): bounds its cost on a busy site.
    export_timeout_s
        The longest one export may read Kafka before it answers 503.
    worker_group
        The workers' group (``rtp worker --app-id``, default ``rtp-personalize``): an export
        reads the profile side's table of people from its changelog,
        ``<worker_group>-profiles-profiles-changelog``.
    settle_heap
        Once caught up, collect garbage and freeze what is left, so the cyclic
        collector never walks the filled store again (a full collection of a
        100 000-visitor store stops every request for about 0.3 s), and make young
        collections rarer (``runtime.GEN0_THRESHOLD``) so that held requests are not
        promoted into full collections.

    >>> DeliveryOptions().horizon_ms // 60_000, DeliveryOptions(budget_ms=90).budget_ms
    (60, 90)
    """

    host: str = "127.0.0.1"
    http_port: int = 8700
    max_visitors: int = 100_000
    max_slots_per_visitor: int = 8
    remembered_ids: int = 200_000
    horizon_ms: int = 60 * 60 * 1000
    start_timeout_s: float = 30.0
    poll_timeout_s: float = 0.2
    poll_max_records: int = 500
    sse_queue: int = 64
    sse_heartbeat_s: float = 15.0
    max_outcomes: int = 50
    max_body_bytes: int = 64 * 1024
    cors_origins: frozenset[str] = frozenset()
    serve_shop: bool = True
    collector_url: str = "http://127.0.0.1:8701"
    write_key: str = ""
    budget_ms: int = 150
    max_wait_ms: int = 1000
    max_held: int = 10_000
    remembered_triggers: int = 100_000
    consent_required: bool = True
    group_id: str = "rtp-delivery"
    answer_cache: int = 10_000
    event_loop: str = "auto"
    settle_heap: bool = True
    idle_timeout_s: float = 15.0
    body_timeout_s: float = 10.0
    max_client_value: float = 10_000.0
    metrics_token: str = ""
    admin_token: str = ""
    export_window_ms: int = 24 * 60 * 60 * 1000
    export_timeout_s: float = 20.0
    export_history_ms: int = 7 * 24 * 60 * 60 * 1000
    export_max_records: int = 200_000
    worker_group: str = "rtp-personalize"
    visitor_rate_per_s: float = 20.0
    visitor_burst: int = 100
    address_rate_per_s: float = 100.0
    address_burst: int = 1_000

    def __post_init__(self) -> None:
        for name in ("max_visitors", "max_slots_per_visitor", "remembered_ids",
                     "poll_max_records", "sse_queue", "max_outcomes", "max_body_bytes",
                     "remembered_triggers", "visitor_burst", "address_burst"):
            if getattr(self, name) < 1:
                raise ValueError(f"DeliveryOptions.{name} must be at least 1")
        if min(self.horizon_ms, self.budget_ms, self.answer_cache, self.max_wait_ms,
               self.max_held) < 0:
            raise ValueError("DeliveryOptions.horizon_ms, budget_ms, answer_cache, max_wait_ms "
                             "and max_held must not be negative")
        if self.idle_timeout_s <= 0 or self.body_timeout_s <= 0 or self.export_timeout_s <= 0:
            raise ValueError("DeliveryOptions.idle_timeout_s, body_timeout_s and "
                             "export_timeout_s must be positive")
        if self.export_window_ms < 0 or self.export_history_ms < 0:
            raise ValueError("DeliveryOptions.export_window_ms and export_history_ms must not "
                             "be negative")
        if self.export_max_records < 1:
            raise ValueError("DeliveryOptions.export_max_records must be at least 1")
        if self.visitor_rate_per_s <= 0 or self.address_rate_per_s <= 0:
            raise ValueError("DeliveryOptions.visitor_rate_per_s and address_rate_per_s must be "
                             "positive")
        if self.event_loop not in EVENT_LOOPS:
            raise ValueError(f"DeliveryOptions.event_loop must be one of {EVENT_LOOPS}, "
                             f"got {self.event_loop!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> DeliveryOptions:
        """Options from ``RTP_DELIVERY_*`` (default ``os.environ``); non-None overrides win."""
        return options_from_env(cls, ENV_PREFIX, env, **overrides)
