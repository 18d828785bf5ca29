"""Options of the collector (``rtp collector``), from ``RTP_COLLECTOR_*`` and flags.

>>> o = CollectorOptions.from_env({"RTP_COLLECTOR_WRITE_KEYS": "k1,k2",
...                                "RTP_COLLECTOR_MAX_BATCH": "50"})
>>> sorted(o.write_keys), o.max_batch, o.require_auth
(['k1', 'k2'], 50, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.collector.identity import MIN_IDENTITY_KEY_CHARS
from pipeline.collector.minimise import ALLOWED_PROPERTIES, ALLOWED_TRAITS
from pipeline.web.env import options_from_env

__all__ = ["ENV_PREFIX", "SECTORS", "CollectorOptions"]

#: Every option ``x`` is also read from ``RTP_COLLECTOR_X``.
ENV_PREFIX = "RTP_COLLECTOR_"

#: ClickEvent.context.sector values.
SECTORS: tuple[str, ...] = ("ecommerce", "saas", "travel", "finance")


@dataclass(frozen=True)
class CollectorOptions:
    """Where the collector listens and what it accepts.

    Attributes
    ----------
    host, http_port
        Where it listens (port 0: any free port).
    write_keys
        Accepted write keys (Segment's: HTTP Basic user name, empty password; or
        ``writeKey`` in the body, which is how the tracker sends it with sendBeacon).
    server_keys
        Secret write keys of the site's servers (``RTP_COLLECTOR_SERVER_KEYS``): accepted like
        write keys, and a request using one is trusted to name any user id (server-side
        Segment SDKs). Never put one in a page.
    identity_keys
        Secrets the site's server signs user ids with (``RTP_COLLECTOR_IDENTITY_KEYS``,
        comma-separated, two during a rotation): a user id sent with the public write key
        joins a device to a person only with a matching ``userHash``
        (:mod:`pipeline.collector.identity`); without one it stays a device's claim.
    require_auth
        Refuse requests without a valid write key (on by default; turning it off is for
        local experiments only).
    cors_origins
        Origins whose pages may send (``*`` for any); requests from other origins get 403.
    max_body_bytes
        Largest request body: 500 KB like Segment's batch limit.
    max_batch
        Most messages (Segment batch) or events (native) in one request.
    visitor_rate_per_s, visitor_burst
        Per-visitor token bucket: sustained events per second and burst. A tracker
        sends a few events per second at most; 20/s with a burst of 200 leaves room for
        a flushed backlog and stops a runaway loop.
    key_rate_per_s, key_burst
        Per-write-key token bucket (a whole site).
    address_rate_per_s, address_burst
        Requests per client address (:mod:`pipeline.web.rate_limits`; 429 beyond it): 50/s
        with a burst of 500, room for many visitors behind one NAT. Behind a proxy every
        request has the proxy's address: raise it, or limit at the proxy.
    rate_keys
        Buckets kept (least recently used dropped; a dropped bucket starts full again).
    dedup_window_ms, dedup_max
        A messageId seen within this window (10 min) is acknowledged but not produced
        again; at most ``dedup_max`` ids are remembered.
    sector
        ``context.sector`` for events that do not say (the site's sector).
    allowed_traits
        Identify traits that are kept (an allow-list; values that look like personal
        data are dropped even here).
    allowed_properties
        Custom event properties that are kept (an allow-list; e-mails in their values are
        replaced).
    vocabulary
        Values kept as sent in id and vocabulary fields although they are not machine
        words (``RTP_COLLECTOR_VOCABULARY=Home & Garden,Real Estate,Audio``): e.g.
        multi-word or capitalised category names a guardrail or a report must read. Every
        other value there that is not a machine word (whitespace, an ``@``, a control
        character, beyond ASCII, an apostrophe, a capitalised run of letters without a
        digit) becomes its keyed token ``t.<hex>`` (an industry is dropped instead), so a
        name, full or one word, typed or templated into such a field never reaches Kafka
        (:func:`~pipeline.collector.minimise.is_machine_word`).
    keep_search_text
        Keep search text as typed (off by default: a search is kept as a keyed token of its
        normalised words and its length, enough to see it repeated).
    metrics_token
        ``/metrics`` answers only with ``Authorization: Bearer <metrics_token>``; empty
        (the default): ``/metrics`` is refused.
    admin_token
        ``POST /v1/privacy/erasure`` answers only with ``Authorization: Bearer
        <admin_token>`` (``RTP_COLLECTOR_ADMIN_TOKEN``); empty (the default): refused (403).
        An operator's secret, never the write key (which browsers carry).
    idle_timeout_s
        Header and keep-alive timeout: a connection without a complete request head this
        long after it connected or after its last answer is closed.
    body_timeout_s
        A request body that has not fully arrived this long after its head gets 408 and
        the connection is closed.

    >>> CollectorOptions(require_auth=False).max_body_bytes
    512000
    >>> CollectorOptions(require_auth=False, identity_keys=frozenset({"short"}))
    Traceback (most recent call last):
    ...
    ValueError: identity keys must be at least 16 characters (RTP_COLLECTOR_IDENTITY_KEYS)
    >>> CollectorOptions(write_keys=frozenset({"k"}), sector="retail")
    Traceback (most recent call last):
    ...
    ValueError: sector must be one of ecommerce, saas, travel, finance (got 'retail')
    """

    host: str = "127.0.0.1"
    http_port: int = 8701
    write_keys: frozenset[str] = frozenset()
    server_keys: frozenset[str] = frozenset()
    identity_keys: frozenset[str] = frozenset()
    require_auth: bool = True
    cors_origins: frozenset[str] = frozenset()
    max_body_bytes: int = 500 * 1024
    max_batch: int = 500
    visitor_rate_per_s: float = 20.0
    visitor_burst: int = 200
    key_rate_per_s: float = 2_000.0
    key_burst: int = 20_000
    address_rate_per_s: float = 50.0
    address_burst: int = 500
    rate_keys: int = 100_000
    dedup_window_ms: int = 10 * 60 * 1000
    dedup_max: int = 200_000
    sector: str = "ecommerce"
    idle_timeout_s: float = 15.0
    body_timeout_s: float = 10.0
    metrics_token: str = ""
    admin_token: str = ""
    allowed_traits: frozenset[str] = ALLOWED_TRAITS
    allowed_properties: frozenset[str] = ALLOWED_PROPERTIES
    keep_search_text: bool = False
    vocabulary: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.require_auth and not (self.write_keys or self.server_keys):
            raise ValueError("the collector requires a write key: set RTP_COLLECTOR_WRITE_KEYS "
                             "(or --write-key), or turn auth off with require_auth=False")
        if any(len(k) < MIN_IDENTITY_KEY_CHARS for k in self.identity_keys):
            raise ValueError(f"identity keys must be at least {MIN_IDENTITY_KEY_CHARS} characters "
                             "(RTP_COLLECTOR_IDENTITY_KEYS)")
        if self.sector not in SECTORS:
            raise ValueError(f"sector must be one of {', '.join(SECTORS)} (got {self.sector!r})")
        for name in ("max_body_bytes", "max_batch", "visitor_burst", "key_burst", "rate_keys",
                     "dedup_max", "address_burst"):
            if getattr(self, name) < 1:
                raise ValueError(f"CollectorOptions.{name} must be at least 1")
        if self.visitor_rate_per_s <= 0 or self.key_rate_per_s <= 0 \
                or self.address_rate_per_s <= 0:
            raise ValueError("rates must be positive")
        if self.idle_timeout_s <= 0 or self.body_timeout_s <= 0:
            raise ValueError("CollectorOptions.idle_timeout_s and body_timeout_s must be positive")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> CollectorOptions:
        """Options from ``RTP_COLLECTOR_*`` (default ``os.environ``); non-None overrides win."""
        return options_from_env(cls, ENV_PREFIX, env, **overrides)
