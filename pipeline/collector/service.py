"""The collector assembled: ingest pipeline + producer + HTTP, stopped cleanly.

:func:`run_collector` serves until SIGTERM/SIGINT, then stops accepting,
finishes requests in flight and flushes the producer, so every acknowledged
event reaches Kafka. Messages are acknowledged (200) once handed to the
producer's queue; librdkafka retries them (idempotent producer, ``acks=all``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import structlog

from pipeline.client import EventProducer
from pipeline.collector.app import CollectorState, MessageSink, build_app
from pipeline.collector.ingest import Ingestor
from pipeline.collector.metrics import CollectorMetrics
from pipeline.collector.options import CollectorOptions
from pipeline.logs import say
from pipeline.profiles.pseudonym import resolve_pseudonyms
from pipeline.serde import Codec, MeaningRules
from pipeline.settings import Settings
from pipeline.web.serve import ServedApp, start_app, stop_on_signals
from pipeline.web.visitor_token import tokens_for

__all__ = ["CollectorService", "run_collector"]

log = structlog.get_logger(__name__)


class CollectorService:
    """The collector of ``settings`` (broker, topic prefix) with ``options``.

    It starts without a broker (the producer connects on first use):

    >>> import asyncio
    >>> async def up_and_down() -> bool:
    ...     service = CollectorService(Settings(kafka_port=1), CollectorOptions(
    ...         http_port=0, require_auth=False))
    ...     served = await service.start()
    ...     await service.stop()
    ...     return served.port > 0
    >>> from structlog.testing import capture_logs
    >>> with capture_logs() as logs:
    ...     asyncio.run(up_and_down())
    True
    >>> "collector listening" in [entry["event"] for entry in logs]
    True

    """

    def __init__(self, settings: Settings, options: CollectorOptions, *,
                 sink: MessageSink | None = None,
                 wall: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.options = options
        codec = Codec.default()
        self.producer = EventProducer(settings, codec)
        self.ingestor = Ingestor(options, codec,
                                 MeaningRules(max_future_skew_ms=settings.max_future_skew_ms),
                                 wall=wall,
                                 pseudonyms=resolve_pseudonyms(settings))
        self.tokens = tokens_for(settings.token_keys(), log.warning)
        self.state = CollectorState(self.ingestor, sink if sink is not None else self.producer,
                                    settings.topic, CollectorMetrics.create(), self.tokens)
        self.served: ServedApp | None = None
        self._reports: asyncio.Task[None] | None = None

    async def _serve_reports(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.producer.flush(0)  # serve delivery reports

    async def start(self) -> ServedApp:
        """Serve the API; returns where it listens."""
        self._reports = asyncio.create_task(self._serve_reports())
        self.served = await start_app(build_app(self.state), self.options.host,
                                      self.options.http_port,
                                      idle_timeout_s=self.options.idle_timeout_s)
        log.info("collector listening", url=self.served.url)
        return self.served

    async def stop(self) -> None:
        """Stop accepting, finish requests in flight, flush what was acknowledged."""
        if self.served is not None:
            await self.served.close()
            self.served = None
        if self._reports is not None:
            self._reports.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reports
            self._reports = None
        remaining = await asyncio.get_running_loop().run_in_executor(None, self.producer.flush,
                                                                      30.0)
        if remaining:
            log.error("acknowledged events not delivered at shutdown", remaining=remaining)


def run_collector(settings: Settings, options: CollectorOptions,
                  echo: Callable[[str], None] = say) -> int:
    """Run the collector until SIGTERM/SIGINT; returns the exit code.

    Here the echo of the start-up line sends the SIGTERM (its handler is installed by then):

    >>> import os, signal
    >>> from structlog.testing import capture_logs
    >>> with capture_logs():
    ...     run_collector(Settings(kafka_port=1), CollectorOptions(http_port=0,
    ...                   require_auth=False), echo=lambda line: os.kill(os.getpid(),
    ...                                                                  signal.SIGTERM))
    0
    """

    async def main() -> None:
        stop = asyncio.Event()
        uninstall = stop_on_signals(stop)
        service = CollectorService(settings, options)
        try:
            served = await service.start()
            echo(f"collector: {served.url}/v1/batch (Segment)  {served.url}/v1/t (tracker)")
            await stop.wait()
            echo("collector: stopping")
        finally:
            await service.stop()
            uninstall()

    asyncio.run(main())
    return 0
