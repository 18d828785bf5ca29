"""The delivery service's HTTP API (aiohttp), over a store, a stream hub and an outcome sink.

Routes
------
``GET /v1/decisions?visitor=…&slots=hero,overlay&token=…``
    The current decision per requested slot, ``null`` where there is none; an
    unknown visitor gets every slot ``null`` (200), never an error.
``GET /v1/decisions?visitor=…&slots=…&trigger=<event id>&wait_ms=<budget>``
    The same, once the decision triggered by that event has been consumed, or once
    ``wait_ms`` (default ``budget_ms``, at most ``max_wait_ms``) has passed: a page asks for
    its own page view's decision (see :mod:`pipeline.delivery.waits`). Header
    ``X-RTP-Wait`` says how the wait ended: ``arrived``, ``seen`` (it had arrived already),
    ``nothing`` (the worker decided that event and it delivers no action: its answer on
    ``personalization.answers``, before or while the request was held), ``timeout``,
    ``full`` (``max_held`` requests were held: answered at once) or ``released`` (the
    service is stopping). Only the visitor's own decision or answer for that trigger ends
    the wait.
``GET /v1/stream?visitor=…&token=…``
    Server-Sent Events: first the current decisions, then each new one
    (``event: decision``) as it is consumed; comment heartbeats keep it open.
``POST /v1/outcomes``
    One outcome or a list (``decision_id``, ``visitor_id``, ``kind``, optional
    ``value``, ``event_time``, ``outcome_id``; ``token`` in a single outcome's
    object) -> ``personalization.outcomes``, flagged ``reported_by: browser``;
    202 with the outcome ids. Bad input gets 4xx and a message, nothing produced.
``GET /v1/privacy/export?visitor=…``
    Everything held about the visitor (right of access; :mod:`pipeline.delivery.export`):
    profile view, consent record, profile updates and recent decisions with their reasons,
    as JSON. With the visitor's own token (``token=`` or ``Authorization: Bearer``), or
    ``Authorization: Bearer <admin_token>`` and ``visitor=``; 401 without a valid token,
    403 with another visitor's; 429 while another export runs; 503 when Kafka cannot
    answer in time.
``GET /healthz`` / ``GET /readyz`` / ``GET /metrics``
    Alive (and the consumer thread with it); caught up with the actions topic and the
    heap settled after it (503 until then); Prometheus text (with ``Authorization: Bearer
    <metrics_token>``; refused while no metrics token is set).

Decisions, streams and outcomes need the visitor's token (``token=`` or
``Authorization: Bearer``; :mod:`pipeline.web.visitor_token`): none, a forged or
expired one is 401, another visitor's 403. An outcome is accepted only for a
decision this service held for that visitor, and a ``converted`` value only up
to ``max_client_value``.
``/shop/…``, ``/shop/config.js``, ``/rtp.js``, ``/rtp.src.js``
    The demo storefront, its configuration (collector URL, write key, time budget)
    and the tracker script (its minified build; the readable source at ``/rtp.src.js``),
    when ``serve_shop`` is on.

Errors are JSON ``{"error": message}``. The handlers never block: the store is
in memory, producing only enqueues into librdkafka.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware
from confluent_kafka import KafkaException
from multidict import CIMultiDict

from pipeline.delivery.answers import (
    AnswerCache,
    decision_view,
    parse_trigger,
    parse_visitor,
    parse_wait_ms,
    slots_of,
)
from pipeline.delivery.errors import BadRequest, FeedError
from pipeline.delivery.export import PersonRecords, export_document
from pipeline.delivery.feed import FORGET, FeedStatus
from pipeline.delivery.metrics import DeliveryMetrics
from pipeline.delivery.options import DeliveryOptions
from pipeline.delivery.outcomes import parse_outcomes
from pipeline.delivery.store import DecisionStore, Offered
from pipeline.delivery.stream import StreamHub, TooManyStreams, sse_comment, sse_frame
from pipeline.delivery.waits import TriggerWaits, WaitResult
from pipeline.serde import Codec, InvalidEvent, MeaningRules
from pipeline.web import STATIC_DIR
from pipeline.web.cors import CorsPolicy, cors_screen, install_cors
from pipeline.web.metrics import CONTENT_TYPE, render
from pipeline.web.rate_limits import RequestLimits, TooManyRequests
from pipeline.web.request_metrics import RequestMetrics
from pipeline.web.untrusted import bad_string, path_refusal, read_body, refusal_closes
from pipeline.web.visitor_token import BadToken, VisitorTokens, bearer, check_metrics_token

__all__ = ["ANSWERS", "STATE", "DeliveryState", "OutcomeSink", "build_app", "config_script",
           "storefront_config"]

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Slots the storefront's tracker asks for.
STOREFRONT_SLOTS = ("hero", "overlay", "grid", "cta", "inline")


class OutcomeSink(Protocol):
    """Where outcomes go (an :class:`~pipeline.client.EventProducer` in the service).

    >>> class Memory:
    ...     def __init__(self) -> None:
    ...         self.sent: list[dict[str, Any]] = []
    ...     def send_outcome(self, outcome: dict[str, Any]) -> None:
    ...         self.sent.append(outcome)
    >>> sink: OutcomeSink = Memory()
    >>> sink.send_outcome({"kind": "shown"}); sink.sent
    [{'kind': 'shown'}]
    """

    def send_outcome(self, outcome: dict[str, Any]) -> None:
        """Produce one Outcome record."""


@dataclass
class DeliveryState:
    """Everything the handlers use; one per app.

    >>> state = DeliveryState.standalone(clock=lambda: 1.5)
    >>> state.now_ms(), len(state.store)
    (1500, 0)
    """

    options: DeliveryOptions
    store: DecisionStore
    hub: StreamHub
    outcomes: OutcomeSink
    feed_status: Callable[[], FeedStatus]
    feed_alive: Callable[[], bool]
    metrics: DeliveryMetrics
    codec: Codec
    rules: MeaningRules
    clock: Callable[[], float] = time.time
    waits: TriggerWaits = field(default_factory=TriggerWaits)
    #: Checks visitor tokens; None turns the check off (unit tests and benchmarks only:
    #: the service always sets it).
    tokens: VisitorTokens | None = None
    #: Finds a visitor's records for ``GET /v1/privacy/export`` (blocking; run on a thread);
    #: None: exports are refused with 503 (a state without a broker).
    person: Callable[[str], PersonRecords] | None = None
    #: Held while an export runs (exports run one at a time).
    exporting: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: Encoded answers of recent requests (:func:`build_app` sizes it from the options);
    #: a visitor's tombstone drops theirs with the decisions.
    answers: AnswerCache = field(default_factory=AnswerCache)
    #: Requests per client address and per visitor (:func:`build_app` sets them from the
    #: options; None: not limited).
    limits: RequestLimits | None = None
    #: True while start-up work that pauses the loop is still to come (the service's heap
    #: settle after the read-back): ``/readyz`` waits for it, so that no traffic sent on
    #: readiness meets that pause.
    settling: Callable[[], bool] = lambda: False

    def now_ms(self) -> int:
        """Wall clock in epoch ms."""
        return int(self.clock() * 1000)

    def receive(self, records: list[dict[str, Any]]) -> None:
        """On the loop: consumed decisions into the store, the new ones to open streams, and
        every one to the requests held for its trigger (after the store has it).

        >>> state = DeliveryState.standalone(clock=lambda: 1.0)
        >>> state.receive([{"decision_id": "d1", "visitor_id": "v1", "slot": "hero",
        ...                 "created_at": 900, "ttl_ms": 600, "experiment_arm": "personalized",
        ...                 "trigger_event_id": "e1"}])
        >>> list(state.store.current("v1", state.now_ms())), state.waits.seen("e1", "v1")
        (['hero'], True)

        A tombstone on the actions topic (the worker's, for an erased or opted-out visitor)
        arrives as ``{"visitor_id": V, FORGET: True}`` and drops what is held for V at once:

        >>> state.receive([{"visitor_id": "v1", FORGET: True}])
        >>> state.store.current("v1", state.now_ms()), len(state.answers)
        ({}, 0)
        """
        now = self.now_ms()
        for record in records:
            if record.get(FORGET):
                self.store.forget(str(record["visitor_id"]))
                self.hub.close_visitor(str(record["visitor_id"]))
                self.answers.forget(str(record["visitor_id"]))
                continue
            result = self.store.offer(record, now)
            self.metrics.count("decisions", result.value)
            if result is Offered.STORED:
                self.hub.publish(record)
        for record in records:
            if not record.get(FORGET):
                self.waits.arrived(record)

    def receive_answers(self, answers: list[dict[str, Any]]) -> None:
        """On the loop: the worker's "decided: nothing" answers (``personalization.answers``)
        release the requests held for their visitor's trigger at once.

        >>> import asyncio
        >>> state = DeliveryState.standalone()
        >>> async def held() -> str:
        ...     request = asyncio.ensure_future(state.waits.wait("e1", 30.0, "v1"))
        ...     await asyncio.sleep(0)
        ...     state.receive_answers([{"visitor_id": "v2", "trigger_event_id": "e1"}])
        ...     assert not request.done()   # another visitor's answer: still held
        ...     state.receive_answers([{"visitor_id": "v1", "trigger_event_id": "e1"}])
        ...     return await request
        >>> asyncio.run(held())
        <WaitResult.NOTHING: 'nothing'>
        """
        for answer in answers:
            if not answer.get(FORGET):  # (a null value on the answers topic: nothing to do)
                self.waits.answered(answer)

    @classmethod
    def standalone(cls, options: DeliveryOptions | None = None,
                   outcomes: OutcomeSink | None = None,
                   clock: Callable[[], float] = time.time) -> DeliveryState:
        """A state with an empty store and no feed (caught up): for tests, benchmarks, demos.

        Outcomes are refused (503) unless a sink is given.
        """
        options = options or DeliveryOptions(http_port=0)
        store, hub = DecisionStore(), StreamHub()
        waits = TriggerWaits(options.max_held, options.remembered_triggers)
        status = FeedStatus(started=True, caught_up=True)
        return cls(options=options, store=store, hub=hub,
                   outcomes=outcomes if outcomes is not None else _NoOutcomes(),
                   feed_status=lambda: status, feed_alive=lambda: True,
                   metrics=DeliveryMetrics.create(store, lambda: status,
                                                  lambda: hub.open_streams,
                                                  held=lambda: waits.held),
                   codec=Codec.default(), rules=MeaningRules(), clock=clock, waits=waits)


class _NoOutcomes:
    def send_outcome(self, outcome: dict[str, Any]) -> None:
        raise KafkaException("this delivery state has no outcome producer")


#: The app key under which the state is stored.
STATE: web.AppKey[DeliveryState] = web.AppKey("rtp_delivery_state", DeliveryState)
#: The app key of the encoded-answer cache of ``GET /v1/decisions``.
ANSWERS: web.AppKey[AnswerCache] = web.AppKey("rtp_delivery_answers", AnswerCache)

#: The headers of every decisions answer (what ``web.json_response`` sent, in its order).
_DECISIONS_HEADERS: CIMultiDict[str] = CIMultiDict(
    [("Cache-Control", "no-store"), ("Content-Type", "application/json; charset=utf-8")])
#: The same after a wait, by how it ended (built once, not per held request).
_WAIT_HEADERS: dict[WaitResult, CIMultiDict[str]] = {
    result: CIMultiDict([*_DECISIONS_HEADERS.items(), ("X-RTP-Wait", result.value),
                         ("Access-Control-Expose-Headers", "X-RTP-Wait")])
    for result in WaitResult}


def storefront_config(options: DeliveryOptions, delivery_url: str = "") -> dict[str, Any]:
    """What the storefront's tracker is told (``delivery`` empty: same origin).

    >>> storefront_config(DeliveryOptions(budget_ms=90))["budgetMs"]
    90
    """
    return {"delivery": delivery_url, "collector": options.collector_url.rstrip("/"),
            "writeKey": options.write_key, "budgetMs": options.budget_ms,
            "slots": list(STOREFRONT_SLOTS), "consentRequired": options.consent_required}


def config_script(config: dict[str, Any]) -> str:
    """``config`` as the script that sets ``window.RTP_CONFIG``.

    >>> config_script({"budgetMs": 150})
    'window.RTP_CONFIG = Object.freeze({"budgetMs": 150});\\n'
    """
    return f"window.RTP_CONFIG = Object.freeze({json.dumps(config, sort_keys=True)});\n"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _front(policy: CorsPolicy, metrics: RequestMetrics, max_body_bytes: int) -> Middleware:
    """The one middleware in front of every route, in this order: the path guard (a path too
    long: 414/404, not counted), then — counted and timed by ``metrics`` — the CORS screen
    (an origin off the list: 403; a preflight: 204), the handler, and bad input turned into
    a 4xx JSON message (HTTP errors from aiohttp become JSON too). One middleware instead of
    a chain of four: each layer was a coroutine per request on the hot path."""

    @web.middleware
    async def front(request: web.Request, handler: Handler) -> web.StreamResponse:
        refusal = path_refusal(request)
        if refusal is not None:
            return refusal
        start = time.perf_counter()
        status = 500
        try:
            response: web.StreamResponse
            try:
                screened = cors_screen(policy, request)
                response = await handler(request) if screened is None else screened
            except (BadRequest, BadToken) as exc:
                response = _error(exc.status, str(exc))
            except TooManyRequests as exc:
                response = _error(exc.status, str(exc))
                response.headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                response = refusal_closes(exc.status, _error(
                    exc.status, exc.reason if exc.status != 413 else
                    f"request body is larger than {max_body_bytes} bytes"))
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            metrics.observe(request, status, start)

    return front


def _decisions_route(state: DeliveryState, answers: AnswerCache) -> Handler:
    """``GET /v1/decisions`` over ``state`` and its answer cache (bound once, not looked up
    in the app per request)."""

    async def decisions(request: web.Request) -> web.StreamResponse:
        # The hot path: the answer's JSON comes pre-encoded from the cache when the
        # visitor's decisions have not changed since it was last asked for.
        query = request.query
        visitor = _visitor_of(request, state)
        slots = slots_of(query.get("slots"))
        headers = _DECISIONS_HEADERS
        trigger = query.get("trigger")
        if trigger is not None or "wait_ms" in query:
            trigger = parse_trigger(trigger)
            if trigger is None:
                raise BadRequest("query parameter 'wait_ms' needs 'trigger' (the event whose "
                                 "decision to wait for)")
            options = state.options
            wait_ms = parse_wait_ms(query.get("wait_ms"), options.budget_ms,
                                    options.max_wait_ms)
            result = await state.waits.wait(trigger, wait_ms / 1000, visitor)
            state.metrics.count("waits", result.value)
            headers = _WAIT_HEADERS[result]
        now = state.now_ms()
        held = state.store.current(visitor, now, slots)
        # a copy: aiohttp adds Content-Length and Date to the headers it is given
        return web.Response(body=answers.body(visitor, held, slots, now),
                            headers=headers.copy())

    return decisions


def _token(request: web.Request) -> str | None:
    return bearer(request.headers.get("Authorization")) or request.query.get("token")


def _visitor_of(request: web.Request, state: DeliveryState) -> str:
    """The visitor asked about, proven by its token (the ``visitor`` parameter, if given,
    must be the token's)."""
    if state.limits is not None:
        state.limits.check(request.remote)
    raw = request.query.get("visitor")
    if state.tokens is None:
        visitor = parse_visitor(raw)
    else:
        visitor = state.tokens.check(_token(request),
                                     None if raw is None else parse_visitor(raw))
    if state.limits is not None:
        state.limits.check_visitor(visitor)
    return visitor


async def _stream(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    visitor = _visitor_of(request, state)
    try:
        sub = state.hub.subscribe(visitor)  # before the snapshot: nothing falls in between
    except TooManyStreams as exc:
        return _error(503, str(exc))
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no"})
    try:
        await response.prepare(request)
        await response.write(sse_frame(json.dumps({"visitor_id": visitor}), event="hello",
                                       retry_ms=2000))
        for decision in state.store.current(visitor, state.now_ms()).values():
            await response.write(_decision_frame(decision))
        while True:
            try:
                item = await asyncio.wait_for(sub.queue.get(), state.options.sse_heartbeat_s)
            except TimeoutError:
                await response.write(sse_comment("keep-alive"))
                continue
            if item is None or sub.overflowed:
                break
            await response.write(_decision_frame(item))
    except ConnectionError:
        pass  # the client went away
    finally:
        state.hub.unsubscribe(sub)
    return response


def _decision_frame(decision: Any) -> bytes:
    view = {"visitor_id": decision["visitor_id"], **decision_view(decision)}
    return sse_frame(json.dumps(view), event="decision", event_id=str(decision["decision_id"]))


async def _outcomes(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if state.limits is not None:
        state.limits.check(request.remote)
    raw = await read_body(request, state.options.body_timeout_s)
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadRequest(f"body is not valid JSON: {str(exc)[:200]}") from None
    problem = bad_string(body, "body")
    if problem is not None:
        raise BadRequest(problem)
    outcomes = parse_outcomes(body, state.now_ms(), state.codec, state.rules,
                              state.options.max_outcomes)
    if state.tokens is not None:
        token = _token(request)
        if token is None and isinstance(body, dict) and isinstance(body.get("token"), str):
            token = body["token"]
        visitor = state.tokens.check(token, None)
        if state.limits is not None:
            state.limits.check_visitor(visitor)
        for outcome in outcomes:
            if outcome["visitor_id"] != visitor:
                raise BadToken("an outcome is for another visitor than the token's", 403)
            if state.store.owner(outcome["decision_id"]) != visitor:
                raise BadToken(f"decision {outcome['decision_id'][:80]!r} was not delivered to "
                               "this visitor", 403)
    for outcome in outcomes:
        # Every kind, not only "converted": a value the learner or the report could read must
        # not be steerable from a browser, negative ones included.
        if not 0.0 <= outcome["value"] <= state.options.max_client_value:
            raise BadRequest(f"a value reported by a browser is between 0 and "
                             f"{state.options.max_client_value:g} (purchases of more are "
                             "reported by the site's server)")
        outcome["reported_by"] = "browser"
    try:
        for outcome in outcomes:
            state.outcomes.send_outcome(outcome)
    except InvalidEvent as exc:
        raise BadRequest(str(exc)) from None
    except (KafkaException, BufferError) as exc:
        log.warning("outcome not produced", error=str(exc))
        return _error(503, "outcomes cannot be produced right now; retry later")
    for outcome in outcomes:
        state.metrics.outcomes.labels(kind=outcome["kind"]).inc()
    return web.json_response({"accepted": len(outcomes),
                              "outcome_ids": [o["outcome_id"] for o in outcomes]}, status=202)


def _export_visitor(request: web.Request, state: DeliveryState) -> tuple[str, bool]:
    """The visitor to export and whether the admin key asked: the admin key's
    ``visitor=``, else the visitor token's own. Rate-limited per address first (guesses of
    the admin key or of tokens count), then per visitor."""
    if state.limits is not None:
        state.limits.check(request.remote)
    given = bearer(request.headers.get("Authorization"))
    admin = state.options.admin_token
    if admin and given is not None and hmac.compare_digest(given.encode(), admin.encode()):
        raw = request.query.get("visitor")
        if raw is None:
            raise BadRequest("query parameter 'visitor' is required with the admin key")
        return parse_visitor(raw), True
    if state.tokens is None:
        raise BadToken("exports need a visitor token or the admin key (RTP_DELIVERY_ADMIN_TOKEN)")
    token = _token(request)
    if token is None:
        raise BadToken("GET /v1/privacy/export needs the visitor's token (token= or "
                       "Authorization: Bearer) or the admin key")
    raw = request.query.get("visitor")
    visitor = state.tokens.check(token, None if raw is None else parse_visitor(raw))
    if state.limits is not None:
        state.limits.check_visitor(visitor)
    return visitor, False


async def _export(request: web.Request) -> web.Response:
    state = request.app[STATE]
    visitor, by_admin = _export_visitor(request, state)
    if state.person is None:
        return _error(503, "exports need the broker (this delivery state has none)")
    if state.exporting.locked():
        return _error(429, "another export is running; retry in a few seconds")
    async with state.exporting:
        try:
            records = await asyncio.get_running_loop().run_in_executor(
                None, state.person, visitor)
        except FeedError as exc:
            log.warning("privacy export failed", error=str(exc))
            return _error(503, "the visitor's records cannot be read right now; retry later")
    now = state.now_ms()
    held = frozenset(str(d["decision_id"]) for d in state.store.current(visitor, now).values())
    log.info("privacy export answered", decisions=len(records.decisions))  # never the id
    return web.json_response(export_document(visitor, records, now, held, person=by_admin),
                             headers={"Cache-Control": "no-store"})


async def _healthz(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if not state.feed_alive():
        return web.json_response({"status": "failing", "reason": "action feed stopped"},
                                 status=503)
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    state = request.app[STATE]
    status = state.feed_status()
    settling = state.settling()
    ready = status.caught_up and not settling
    body = {"ready": ready, "lag": status.lag, "partitions": status.partitions,
            "decisions_held": len(state.store), "heap_settling": settling}
    return web.json_response(body, status=200 if ready else 503)


async def _metrics(request: web.Request) -> web.Response:
    state = request.app[STATE]
    check_metrics_token(state.options.metrics_token, request.headers.get("Authorization"))
    body = render(state.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def _config(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.Response(text=config_script(storefront_config(state.options)),
                        content_type="application/javascript",
                        headers={"Cache-Control": "no-store"})


async def _tracker(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "rtp.min.js", headers={"Cache-Control": "no-cache"})


async def _tracker_source(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "rtp.js", headers={"Cache-Control": "no-cache"})


async def _shop_index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "shop" / "index.html",
                            headers={"Cache-Control": "no-cache"})


async def _root(request: web.Request) -> web.Response:
    raise web.HTTPFound("/shop/")


async def _close_streams(app: web.Application) -> None:
    app[STATE].hub.close_all()
    app[STATE].waits.release_all()


def build_app(state: DeliveryState) -> web.Application:
    """The aiohttp application over ``state``.

    >>> import asyncio
    >>> from aiohttp.test_utils import TestClient, TestServer
    >>> async def ask() -> dict[str, Any]:
    ...     async with TestClient(TestServer(build_app(DeliveryState.standalone()))) as client:
    ...         r = await client.get("/v1/decisions", params={"visitor": "v1", "slots": "hero"})
    ...         return await r.json()
    >>> asyncio.run(ask())["decisions"]
    {'hero': None}
    """
    options = state.options
    policy = CorsPolicy(options.cors_origins)
    metrics = RequestMetrics(state.metrics.latency, state.metrics.requests,
                             untimed=frozenset({"/v1/stream"}))
    app = web.Application(client_max_size=options.max_body_bytes,
                          middlewares=[_front(policy, metrics, options.max_body_bytes)])
    app[STATE] = state
    state.answers = AnswerCache(options.answer_cache)
    state.limits = RequestLimits(options.address_rate_per_s, options.address_burst,
                                 visitor_rate_per_s=options.visitor_rate_per_s,
                                 visitor_burst=options.visitor_burst,
                                 max_keys=options.max_visitors)
    app[ANSWERS] = state.answers
    install_cors(app, policy, middleware=False)
    app.router.add_get("/v1/decisions", _decisions_route(state, state.answers))
    app.router.add_get("/v1/stream", _stream)
    app.router.add_post("/v1/outcomes", _outcomes)
    app.router.add_get("/v1/privacy/export", _export)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    if state.options.serve_shop:
        app.router.add_get("/", _root)
        app.router.add_get("/rtp.js", _tracker)
        app.router.add_get("/rtp.src.js", _tracker_source)
        app.router.add_get("/shop/config.js", _config)
        app.router.add_get("/shop/", _shop_index)
        app.router.add_static("/shop/", STATIC_DIR / "shop", append_version=False)
    app.on_shutdown.append(_close_streams)
    return app
