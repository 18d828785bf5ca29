"""The delivery service assembled: feed -> store -> API and streams, started and stopped cleanly.

:class:`DeliveryService` owns the parts. ``start()`` starts the action feed
(read-back over the horizon begins at once; ``/readyz`` says when it is done and the
heap settled after it),
the answer feed (``personalization.answers``, the worker's "decided: nothing" for events a
page waits on; the last minute read back; without the topic the service serves on and
logs a warning) and then the HTTP server; ``stop()`` stops accepting, ends the SSE streams,
waits for requests in flight, stops the consumer thread and flushes the
producers. Once the read-back is complete the heap is settled (see
:func:`~pipeline.delivery.runtime.settle_heap`). :func:`run_delivery` runs it
until SIGTERM or SIGINT, on uvloop when it is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import structlog

from pipeline.client import EventProducer
from pipeline.delivery.app import DeliveryState, OutcomeSink, build_app
from pipeline.delivery.errors import FeedError
from pipeline.delivery.feed import ActionFeed
from pipeline.delivery.metrics import DeliveryMetrics
from pipeline.delivery.options import DeliveryOptions
from pipeline.delivery.person import PersonReader, people_changelog
from pipeline.delivery.runtime import loop_factory, loop_name, settle_heap, unsettle_heap
from pipeline.delivery.store import DecisionStore
from pipeline.delivery.stream import StreamHub
from pipeline.delivery.waits import TriggerWaits
from pipeline.logs import say
from pipeline.serde import Codec, MeaningRules
from pipeline.settings import Settings
from pipeline.topics import ANSWERS
from pipeline.web.serve import ServedApp, start_app, stop_on_signals
from pipeline.web.visitor_token import tokens_for

__all__ = ["DeliveryService", "run_delivery"]

log = structlog.get_logger(__name__)

#: How often expired decisions are dropped and producer delivery reports served.
_HOUSEKEEPING_S = 1.0
#: How far back the answer feed starts: an answer only serves a request held now or one
#: arriving just after it (held requests last at most ``max_wait_ms``).
_ANSWER_HORIZON_MS = 60_000


class DeliveryService:
    """The delivery service of ``settings`` (topic prefix, broker) with ``options``.

    Nothing connects before :meth:`start`:

    >>> service = DeliveryService(Settings(kafka_port=1, visitor_token_keys="0123456789abcdef"),
    ...                           DeliveryOptions(http_port=0))
    >>> service.store.visitors, service.feed.topic, service.served is None
    (0, 'personalization.actions', True)
    """

    def __init__(self, settings: Settings, options: DeliveryOptions, *,
                 outcomes: OutcomeSink | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.options = options
        self.clock = clock
        self.codec = Codec.default()
        self.store = DecisionStore(options.max_visitors, options.max_slots_per_visitor,
                                   options.remembered_ids)
        self.hub = StreamHub(max_queue=options.sse_queue)
        self.producer = EventProducer(settings, self.codec, clock=clock)
        self.feed = ActionFeed(settings, options, self._apply, codec=self.codec, clock=clock)
        #: The worker's "decided: nothing" answers: release held requests at once.
        self.answer_feed = ActionFeed(settings, options, self._answered, codec=self.codec,
                                      clock=clock, topic=ANSWERS, schema="Answer",
                                      horizon_ms=_ANSWER_HORIZON_MS)
        self.waits = TriggerWaits(options.max_held, options.remembered_triggers)
        self.metrics = DeliveryMetrics.create(self.store, lambda: self.feed.status,
                                              lambda: self.hub.open_streams,
                                              held=lambda: self.waits.held)
        self.state = DeliveryState(
            options=options, store=self.store, hub=self.hub,
            outcomes=outcomes if outcomes is not None else self.producer,
            feed_status=lambda: self.feed.status, feed_alive=lambda: self.feed.alive,
            metrics=self.metrics, codec=self.codec,
            rules=MeaningRules(max_future_skew_ms=settings.max_future_skew_ms), clock=clock,
            waits=self.waits,
            tokens=tokens_for(settings.token_keys(), log.warning),
            person=PersonReader(settings, window_ms=options.export_window_ms,
                                timeout_s=options.export_timeout_s, codec=self.codec,
                                clock=clock, history_ms=options.export_history_ms,
                                max_records=options.export_max_records,
                                people_changelog=people_changelog(options.worker_group)).read,
            settling=lambda: self._settle and not self._settled)
        self.served: ServedApp | None = None
        self._housekeeping: asyncio.Task[None] | None = None
        self._answers_start: asyncio.Task[None] | None = None
        self._settle = options.settle_heap
        self._settled = False

    def _apply(self, records: list[dict[str, Any]]) -> None:
        """On the loop: see :meth:`DeliveryState.receive`."""
        self.state.receive(records)

    @property
    def early_answers(self) -> bool | None:
        """Whether the answer feed runs (None: not started, or still starting).

        >>> DeliveryService(Settings(kafka_port=1, visitor_token_keys="0123456789abcdef"),
        ...                 DeliveryOptions(http_port=0)).early_answers is None
        True
        """
        start = self._answers_start
        if start is None or not start.done():
            return None
        return self.answer_feed.status.started

    def _answered(self, records: list[dict[str, Any]]) -> None:
        """On the loop: see :meth:`DeliveryState.receive_answers`."""
        self.state.receive_answers(records)

    async def _start_answers(self) -> None:
        """Read the answers topic; without it, held requests wait for decisions only (logged:
        the service still serves)."""
        try:
            await self.answer_feed.start()
        except FeedError as exc:
            if self.answer_feed.stopping:
                return  # stopped while it started: nothing to say
            log.warning("no early answers: the answers topic cannot be read (run "
                        "`rtp topics apply`); held requests of events that decide nothing "
                        "wait out their budget", error=str(exc))

    async def _housekeep(self) -> None:
        while True:
            await asyncio.sleep(_HOUSEKEEPING_S)
            self.store.purge(int(self.clock() * 1000))
            self.producer.flush(0)  # serve delivery reports
            if self._settle and not self._settled and self.feed.status.caught_up:
                self._settled = True
                started = time.perf_counter()
                frozen = settle_heap()
                log.info("heap settled after the read-back", frozen_objects=frozen,
                         pause_ms=round((time.perf_counter() - started) * 1000, 1))

    async def start(self) -> ServedApp:
        """Start the feed, then serve the API; returns where it listens."""
        await self.feed.start()
        self._answers_start = asyncio.create_task(self._start_answers())
        self._housekeeping = asyncio.create_task(self._housekeep())
        self.served = await start_app(build_app(self.state), self.options.host,
                                      self.options.http_port,
                                      idle_timeout_s=self.options.idle_timeout_s)
        log.info("delivery service listening", url=self.served.url, topic=self.feed.topic,
                 event_loop=loop_name(asyncio.get_running_loop()))
        return self.served

    async def stop(self) -> None:
        """Stop serving (ending streams), stop the feed, flush outcomes."""
        if self.served is not None:
            await self.served.close()
            self.served = None
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
            self._housekeeping = None
        await self.feed.stop()
        await self.answer_feed.stop()  # a start still retrying gives up
        if self._answers_start is not None:
            await self._answers_start
            self._answers_start = None
            await self.answer_feed.stop()  # the thread the start made, if it made one
        if self._settled:
            unsettle_heap()  # what is dropped from here on is collectable again
            self._settled = False
        remaining = await asyncio.get_running_loop().run_in_executor(None, self.producer.flush,
                                                                      10.0)
        if remaining:
            log.warning("outcomes not delivered at shutdown", remaining=remaining)


def run_delivery(settings: Settings, options: DeliveryOptions,
                 echo: Callable[[str], None] = say) -> int:
    """Run the service until SIGTERM/SIGINT; returns the exit code.

    It needs the actions topic; without a broker it stops with a clear error:

    >>> run_delivery(Settings(kafka_port=1), DeliveryOptions(http_port=0, start_timeout_s=0.3),
    ...              echo=print)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.delivery.errors.FeedError: cannot read personalization.actions on 127.0.0.1:1 ...
    """

    async def main() -> None:
        stop = asyncio.Event()
        uninstall = stop_on_signals(stop)
        service = DeliveryService(settings, options)
        try:
            served = await service.start()
            echo(f"delivery: {served.url}/v1/decisions  storefront: {served.url}/shop/")
            await stop.wait()
            echo("delivery: stopping")
        finally:
            await service.stop()
            uninstall()

    with asyncio.Runner(loop_factory=loop_factory(options.event_loop)) as runner:
        runner.run(main())
    return 0
