"""Options of the live console (``rtp console``), from ``RTP_CONSOLE_*`` and flags.

>>> o = ConsoleOptions.from_env({"RTP_CONSOLE_HTTP_PORT": "9000"})
>>> o.http_port, o.rate_window_s
(9000, 10)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.console.login import check_key
from pipeline.web.env import options_from_env

__all__ = ["ENV_PREFIX", "ConsoleOptions"]

#: Every option ``x`` is also read from ``RTP_CONSOLE_X``.
ENV_PREFIX = "RTP_CONSOLE_"


@dataclass(frozen=True)
class ConsoleOptions:
    """What the console reads, keeps and serves.

    Attributes
    ----------
    host, http_port
        Where the page and ``/v1/console`` listen (port 0: any free port).
    horizon_ms
        How far back the topics are read on start (24 h).
    max_decisions
        Decisions kept for the experiment figures (the oldest fall out first).
    max_events
        Event ids remembered for the event→action join (the oldest fall out first).
    max_latencies
        Event→action latencies kept (the newest).
    rate_window_s
        Decisions per second and the p99 are over this many most recent seconds.
    series_seconds
        Seconds shown in the decisions-per-second chart.
    report_every_s
        The experiment figures are recomputed at most this often (0: on every change).
    n_boot, time_buckets
        The experiment report's bootstrap resamples and points over time.
    poll_timeout_s, start_timeout_s
        One consumer poll; how long start waits for the broker.
    key
        The operator key the login asks for (``RTP_CONSOLE_KEY``, at least 12 characters;
        empty: ``rtp console`` makes a random one and prints it once).
    session_hours
        How long a login lasts.
    config_check_s
        When the config topic did not exist at start, how often the console looks for it
        (it follows the published configs from when the first ``rtp config publish``
        creates it).
    login_attempts, login_every_s
        Wrong keys (login form or Bearer) allowed from one client address in a row; after
        that one more every ``login_every_s`` seconds, and 429 with ``Retry-After`` until then.
    """

    host: str = "127.0.0.1"
    http_port: int = 8702
    horizon_ms: int = 24 * 3600 * 1000
    max_decisions: int = 200_000
    max_events: int = 200_000
    max_latencies: int = 50_000
    rate_window_s: int = 10
    series_seconds: int = 300
    report_every_s: float = 5.0
    n_boot: int = 200
    time_buckets: int = 24
    poll_timeout_s: float = 0.2
    start_timeout_s: float = 30.0
    key: str = field(default="", repr=False)
    session_hours: float = 12.0
    config_check_s: float = 5.0
    login_attempts: int = 5
    login_every_s: float = 60.0

    def __post_init__(self) -> None:
        for name in ("max_decisions", "max_events", "max_latencies", "rate_window_s",
                     "series_seconds", "n_boot", "time_buckets"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.report_every_s < 0:
            raise ValueError(f"report_every_s must be >= 0, got {self.report_every_s}")
        if self.key:
            check_key(self.key)
        if not self.config_check_s > 0:
            raise ValueError(f"config_check_s must be > 0, got {self.config_check_s}")
        if self.login_attempts < 1:
            raise ValueError(f"login_attempts must be >= 1, got {self.login_attempts}")
        if not self.login_every_s > 0:
            raise ValueError(f"login_every_s must be > 0, got {self.login_every_s}")
        if self.session_hours <= 0:
            raise ValueError(f"session_hours must be > 0, got {self.session_hours}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> ConsoleOptions:
        """Options from ``RTP_CONSOLE_*`` in ``env`` (default os.environ); ``overrides`` win."""
        return options_from_env(cls, ENV_PREFIX, env, **overrides)
