"""The console service assembled: feed thread -> tally -> HTTP, started and stopped cleanly.

>>> from pipeline.settings import Settings
>>> service = ConsoleService(Settings(kafka_port=1), ConsoleOptions(http_port=0))
>>> service.catalog.version >= 1, service.served is None
(True, True)
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from pipeline.config.objective import Objective
from pipeline.console.app import build_app
from pipeline.console.feed import ConsoleFeed
from pipeline.console.login import LoginThrottle, new_key
from pipeline.console.options import ConsoleOptions
from pipeline.console.tally import ConsoleTally, compute_experiment
from pipeline.decide.catalog import Catalog, load_catalog
from pipeline.engine import EngineOptions
from pipeline.kafka_log import kafka_config
from pipeline.logs import say
from pipeline.settings import Settings
from pipeline.topics import CONFIG
from pipeline.web.serve import ServedApp, start_app, stop_on_signals
from topologies.config_feed import ConfigFeed, Published

__all__ = ["ConsoleService", "run_console"]

log = structlog.get_logger(__name__)


class ConsoleService:
    """``rtp console`` for ``settings`` (broker, topic prefix); ``engine`` names the catalog."""

    def __init__(self, settings: Settings, options: ConsoleOptions,
                 engine: EngineOptions | None = None,
                 clock: Callable[[], float] = time.time,
                 objective: Objective = Objective.CONVERSION) -> None:
        self.settings = settings
        self.options = options
        self.clock = clock
        #: The login's key: the options', or a random one (:attr:`key_generated`).
        self.key = options.key or new_key()
        self.key_generated = not options.key
        engine = engine or EngineOptions()
        self.catalog: Catalog = (engine.catalog if engine.catalog is not None
                                 else load_catalog(engine.catalog_path))
        #: The published config version shown (0: the startup one, ``--config``); the
        #: console follows ``rtp config publish`` like the workers: its catalog and
        #: objective replace the startup ones.
        self.config_version = 0
        self.configs: ConfigFeed | None = None
        self._configs_lock = threading.Lock()
        self._stopping = threading.Event()
        self._watch: threading.Thread | None = None
        self.lock = threading.Lock()
        self._computing = threading.Lock()
        self.tally = ConsoleTally(options, objective=objective)
        self.feed = ConsoleFeed(settings, options, self.tally, self.lock, clock=clock)
        self.served: ServedApp | None = None

    def snapshot(self) -> dict[str, Any]:
        """The figures now, with where the feed is. The experiment figures are computed
        outside the feed's lock (the feed goes on reading meanwhile), one at a time."""
        with self._computing:
            with self.lock:
                inputs = self.tally.experiment_inputs()
            if inputs is not None:
                figures = compute_experiment(inputs)
                with self.lock:
                    self.tally.experiment_done(figures, inputs)
        if self.configs is not None:
            published = self.configs.take()
            if published is not None:
                self._use(published)
        with self.lock:
            body = self.tally.snapshot(int(self.clock() * 1000), self.catalog)
        body["config_version"] = self.config_version
        state = self.feed.state
        body["feed"] = {"caught_up": state.caught_up, "behind": state.behind,
                        "missing": list(state.missing), "undecodable": state.undecodable,
                        "error": state.error, "topic_prefix": self.settings.topic_prefix}
        return body

    def status(self) -> tuple[bool, bool, str]:
        """(feed alive, caught up, a line saying where it is)."""
        state = self.feed.state
        where = (f"{state.behind} records behind, {len(state.assigned)} topics read"
                 + (f", waiting for {', '.join(state.missing)}" if state.missing else ""))
        return self.feed.alive, state.caught_up, where

    def _use(self, published: Published) -> None:
        """Show a published config's catalog and lead with its objective."""
        with self.lock:
            self.catalog = published.config.catalog.catalog
            self.tally.objective = published.config.objective
            self.tally.figures_stale()
        self.config_version = published.ref.version
        log.info("console follows config version", version=published.ref.version)

    def _follow_configs(self, admin: AdminClient | None = None) -> bool:
        """Read the published configs when the config topic exists (nothing is created);
        False when it does not (yet)."""
        topic = self.settings.topic(CONFIG)
        if not topic_exists(self.settings.bootstrap, topic, admin=admin):
            return False
        configs = ConfigFeed(self.settings.bootstrap, topic)
        try:
            published = configs.start(self.options.start_timeout_s)
        except KafkaException:
            configs.close()  # asked again at the next check (or the start fails, as before)
            raise
        with self._configs_lock:
            if self._stopping.is_set():
                configs.close()
                return True
            self.configs = configs
        if published is not None:
            self._use(published)
        return True

    def _watch_for_configs(self) -> None:
        """Look for the config topic every ``config_check_s`` until it is there (the first
        ``rtp config publish`` creates it), then follow it."""
        topic = self.settings.topic(CONFIG)
        admin = AdminClient(kafka_config({"bootstrap.servers": self.settings.bootstrap}))
        while not self._stopping.wait(self.options.config_check_s):
            try:
                if self._follow_configs(admin):
                    log.info("config topic created: the console follows it", topic=topic)
                    return
            except KafkaException as exc:  # the broker away for a while: ask again later
                log.warning("config topic not checked", topic=topic, error=str(exc))

    async def start(self) -> ServedApp:
        """Start the feed threads, then serve."""
        if not await asyncio.get_running_loop().run_in_executor(None, self._follow_configs):
            log.info("no config topic yet: showing the startup config, and following the "
                     "topic once it is created", topic=self.settings.topic(CONFIG),
                     check_every_s=self.options.config_check_s)
            self._watch = threading.Thread(target=self._watch_for_configs,
                                           name="console-config-watch", daemon=True)
            self._watch.start()
        self.feed.start()
        self.served = await start_app(
            build_app(self.snapshot, self.status, self.key,
                      int(self.options.session_hours * 3600), self.clock,
                      LoginThrottle(self.options.login_attempts, self.options.login_every_s)),
            self.options.host, self.options.http_port)
        log.info("console listening", url=f"{self.served.url}/console/",
                 catalog_version=self.catalog.version)
        return self.served

    async def stop(self) -> None:
        """Stop serving, then stop the feed."""
        if self.served is not None:
            await self.served.close()
            self.served = None
        await asyncio.get_running_loop().run_in_executor(None, self.feed.stop)
        self._stopping.set()
        if self._watch is not None:
            watch = self._watch
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: watch.join(self.options.start_timeout_s + 10))
            self._watch = None
        with self._configs_lock:
            configs, self.configs = self.configs, None
        if configs is not None:
            configs.close()


def topic_exists(bootstrap: str, topic: str, timeout_s: float = 10.0,
                 admin: AdminClient | None = None) -> bool:
    """Whether ``topic`` is on the cluster (asked without creating anything; ``admin``:
    a client to reuse)."""
    admin = admin or AdminClient(kafka_config({"bootstrap.servers": bootstrap}))
    return topic in admin.list_topics(timeout=timeout_s).topics


def run_console(settings: Settings, options: ConsoleOptions, engine: EngineOptions | None = None,
                echo: Callable[[str], None] = say,
                objective: Objective = Objective.CONVERSION) -> int:
    """Run the console until SIGTERM/SIGINT; 0 on a clean stop."""

    async def main() -> None:
        stop = asyncio.Event()
        uninstall = stop_on_signals(stop)
        service = ConsoleService(settings, options, engine, objective=objective)
        try:
            served = await service.start()
            echo(f"console: {served.url}/console/")
            if service.key_generated:  # on stdout only, never through the log
                print(f"console key (RTP_CONSOLE_KEY was not set; this one lasts until the "
                      f"console stops): {service.key}", flush=True)
            await stop.wait()
        finally:
            await service.stop()
            uninstall()

    asyncio.run(main())
    return 0
