"""One settings object for every rtp process, read from ``RTP_*`` environment variables.

Flags on the command line override the environment (the CLI builds a new
:class:`Settings` with :func:`dataclasses.replace`). Nothing else in the code
reads the environment, so tests pass a ``Settings`` instead of patching globals.

>>> s = Settings.from_env({"RTP_KAFKA_PORT": "19092"})
>>> s.kafka_port, s.bootstrap
(19092, '127.0.0.1:19092')
>>> Settings.from_env({"RTP_KAFKA_BOOTSTRAP": "kafka:9092"}).bootstrap
'kafka:9092'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

__all__ = ["PROJECT_ROOT", "Settings", "SettingsError"]

#: The repository root: ``schemas/``, ``deploy/`` and the cache live beside the package.
PROJECT_ROOT = Path(__file__).resolve().parents[1]


class SettingsError(ValueError):
    """An ``RTP_*`` variable has a value of the wrong type."""


@dataclass(frozen=True)
class Settings:
    """Configuration of rtp processes; every field maps to ``RTP_<FIELD_NAME>``.

    >>> Settings().kafka_version
    '4.1.1'
    >>> Settings.env_name("kafka_port")
    'RTP_KAFKA_PORT'
    """

    #: Bootstrap servers; empty means the local broker on ``kafka_host:kafka_port``.
    kafka_bootstrap: str = ""
    kafka_host: str = "127.0.0.1"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    #: Apache Kafka version resolved from Maven Central for the local broker.
    kafka_version: str = "4.1.1"
    kafka_heap: str = "512m"
    #: Where the project keeps the broker jars, its data and logs.
    cache_dir: Path = PROJECT_ROOT / ".cache"
    schemas_dir: Path = PROJECT_ROOT / "schemas"
    #: Default partitions of the keyed event topics (changelogs must match).
    partitions: int = 4
    replication: int = 1
    #: Prepended to every topic name (tests and tenants share a broker this way).
    topic_prefix: str = ""
    #: "auto" = readable on a terminal, JSON otherwise; or "json" / "console".
    log_format: str = "auto"
    log_level: str = "info"
    #: Events whose event time is this far past the wall clock are rejected.
    max_future_skew_ms: int = 5 * 60 * 1000
    #: Secret keys of visitor tokens, comma-separated, newest first (two while rotating);
    #: the collector signs with the first, delivery accepts any. Empty: each web-tier
    #: process makes a random key at start (tokens then die with the process).
    visitor_token_keys: str = ""
    #: Secret keys of user-id pseudonyms (:mod:`pipeline.profiles.pseudonym`), newest first.
    #: The collector and the SDK replace every user id by its keyed pseudonym before
    #: producing. Empty: a random key kept in ``cache_dir/pseudonym.key`` (one machine).
    pseudonym_keys: str = ""
    #: Refuse to start without :attr:`pseudonym_keys` (several machines must share one key).
    require_pseudonym_keys: bool = False
    #: Port of ``rtp worker``'s own ``/metrics`` (prometheus_client); 0: not served.
    worker_metrics_port: int = 0
    #: Address it listens on (``0.0.0.0`` in a pod, so that Prometheus reaches it).
    worker_metrics_host: str = "127.0.0.1"

    def token_keys(self) -> tuple[str, ...]:
        """:attr:`visitor_token_keys` as a tuple (empty when unset).

        >>> Settings(visitor_token_keys="new-key-0123456789, old-key-0123456789").token_keys()
        ('new-key-0123456789', 'old-key-0123456789')
        """
        return tuple(k.strip() for k in self.visitor_token_keys.split(",") if k.strip())

    def pseudonym_key_list(self) -> tuple[str, ...]:
        """:attr:`pseudonym_keys` as a tuple (empty when unset).

        >>> Settings(pseudonym_keys="new-key-0123456789,old-key-0123456789").pseudonym_key_list()
        ('new-key-0123456789', 'old-key-0123456789')
        """
        return tuple(k.strip() for k in self.pseudonym_keys.split(",") if k.strip())

    @property
    def bootstrap(self) -> str:
        """The ``bootstrap.servers`` string clients use."""
        return self.kafka_bootstrap or f"{self.kafka_host}:{self.kafka_port}"

    def topic(self, name: str) -> str:
        """The full name of topic ``name`` under :attr:`topic_prefix`.

        >>> Settings(topic_prefix="t1.").topic("clickstream.events")
        't1.clickstream.events'
        """
        return self.topic_prefix + name

    @property
    def uses_local_broker(self) -> bool:
        """True when no external bootstrap was configured.

        >>> Settings().uses_local_broker, Settings(kafka_bootstrap="k:1").uses_local_broker
        (True, False)
        """
        return not self.kafka_bootstrap

    @staticmethod
    def env_name(field_name: str) -> str:
        """The environment variable that sets ``field_name``."""
        return "RTP_" + field_name.upper()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default: ``os.environ``); unknown ``RTP_*`` are ignored.

        >>> Settings.from_env({"RTP_PARTITIONS": "x"})
        Traceback (most recent call last):
        ...
        pipeline.settings.SettingsError: RTP_PARTITIONS must be an integer, got 'x'
        """
        source = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = source.get(cls.env_name(f.name))
            if raw is None or raw == "":
                continue
            default = getattr(cls, f.name)
            if isinstance(default, bool):
                values[f.name] = raw.strip().lower() in {"1", "true", "yes", "on"}
            elif isinstance(default, int):
                try:
                    values[f.name] = int(raw)
                except ValueError:
                    raise SettingsError(
                        f"{cls.env_name(f.name)} must be an integer, got {raw!r}"
                    ) from None
            elif isinstance(default, Path):
                values[f.name] = Path(raw).expanduser()
            else:
                values[f.name] = raw
        return cls(**values)  # type: ignore[arg-type]
