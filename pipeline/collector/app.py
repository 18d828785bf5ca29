"""The collector's HTTP API (aiohttp): Segment's Tracking API plus the tracker's endpoint.

Routes
------
``POST /v1/track``, ``/v1/page``, ``/v1/screen``, ``/v1/identify``, ``/v1/alias``, ``/v1/group``
    One Segment call each (every call of the spec; see :mod:`pipeline.collector.segment`).
``POST /v1/batch`` (and ``/v1/import``)
    ``{"batch": [calls…], "context": {…}, "sentAt": …}``.
``POST /v1/t``
    The tracker's compact batch (:mod:`pipeline.collector.native`). A batch without
    ``visitor`` (a first-time visitor) gets a new visitor id chosen here, and its answer
    carries ``visitor``, ``token`` and ``expires_at`` as ``/v1/visitor``'s does: the page
    can ask delivery for its first page view's decision one round trip later. Without
    visitor tokens (no ``/v1/visitor``) such a batch is refused (400), as before.
``POST /v1/visitor``
    ``{"writeKey": …, "token": optional}`` -> ``{"visitor", "token", "expires_at"}``:
    a signed visitor token (:mod:`pipeline.web.visitor_token`) for a new visitor id
    chosen here, or for the same visitor when the request carries a token this
    service signed (renewal, up to 30 days after its expiry). The delivery service
    serves decisions only to the holder of a visitor's token.
``POST /v1/privacy/erasure`` (``Authorization: Bearer <admin token>``)
    ``{"userId": …, "anonymousId": …}`` -> 202 ``{"success": true, "erasure": id}``: an
    erasure ProfileUpdate for the person (:mod:`pipeline.collector.erasure`); refused (403)
    while no admin token is set.
``GET /healthz``, ``/readyz``, ``/metrics``
    Alive; ready; Prometheus text (with ``Authorization: Bearer <metrics_token>``;
    refused while no metrics token is set).

Device authentication (:mod:`pipeline.collector.devices`): with visitor tokens (always, in
the service), a request that names a visitor id — every route above but ``/v1/visitor`` and
the erasure — must carry that visitor's token (the tracker's ``token``, a Segment call's
``context.visitorToken``) unless it uses a server write key: none or an invalid or expired
one is 401, another visitor's 403, and nothing of the request is produced.

Answers: 200 ``{"success": true, "accepted": n, "duplicates": d, "ignored": i}``
(``ignored`` is 0: no call is acknowledged without a record any more), plus ``visitor``,
``token`` and ``expires_at`` when the request's visitor token was past half its lifetime
(a renewal).
A request that is malformed, has a wrong type, is too large, carries no valid
write key, comes from an origin off the allow-list or exceeds a rate gets a 4xx
``{"success": false, "error": message}`` and nothing of it is produced. 503 when
Kafka cannot take messages (retry). A body that does not arrive within
``body_timeout_s`` gets 408 and the connection is closed.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import structlog
from aiohttp import web
from confluent_kafka import KafkaException

from pipeline.collector.erasure import erasure_update
from pipeline.collector.errors import BadPayload, CollectorError, RateLimited
from pipeline.collector.ingest import Accepted, Ingestor, parse_json
from pipeline.collector.metrics import CollectorMetrics
from pipeline.collector.segment import SEGMENT_TYPES
from pipeline.web.cors import CorsPolicy, install_cors
from pipeline.web.metrics import CONTENT_TYPE, render
from pipeline.web.rate_limits import TooManyRequests
from pipeline.web.request_metrics import request_metrics_middleware
from pipeline.web.untrusted import path_guard, read_body, refusal_closes
from pipeline.web.visitor_token import (
    BadToken,
    VisitorTokens,
    check_bearer,
    check_metrics_token,
)

__all__ = ["STATE", "CollectorState", "MessageSink", "build_app"]

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class MessageSink(Protocol):
    """Where accepted messages go (``EventProducer.produce_raw`` in the service).

    >>> class Memory:
    ...     def __init__(self) -> None:
    ...         self.produced: list[tuple[str, bytes | None]] = []
    ...     def produce_raw(self, topic: str, value: bytes | None, key: bytes | None) -> None:
    ...         self.produced.append((topic, key))
    >>> sink: MessageSink = Memory()
    >>> sink.produce_raw("t", b"v", b"k"); sink.produced
    [('t', b'k')]
    """

    def produce_raw(self, topic: str, value: bytes | None, key: bytes | None,
                    headers: list[tuple[str, bytes]] | None = None) -> None:
        """Produce ``value`` with ``key`` (and ``headers``, if any) to ``topic`` (full name).

        Called with ``headers`` only for a message that has some (an awaited page view's
        ``rtp-wait``)."""


@dataclass
class CollectorState:
    """What the handlers use: the request pipeline, the sink, topic naming, metrics.

    >>> from pipeline.collector.options import CollectorOptions
    >>> from pipeline.serde import Codec
    >>> state = CollectorState(Ingestor(CollectorOptions(require_auth=False), Codec.default()),
    ...                        sink=None, topic=lambda name: "p." + name,  # type: ignore[arg-type]
    ...                        metrics=CollectorMetrics.create())
    >>> state.topic("clickstream.events")
    'p.clickstream.events'
    """

    ingestor: Ingestor
    sink: MessageSink
    topic: Callable[[str], str]
    metrics: CollectorMetrics
    #: Issues visitor tokens (``POST /v1/visitor``) and checks the visitor ids browsers send;
    #: None (unit tests only; the service always has tokens): the route is not served and
    #: visitor ids are taken as sent.
    tokens: VisitorTokens | None = None


#: The app key under which the state is stored.
STATE: web.AppKey[CollectorState] = web.AppKey("rtp_collector_state", CollectorState)


def _refusal(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"success": False, "error": message}, status=status,
                             headers=headers)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    try:
        return await handler(request)
    except (RateLimited, TooManyRequests) as exc:
        state.metrics.refused.labels(status=str(exc.status)).inc()
        return _refusal(exc.status, str(exc), {"Retry-After": str(max(1, round(
            exc.retry_after_s)))})
    except (CollectorError, BadToken) as exc:
        state.metrics.refused.labels(status=str(exc.status)).inc()
        return _refusal(exc.status, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        state.metrics.refused.labels(status=str(exc.status)).inc()
        if exc.status == 413:
            limit = state.ingestor.options.max_body_bytes
            return _refusal(413, f"request body is larger than {limit} bytes")
        return refusal_closes(exc.status, _refusal(exc.status, exc.reason))


async def _produce(request: web.Request, accepted: Accepted,
                   identity: Callable[[], dict[str, object]] | None = None) -> web.Response:
    state = request.app[STATE]
    try:
        for message in (*accepted.index, *accepted.messages):  # claim index entries first
            if message.headers:
                state.sink.produce_raw(state.topic(message.topic), message.value, message.key,
                                       headers=list(message.headers))
            else:
                state.sink.produce_raw(state.topic(message.topic), message.value, message.key)
    except (KafkaException, BufferError) as exc:
        log.warning("collector could not produce", error=str(exc))
        return _refusal(503, "events cannot be produced right now; retry later")
    state.ingestor.remember(accepted)
    for message in accepted.messages:
        state.metrics.messages.labels(result="produced", record=message.name).inc()
    if accepted.duplicates:
        state.metrics.messages.labels(result="duplicate", record="any").inc(accepted.duplicates)
    if accepted.ignored:
        state.metrics.messages.labels(result="ignored", record="any").inc(accepted.ignored)
    answer = {"success": True, "accepted": len(accepted.messages),
              "duplicates": accepted.duplicates, "ignored": accepted.ignored}
    if identity is None:
        return web.json_response(answer)
    return web.json_response({**answer, **identity()}, headers={"Cache-Control": "no-store"})


def _segment(call: str | None) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        request.app[STATE].ingestor.addresses.check(request.remote)
        body = await read_body(request, request.app[STATE].ingestor.options.body_timeout_s)
        state = request.app[STATE]
        accepted = state.ingestor.segment(call, body, request.headers.get("Authorization"),
                                          state.tokens)
        return await _produce(request, accepted, _renewal(state, accepted))

    return handler


async def _native(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    state.ingestor.addresses.check(request.remote)
    body = await read_body(request, state.ingestor.options.body_timeout_s)
    accepted = state.ingestor.native(body, request.headers.get("Authorization"),
                                     request.headers.get("User-Agent"),
                                     new_visitor=None if state.tokens is None
                                     else f"v-{uuid.uuid4()}", tokens=state.tokens)
    new = accepted.new_visitor
    # the token is issued only once the batch is produced (a refusal or 503 carries none)
    return await _produce(request, accepted, _renewal(state, accepted) if new is None
                          else lambda: _issued(state, new))


def _renewal(state: CollectorState, accepted: Accepted) -> Callable[[], dict[str, object]] | None:
    """The answer's new token for a visitor whose token is past half its lifetime."""
    visitor = accepted.renew
    if visitor is None:
        return None
    return lambda: _issued(state, visitor, renewed=True)


def _issued(state: CollectorState, visitor: str, renewed: bool = False) -> dict[str, object]:
    """A new token for ``visitor`` as the answer's fields (and counted)."""
    assert state.tokens is not None
    token = state.tokens.issue(visitor)
    state.metrics.messages.labels(result="renewed" if renewed else "issued",
                                  record="VisitorToken").inc()
    return {"visitor": visitor, "token": token, "expires_at": state.tokens.expires_at(token)}


async def _visitor(request: web.Request) -> web.Response:
    state = request.app[STATE]
    tokens = state.tokens
    assert tokens is not None
    state.ingestor.addresses.check(request.remote)
    body = await read_body(request, state.ingestor.options.body_timeout_s)
    payload = parse_json(body) if body.strip() else {}
    if not isinstance(payload, dict):
        raise BadPayload(f"the body must be a JSON object (got {type(payload).__name__})")
    state.ingestor.keys.check(request.headers.get("Authorization"), payload)
    old = payload.get("token")
    visitor = None
    if isinstance(old, str):
        try:
            visitor = tokens.verify(old, renewing=True)
        except BadToken:
            visitor = None  # forged, too old, or signed with a retired key: a new visitor
    renewed = visitor is not None
    if visitor is None:
        visitor = f"v-{uuid.uuid4()}"
    return web.json_response({"success": True, **_issued(state, visitor, renewed)},
                             headers={"Cache-Control": "no-store"})


async def _erasure(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.ingestor.addresses.check(request.remote)  # before the key: guesses count too
    check_bearer(state.ingestor.options.admin_token, request.headers.get("Authorization"),
                 "/v1/privacy/erasure", "RTP_COLLECTOR_ADMIN_TOKEN")
    body = await read_body(request, state.ingestor.options.body_timeout_s)
    update_id = f"erase-{uuid.uuid4()}"
    updates = erasure_update(parse_json(body), now_ms=state.ingestor.now_ms(),
                             update_id=update_id, codec=state.ingestor.codec,
                             pseudonyms=state.ingestor.pseudonyms,
                             vocabulary=state.ingestor.options.vocabulary)
    try:
        for out in updates:
            state.sink.produce_raw(state.topic(out.topic), out.value, out.key)
    except (KafkaException, BufferError) as exc:
        log.warning("collector could not produce an erasure", error=str(exc))
        return _refusal(503, "the erasure cannot be produced right now; retry later")
    state.metrics.messages.labels(result="produced", record="Erasure").inc()
    log.info("erasure requested", update_id=update_id)  # never the ids themselves
    return web.json_response({"success": True, "erasure": update_id}, status=202)


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _metrics(request: web.Request) -> web.Response:
    state = request.app[STATE]
    check_metrics_token(state.ingestor.options.metrics_token, request.headers.get("Authorization"))
    body = render(state.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def build_app(state: CollectorState) -> web.Application:
    """The aiohttp application over ``state``.

    >>> import asyncio
    >>> from aiohttp import BasicAuth
    >>> from aiohttp.test_utils import TestClient, TestServer
    >>> from pipeline.collector.options import CollectorOptions
    >>> from pipeline.serde import Codec
    >>> produced = []
    >>> class Sink:
    ...     def produce_raw(self, topic: str, value: bytes | None, key: bytes | None) -> None:
    ...         produced.append((topic, key))
    >>> state = CollectorState(Ingestor(CollectorOptions(write_keys=frozenset({"k"})),
    ...                                 Codec.default()), Sink(), str, CollectorMetrics.create())
    >>> async def post(body: dict[str, object]) -> tuple[int, object]:
    ...     async with TestClient(TestServer(build_app(state))) as client:
    ...         r = await client.post("/v1/page", json=body, auth=BasicAuth("k"))
    ...         return r.status, (await r.json())
    >>> asyncio.run(post({"anonymousId": "v1", "properties": {"url": "https://s.example/"}}))
    (200, {'success': True, 'accepted': 1, 'duplicates': 0, 'ignored': 0})
    >>> asyncio.run(post({"properties": {"url": "https://s.example/"}}))[0], produced
    (400, [('clickstream.events', b'v1')])
    """
    options = state.ingestor.options
    app = web.Application(client_max_size=options.max_body_bytes, middlewares=[
        path_guard(),
        request_metrics_middleware(state.metrics.latency, state.metrics.requests), _errors])
    app[STATE] = state
    install_cors(app, CorsPolicy(options.cors_origins))
    for call in SEGMENT_TYPES:
        app.router.add_post(f"/v1/{call}", _segment(call))
    app.router.add_post("/v1/batch", _segment(None))
    app.router.add_post("/v1/import", _segment(None))
    app.router.add_post("/v1/t", _native)
    if state.tokens is not None:
        app.router.add_post("/v1/visitor", _visitor)
    app.router.add_post("/v1/privacy/erasure", _erasure)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _healthz)
    app.router.add_get("/metrics", _metrics)
    return app
