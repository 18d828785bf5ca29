"""Requests/s and p50/p99 latency of ``GET /v1/decisions`` on loopback at fixed offered loads.

Three processes: this one orchestrates; the delivery API runs in one child (the
real aiohttp app and store, pre-filled with decisions for 10 000 visitors, two
slots each; the Kafka feed is not in the request path, so none is started);
the load comes from another child, an asyncio client (64 keep-alive HTTP/1.1
connections over raw streams: much cheaper per request than a full HTTP client,
so the client is not the limit; its garbage collector is off so that its own pauses
are not counted as server latency) with an **open-loop fixed schedule**: request
``i`` is due at ``start + i / rate`` and its latency is measured from that due
time, so a server that falls behind shows queueing in the numbers instead of
slowing the load down (no coordinated omission). Each offered load runs
``SECONDS`` after a short warm-up; ``behind_p99_ms`` is how late the client
itself sent (if it is large, the client, not the server, was the limit).
Visitors are drawn uniformly, 10% of them unknown (the explicit empty answer).

The server is set up as the service is once caught up: its heap settled
(:func:`~pipeline.delivery.runtime.settle_heap`) and on the event loop the
service would pick (uvloop when installed; ``--event-loop`` overrides it).
``RTP_BENCH_SCALE`` scales the seconds per load (at least 1 s). Only a run at
full scale over the default loads should be recorded in bench/results;
``--no-record`` prints the rows without writing them::

    python -m bench.delivery --help
    python -m bench.delivery --rates 2000 --seconds 3 --no-record

**Held same-page requests** (``--held N``, issue 13): while the immediate load runs, a third
process keeps ``N`` requests held at once — ``GET /v1/decisions?…&trigger=…&wait_ms=W`` on
``N`` connections, each sent again as soon as it is answered. For half of them a decision
arrives after a random 20-90% of ``W`` (the process asks the server's bench-only
``/bench/arrive?trigger=…``, which hands a Decision over as the feed does:
``DeliveryState.receive``); the others wait their whole budget. It reports how late each
held answer was past its budget (the goal: within ``W`` + 5 ms) and past its decision's
arrival, and how the waits ended, counting only the held requests asked while the measured
load was offered (both processes stamp the machine-wide monotonic clock).

The floor is measured like for like: each offered load runs first against a bare aiohttp
app in a process of its own (:func:`serve_floor`: no middleware, no store; a constant
answer, or a future released by ``/bench/arrive`` or a timer) carrying the *same* held
requests and arrivals, then against the delivery server. So both rows serve the same
traffic: with ``W`` = 1 s, 2,000 held re-ask ~2,500 times/s and hand ~1,250 decisions over
(while the server keeps up), so "4,000 offered" is ~7,800 answers/s on either server. Each
row says what its server answered per second while the measured load was offered, by the
server's own counters (``/bench/counts``: the delivery server's request and waits metrics,
the floor's counts), beside what the clients received in the same interval, how many
requests the server held, its CPU time per answer, whether its totals over the row's run
agree with the clients' (``counts_check``), how late the held process itself ran
(``held_client_lag_p99_ms``) and, for the delivery server, the share of its answers taken
from its answer cache (``answer_cache_hit_share``: the store is pre-filled but the cache
starts empty, and every decision handed over makes its visitor's next answer a miss).
The server's ``max_wait_ms`` is ``W`` (default 1 s: with ``W`` = 150 ms, 2,000 held at
once would take ~13,000 held requests/s). Held rows go to bench/results/delivery_held
unless ``--no-record``::

    python -m bench.delivery --rates 4000 --held 2000 --no-record
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import bench_scale, load_note, percentile, scaled
from bench.record import write

OFFERED_RPS = (250, 500, 1000, 2000, 3000, 4000)
SECONDS = 5.0
WARMUP_SECONDS = 0.5
VISITORS = 10_000
ROOT = Path(__file__).resolve().parents[1]


# -- the server process ------------------------------------------------------------------

def serve(port_file: Path, event_loop: str = "auto", max_wait_ms: str = "1000") -> None:
    """Run the delivery API with a pre-filled store until terminated; write its port.

    Two bench-only routes are added: ``/bench/arrive?trigger=…`` (a Decision of that trigger
    handed over as the feed does) and ``/bench/counts`` (:func:`delivery_counts`).
    """
    from pipeline.delivery.app import DeliveryState
    from pipeline.delivery.options import DeliveryOptions
    from pipeline.delivery.runtime import loop_factory, settle_heap
    from pipeline.web.serve import start_app

    now = int(time.time() * 1000)
    # One load generator on loopback is one address: the request limits are lifted here.
    state = DeliveryState.standalone(DeliveryOptions(
        http_port=0, serve_shop=False, max_wait_ms=int(max_wait_ms), max_held=50_000,
        address_rate_per_s=1e9, address_burst=10**9, visitor_rate_per_s=1e9,
        visitor_burst=10**9))
    for i in range(VISITORS):
        for slot, action in (("hero", "free_express_shipping"), ("overlay", "comparison_guide")):
            state.store.offer({
                "decision_id": f"d-{i}-{slot}", "visitor_id": f"v-{i}", "session_id": f"s-{i}",
                "action_id": action, "slot": slot,
                "payload": {"variant": "banner",
                            "headline": "Free express shipping for the next 20 minutes"},
                "propensity": 0.5, "policy": "linucb", "policy_version": "1",
                "model_version": "m", "experiment_arm": "personalized", "ttl_ms": 3_600_000,
                "trigger_event_id": f"e-{i}", "created_at": now}, now)
    settle_heap()  # as DeliveryService does once its read-back is complete

    async def main() -> None:
        served = await start_app(delivery_app(state), "127.0.0.1", 0)
        port_file.write_text(str(served.port))
        await asyncio.Event().wait()  # until the orchestrator terminates this process

    with asyncio.Runner(loop_factory=loop_factory(event_loop)) as runner:
        runner.run(main())


def delivery_app(state: Any) -> Any:
    """The delivery API over ``state`` with the bench's routes: ``/bench/arrive?trigger=…
    &visitor=N`` (a Decision of that trigger for ``v-N`` handed over as the feed does) and
    ``/bench/counts`` (:func:`delivery_counts`)."""
    from aiohttp import web

    from pipeline.delivery.app import STATE, build_app

    arrived = 0

    async def arrive(request: web.Request) -> web.Response:
        nonlocal arrived
        trigger = request.query["trigger"]
        visitor = int(request.query["visitor"])
        arrived += 1
        stamp = int(time.time() * 1000)
        request.app[STATE].receive([{
            "decision_id": f"held-{trigger}", "visitor_id": f"v-{visitor}",
            "session_id": f"s-{visitor}", "action_id": "hero_by_traffic_source", "slot": "hero",
            "payload": {"variant": "ecommerce.ads"}, "propensity": 0.5, "policy": "linucb",
            "policy_version": "1", "model_version": "m", "experiment_arm": "personalized",
            "ttl_ms": 3_600_000, "trigger_event_id": trigger, "created_at": stamp + arrived}])
        return web.Response(status=204)

    async def counts(request: web.Request) -> web.Response:
        return web.json_response(delivery_counts(state))

    app = build_app(state)
    app.router.add_get("/bench/arrive", arrive)
    app.router.add_get("/bench/counts", counts)
    return app


def delivery_counts(state: Any) -> dict[str, Any]:
    """What the delivery server answered so far, from its own metrics (the request counter
    of its middleware and the waits counter of ``GET /v1/decisions``), for the orchestrator
    to check the load processes' counts against; ``at`` is the machine-wide monotonic clock.

    >>> from pipeline.delivery.app import DeliveryState
    >>> state = DeliveryState.standalone()
    >>> state.metrics.requests.labels(route="/v1/decisions", status="200").inc(5)
    >>> state.metrics.waits.labels(result="timeout").inc(2)
    >>> counts = delivery_counts(state)
    >>> counts["immediate"], counts["held"], counts["arrive"], counts["other"]
    (3, {'timeout': 2}, 0, 0)
    >>> counts["cache_hits"], counts["cache_misses"]  # the answer cache's, so far
    (0, 0)
    """
    requests: dict[tuple[str, str], int] = {}
    held: dict[str, int] = {}
    for metric in state.metrics.registry.collect():
        for sample in metric.samples:
            if sample.name == "rtp_delivery_requests_total":
                key = (sample.labels["route"], sample.labels["status"])
                requests[key] = int(sample.value)
            elif sample.name == "rtp_delivery_waits_total":
                held[sample.labels["result"]] = int(sample.value)
    decisions = requests.pop(("/v1/decisions", "200"), 0)
    arrive = requests.pop(("/bench/arrive", "204"), 0)
    other = sum(n for (route, _), n in requests.items() if route != "/bench/counts")
    return {"at": time.monotonic(), "cpu_s": time.process_time(),
            "immediate": decisions - sum(held.values()), "held": held, "arrive": arrive,
            "other": other, "held_now": state.waits.held,
            "cache_hits": state.answers.hits, "cache_misses": state.answers.misses}


def serve_floor(port_file: Path, event_loop: str = "auto") -> None:
    """The floor: a bare aiohttp app (no middleware, no store) with the delivery server's
    bench routes, doing the least any server must for the same traffic; write its port.

    ``GET /v1/decisions`` answers a constant body at once, or, with ``trigger`` and
    ``wait_ms``, holds the request on a future until ``/bench/arrive?trigger=…`` settles it
    or a ``loop.call_later`` timer does (header ``X-RTP-Wait``: ``arrived``, ``seen`` or
    ``timeout``); ``/bench/counts`` reports what it answered, as :func:`delivery_counts`.
    """
    from pipeline.delivery.runtime import loop_factory
    from pipeline.web.serve import start_app

    async def main() -> None:
        served = await start_app(floor_app(), "127.0.0.1", 0)
        port_file.write_text(str(served.port))
        await asyncio.Event().wait()  # until the orchestrator terminates this process

    with asyncio.Runner(loop_factory=loop_factory(event_loop)) as runner:
        runner.run(main())


def floor_app() -> Any:
    """The floor's app (see :func:`serve_floor`); one held request per trigger."""
    from aiohttp import web

    body = b'{"ok": true}'
    waiting: dict[str, asyncio.Future[str]] = {}
    seen: set[str] = set()
    counts: dict[str, Any] = {"immediate": 0, "held": {}, "arrive": 0, "other": 0}
    held = counts["held"]

    def settle(future: asyncio.Future[str], ending: str) -> None:
        if not future.done():
            future.set_result(ending)

    async def decisions(request: web.Request) -> web.Response:
        query = request.query
        trigger = query.get("trigger")
        if trigger is None:
            counts["immediate"] += 1
            return web.Response(body=body, content_type="application/json")
        if trigger in seen:
            ending = "seen"
        else:
            loop = asyncio.get_running_loop()
            future = waiting[trigger] = loop.create_future()
            timer = loop.call_later(int(query["wait_ms"]) / 1000, settle, future, "timeout")
            try:
                ending = await future
            finally:
                timer.cancel()
                waiting.pop(trigger, None)
        held[ending] = held.get(ending, 0) + 1
        return web.Response(body=body, content_type="application/json",
                            headers={"X-RTP-Wait": ending})

    async def arrive(request: web.Request) -> web.Response:
        trigger = request.query["trigger"]
        counts["arrive"] += 1
        if len(seen) > 100_000:
            seen.clear()
        seen.add(trigger)
        future = waiting.get(trigger)
        if future is not None:
            settle(future, "arrived")
        return web.Response(status=204)

    async def report(request: web.Request) -> web.Response:
        return web.json_response({**counts, "at": time.monotonic(),
                                  "cpu_s": time.process_time(), "held_now": len(waiting)})

    app = web.Application()
    app.router.add_get("/v1/decisions", decisions)
    app.router.add_get("/bench/arrive", arrive)
    app.router.add_get("/bench/counts", report)
    return app


# -- the load process --------------------------------------------------------------------

class _Connection:
    """One keep-alive HTTP/1.1 connection; far cheaper per request than a full client."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self, request: bytes) -> int:
        return (await self.exchange(request))[0]

    async def exchange(self, request: bytes) -> tuple[int, bytes, bytes]:
        """Send ``request``; the answer's status, head and body."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length)
        return status, head, body


async def _read_counts(connection: _Connection, host: str, at: float) -> dict[str, Any]:
    """The server's ``/bench/counts`` asked at ``at`` (perf_counter s)."""
    await asyncio.sleep(max(0.0, at - time.perf_counter()))
    status, _, body = await connection.exchange(
        f"GET /bench/counts HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    if status != 200:
        raise RuntimeError(f"/bench/counts answered {status}")
    counts: dict[str, Any] = json.loads(body)
    return counts


async def _load(url: str, rate: float, seconds: float, warmup: float,
                connections: int = 64, count: bool = False) -> dict[str, Any]:
    rng = random.Random(42)
    host, _, rest = url.removeprefix("http://").partition("/")
    hostname, _, port = host.partition(":")
    path = "/" + rest
    latencies: list[float] = []
    behind: list[float] = []
    answered: list[float] = []  # monotonic s of every 200 answer, warm-up included
    errors = 0
    total = int(rate * (seconds + warmup))
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(_Connection(*await asyncio.open_connection(hostname, int(port))))

    async def one(due: float, visitor: int, measured: bool) -> None:
        nonlocal errors
        request = (f"GET {path}?visitor=v-{visitor}&slots=hero,overlay HTTP/1.1\r\n"
                   f"Host: {host}\r\n\r\n").encode()
        connection = await pool.get()
        try:
            ok = await connection.get(request) == 200
        except (OSError, asyncio.IncompleteReadError, ValueError):
            ok = False
            connection = _Connection(*await asyncio.open_connection(hostname, int(port)))
        pool.put_nowait(connection)
        if ok:
            answered.append(time.monotonic())
        if measured:
            if ok:
                latencies.append(time.perf_counter() - due)
            else:
                errors += 1

    start = time.perf_counter() + 0.05
    # the server's own counts when the measured load starts and when its last request is due
    reads = [asyncio.create_task(_read_counts(
        _Connection(*await asyncio.open_connection(hostname, int(port))), host, at))
        for at in (start + warmup, start + total / rate)] if count else []
    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)  # the fixed schedule: open loop
        measured = i >= rate * warmup
        if measured:
            behind.append(max(0.0, time.perf_counter() - due))
        # 10% of visitors are unknown: the explicit empty answer
        tasks.append(asyncio.create_task(one(due, rng.randrange(int(VISITORS * 1.1)),
                                             measured)))
    measured_start = start + warmup
    to_monotonic = time.monotonic() - time.perf_counter()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - measured_start
    counts = [await read for read in reads]
    while not pool.empty():
        pool.get_nowait().writer.close()
    # when the measured load was offered, on the machine-wide monotonic clock (for the held
    # requests' process to keep only what it asked meanwhile)
    window = [measured_start + to_monotonic, start + total / rate + to_monotonic]
    return {**load_summary(latencies, errors, behind, elapsed), "window": window,
            "sent": total, "answered": answered, "counts": counts}


def load_summary(latencies_s: list[float], errors: int, behind_s: list[float],
                 elapsed_s: float) -> dict[str, Any]:
    """One offered load's row from its measured latencies and send lags (seconds).

    Percentiles by nearest rank (:func:`bench.common.percentile`).

    >>> row = load_summary([i / 1000 for i in range(1, 101)], 0, [0.0] * 100, 2.0)
    >>> row["requests"], row["achieved_rps"], row["p50_ms"], row["p99_ms"], row["max_ms"]
    (100, 50.0, 50.0, 99.0, 100.0)
    """
    ms = [v * 1000 for v in latencies_s]
    return {
        "requests": len(ms) + errors,
        "achieved_rps": len(ms) / elapsed_s if elapsed_s > 0 else 0.0,
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else float("nan"),
        "errors": errors,
        "behind_p99_ms": percentile([v * 1000 for v in behind_s], 99) if behind_s else 0.0,
    }


def load(url: str, rate: float, seconds: float, out: Path, count: bool = False) -> None:
    """Send ``rate`` requests/s to ``url`` for ``seconds`` (after a warm-up); write JSON.

    The cyclic garbage collector is off in this short-lived process: the thousands of
    request tasks alive during a run made it pause for a full collection (about 20 ms,
    once or twice a run), which delayed every request in flight and so showed as
    server latency. Memory is freed by reference counting all the same.
    """
    gc.disable()
    out.write_text(json.dumps(asyncio.run(_load(url, rate, seconds, WARMUP_SECONDS,
                                                count=count))))


# -- the held-requests process -------------------------------------------------------------

def _header(head: bytes, name: bytes) -> str:
    for line in head.split(b"\r\n"):
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip().decode()
    return ""


async def _hold(url: str, held: int, wait_ms: int, seconds: float,
                ready: Path) -> dict[str, Any]:
    rng = random.Random(7)
    run = os.urandom(4).hex()
    host, _, _ = url.removeprefix("http://").partition("/")
    hostname, _, port = host.partition(":")
    wait_s = wait_ms / 1000
    # per held request: [asked (monotonic s), ms past the wait (negative: before it), how the
    # wait ended, ms from handing its decision over to the answer (None: none handed over or
    # it did not end the wait)]
    records: list[list[Any]] = []
    arrived: list[float] = []  # monotonic s of every /bench/arrive answer
    errors = 0
    ok = 0  # 200 answers
    sequence = 0
    arrivals: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(16):
        arrivals.put_nowait(_Connection(*await asyncio.open_connection(hostname, int(port))))
    stop_at = time.perf_counter() + seconds

    async def arrive(trigger: str, visitor: int, at: float, sent: list[float]) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        connection = await arrivals.get()
        try:
            sent.append(time.perf_counter())
            await connection.exchange((f"GET /bench/arrive?trigger={trigger}&visitor={visitor} "
                                       f"HTTP/1.1\r\nHost: {host}\r\n\r\n").encode())
            arrived.append(time.monotonic())
        finally:
            arrivals.put_nowait(connection)

    async def slot() -> None:
        nonlocal errors, ok, sequence
        connection = _Connection(*await asyncio.open_connection(hostname, int(port)))
        while time.perf_counter() < stop_at:
            sequence += 1
            # unique across runs: the server lives through every offered load, and a trigger
            # it has seen is answered at once ("seen"), never held
            trigger, visitor = f"h-{run}-{sequence}", rng.randrange(VISITORS)
            asked, asked_at = time.perf_counter(), time.monotonic()
            sent: list[float] = []
            arrival = None
            if rng.random() < 0.5:
                arrival = asyncio.create_task(arrive(
                    trigger, visitor, asked + wait_s * rng.uniform(0.2, 0.9), sent))
            request = (f"GET /v1/decisions?visitor=v-{visitor}&slots=hero,overlay"
                       f"&trigger={trigger}&wait_ms={wait_ms} HTTP/1.1\r\n"
                       f"Host: {host}\r\n\r\n").encode()
            try:
                status, head, _ = await connection.exchange(request)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                connection = _Connection(*await asyncio.open_connection(hostname, int(port)))
                continue
            answered, answered_at = time.perf_counter(), time.monotonic()
            if status != 200:
                errors += 1
            else:
                ok += 1
            ending = _header(head, b"x-rtp-wait")
            after = None
            if arrival is not None:
                await arrival
                if ending == "arrived" and sent:
                    after = (answered - sent[0]) * 1000
            records.append([asked_at, (answered - asked - wait_s) * 1000, ending, after,
                            answered_at])
        connection.writer.close()

    # this process's own lateness: a 10 ms sleep's overshoot, sampled all along (if large,
    # this process, not the server, made held answers late)
    lags: list[list[float]] = []

    async def probe() -> None:
        while time.perf_counter() < stop_at:
            due = time.perf_counter() + 0.01
            await asyncio.sleep(0.01)
            lags.append([time.monotonic(), (time.perf_counter() - due) * 1000])

    slots = [asyncio.create_task(slot()) for _ in range(held)]
    probing = asyncio.create_task(probe())
    await asyncio.sleep(min(wait_s, 1.0))
    ready.write_text("ramped")
    await asyncio.gather(*slots)
    await probing
    while not arrivals.empty():
        arrivals.get_nowait().writer.close()
    return {"held": held, "wait_ms": wait_ms, "errors": errors, "ok": ok, "records": records,
            "arrived": arrived, "lags": lags}


def held_in_window(records: list[list[Any]], start: float,
                   end: float) -> tuple[list[float], list[float], dict[str, int]]:
    """The held requests asked while the load was offered (``start <= asked <= end``): their
    ms past the wait, ms after their decision's arrival (where it ended the wait), endings.

    >>> records = [[0.5, 900.0, "timeout", None], [1.0, 2.0, "timeout", None],
    ...            [1.5, -300.0, "arrived", 1.5], [3.5, 7.0, "timeout", None]]
    >>> held_in_window(records, 1.0, 3.0)
    ([2.0, -300.0], [1.5], {'timeout': 1, 'arrived': 1})
    """
    mine = [r for r in records if start <= r[0] <= end]
    endings: dict[str, int] = {}
    for r in mine:
        endings[r[2]] = endings.get(r[2], 0) + 1
    return ([float(r[1]) for r in mine], [float(r[3]) for r in mine if r[3] is not None],
            endings)


def held_summary(held: int, wait_ms: int, over_budget_ms: list[float],
                 after_arrival_ms: list[float], endings: dict[str, int],
                 errors: int) -> dict[str, Any]:
    """The held requests' columns: how far past its wait each held answer came (negative:
    before it, its decision arrived), how long after its decision's arrival, how waits ended.

    >>> row = held_summary(2, 100, [-50.0, 1.0, 2.0, 7.0], [3.0, 4.0], {"arrived": 1}, 0)
    >>> row["held_requests"], row["held_past_budget_p50_ms"], row["held_past_budget_p99_ms"]
    (4, 1.0, 7.0)
    >>> row["held_over_budget_plus_5ms"], row["answer_after_arrival_p50_ms"]
    (1, 3.0)
    """
    return {
        "held": held, "wait_ms": wait_ms, "held_requests": len(over_budget_ms),
        "held_past_budget_p50_ms": percentile(over_budget_ms, 50),
        "held_past_budget_p99_ms": percentile(over_budget_ms, 99),
        "held_past_budget_max_ms": max(over_budget_ms) if over_budget_ms else float("nan"),
        "held_over_budget_plus_5ms": sum(v > 5.0 for v in over_budget_ms),
        "answer_after_arrival_p50_ms": percentile(after_arrival_ms, 50),
        "answer_after_arrival_p99_ms": percentile(after_arrival_ms, 99),
        "wait_endings": dict(sorted(endings.items())), "held_errors": errors,
    }


def hold(url: str, held: int, wait_ms: int, seconds: float, ready: Path, out: Path) -> None:
    """Keep ``held`` same-page requests held for ``seconds``; write JSON (see the module)."""
    gc.disable()
    out.write_text(json.dumps(asyncio.run(_hold(url, held, wait_ms, seconds, ready))))


# -- orchestration -----------------------------------------------------------------------

def _child(*args: str, checkout: Path = ROOT) -> subprocess.Popen[bytes]:
    """``python -m bench.delivery ARGS`` in a process of its own, importing ``checkout``'s
    code (another checkout: ``--baseline``)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(checkout),
                                                       os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "bench.delivery", *args], cwd=checkout,
                            env=env)


def served_columns(load_out: dict[str, Any], holding: dict[str, Any]) -> dict[str, Any]:
    """What the server answered while the measured load was offered, by its own counters
    (``served_*``, between its two ``/bench/counts`` reads, on its clock), beside what the
    clients received in the same interval (``received_rps``: immediate, held and arrival
    answers), how many requests it held at the two reads, and the server process's CPU time
    in the interval: per second (``server_cpu_share``, 1.0 = one core busy) and per answer.

    >>> a = {"at": 10.0, "immediate": 100, "held": {"timeout": 5}, "arrive": 1, "other": 0,
    ...      "held_now": 20, "cpu_s": 1.0}
    >>> b = {"at": 12.0, "immediate": 4100, "held": {"timeout": 1005, "arrived": 1000},
    ...      "arrive": 1001, "other": 0, "held_now": 19, "cpu_s": 2.4}
    >>> cols = served_columns({"counts": [a, b], "answered": [10.5] * 4000 + [13.0]},
    ...                       {"records": [[0, 0, "timeout", None, 11.0]] * 2000,
    ...                        "arrived": [11.5] * 1000})
    >>> cols["served_rps"], cols["served_immediate_rps"], cols["served_held_rps"]
    (3500.0, 2000.0, 1000.0)
    >>> cols["served_arrive_rps"], cols["received_rps"], cols["held_at_server"]
    (500.0, 3500.0, '20 / 19')
    >>> round(cols["server_cpu_share"], 3), round(cols["server_cpu_us_per_answer"], 1)
    (0.7, 200.0)

    The delivery server also reports its answer cache: the share of answers it took from it.

    >>> a["cache_hits"], a["cache_misses"], b["cache_hits"], b["cache_misses"] = 0, 0, 300, 100
    >>> served_columns({"counts": [a, b], "answered": []},
    ...                {"records": [], "arrived": []})["answer_cache_hit_share"]
    0.75
    """
    first, last = load_out["counts"]
    start, end = first["at"], last["at"]
    span = end - start

    def rate(key: str) -> float:
        if key == "held":
            return (sum(last["held"].values()) - sum(first["held"].values())) / span
        return float(last[key] - first[key]) / span

    def within(times: list[float]) -> int:
        return sum(start <= t <= end for t in times)

    received = (within(load_out["answered"]) + within([r[4] for r in holding["records"]])
                + within(holding["arrived"]))
    served = {f"served_{key}_rps": rate(key) for key in ("immediate", "held", "arrive")}
    total = sum(served.values()) + rate("other")
    cpu = last["cpu_s"] - first["cpu_s"]
    cache = {}
    if "cache_hits" in last:  # the delivery server's answer cache (the floor has none)
        hits = last["cache_hits"] - first["cache_hits"]
        asked = hits + last["cache_misses"] - first["cache_misses"]
        cache["answer_cache_hit_share"] = hits / asked if asked else float("nan")
    return {"served_rps": total, **served, "received_rps": received / span, **cache,
            "held_at_server": f"{first['held_now']} / {last['held_now']}",
            "server_cpu_share": cpu / span,
            "server_cpu_us_per_answer": cpu / (total * span) * 1e6 if total else float("nan")}


def counts_check(before: dict[str, Any], after: dict[str, Any], load_out: dict[str, Any],
                 holding: dict[str, Any]) -> str:
    """The server's counts over a whole phase against the clients' (``agree`` or what
    differs): immediate 200 answers, held 200 answers, arrivals, anything else.

    >>> before = {"immediate": 10, "held": {"timeout": 1}, "arrive": 0, "other": 0}
    >>> after = {"immediate": 13, "held": {"timeout": 2, "arrived": 1}, "arrive": 1, "other": 0}
    >>> counts_check(before, after, {"answered": [0.0] * 3}, {"ok": 2, "arrived": [0.0]})
    'agree'
    >>> counts_check(before, after, {"answered": [0.0] * 2}, {"ok": 2, "arrived": [0.0]})
    'immediate: server 3, clients 2'
    """
    pairs = {
        "immediate": (after["immediate"] - before["immediate"], len(load_out["answered"])),
        "held": (sum(after["held"].values()) - sum(before["held"].values()), holding["ok"]),
        "arrive": (after["arrive"] - before["arrive"], len(holding["arrived"])),
        "other": (after["other"] - before["other"], 0),
    }
    wrong = [f"{key}: server {server}, clients {clients}"
             for key, (server, clients) in pairs.items() if server != clients]
    return "; ".join(wrong) or "agree"


def _get_counts(base: str) -> dict[str, Any]:
    with urllib.request.urlopen(base + "/bench/counts", timeout=30) as answer:
        counts: dict[str, Any] = json.loads(answer.read())
        return counts


def _await_file(path: Path, child: subprocess.Popen[bytes], failure: str,
                timeout_s: float = 60.0) -> str:
    """The text ``child`` writes to ``path`` once it is ready (its port, a ready mark);
    stops it and raises ``failure`` if it exits first or takes longer than ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not path.exists() or not path.read_text():
        if child.poll() is not None or time.monotonic() > deadline:
            child.terminate()
            raise RuntimeError(failure)
        time.sleep(0.05)  # polling another process's ready file
    return path.read_text()


def _start_server(tmp: Path, name: str, *args: str,
                  checkout: Path = ROOT) -> tuple[subprocess.Popen[bytes], str]:
    port_file = tmp / f"port-{name}-{checkout.name}"
    server = _child(name, str(port_file), *args, checkout=checkout)
    port = _await_file(port_file, server, f"the {name} server did not start")
    return server, f"http://127.0.0.1:{port}"


def _held_phase(base: str, tmp: Path, name: str, rate: int, held: int, wait_ms: int,
                seconds: float) -> dict[str, Any]:
    """One offered load against one server while ``held`` requests are held on it: the
    load row, the held columns, the server's counts beside the clients'."""
    before = _get_counts(base)
    ready, held_out = tmp / f"ready-{name}-{rate}", tmp / f"held-{name}-{rate}.json"
    holder = _child("hold", base, str(held), str(wait_ms),
                    str(seconds + WARMUP_SECONDS + 2 * wait_ms / 1000 + 1),
                    str(ready), str(held_out))
    _await_file(ready, holder, "the held-requests process failed to start")
    out = tmp / f"load-{name}-{rate}.json"
    client = _child("load", base + "/v1/decisions", str(rate), str(seconds), str(out), "count")
    if client.wait(timeout=seconds * 10 + 60) != 0 or \
            holder.wait(timeout=seconds * 10 + 60) != 0:
        raise RuntimeError(f"a load process failed at {rate} req/s")
    after = _get_counts(base)
    measured = json.loads(out.read_text())
    holding = json.loads(held_out.read_text())
    over, late, endings = held_in_window(holding["records"], *measured["window"])
    row = {key: measured[key] for key in ("requests", "achieved_rps", "p50_ms", "p99_ms",
                                          "max_ms", "errors", "behind_p99_ms")}
    start, end = measured["window"]
    lag = [ms for at, ms in holding["lags"] if start <= at <= end]
    return {**row, **served_columns(measured, holding),
            "counts_check": counts_check(before, after, measured, holding),
            **held_summary(held, wait_ms, over, late, endings, holding["errors"]),
            "held_client_lag_p99_ms": percentile(lag, 99) if lag else float("nan")}


def run_held(offered: tuple[int, ...], held: int, wait_ms: int = 1000,
             seconds: float | None = None, event_loop: str = "auto",
             record: bool = True, baseline: Path | None = None,
             pairs: int = 1) -> list[dict[str, Any]]:
    """Per offered load: the floor (a bare aiohttp app, :func:`serve_floor`), then the
    delivery server, each carrying the same ``held`` same-page requests and arrivals while
    the immediate load is offered (see the module docstring); returns the rows.

    With ``baseline`` (another checkout, say ``git archive main``), its delivery server runs
    beside this one's, and each offered load runs the floor, then ``pairs`` times baseline,
    this, this, baseline (ABBA: a drift in the machine's load weighs on both alike); the
    rows are never recorded then."""
    if seconds is None:
        seconds = scaled(SECONDS, bench_scale(), 1.0)
    rows: list[dict[str, Any]] = []
    load_before = load_note()
    with tempfile.TemporaryDirectory(prefix="rtp-bench-delivery-held-") as tmp_dir:
        tmp = Path(tmp_dir)
        servers: list[subprocess.Popen[bytes]] = []
        try:
            floor, floor_base = _start_server(tmp, "floor", event_loop)
            servers.append(floor)
            server, base = _start_server(tmp, "serve", event_loop, str(wait_ms))
            servers.append(server)
            order = [("", base)]
            if baseline is not None:
                old, old_base = _start_server(tmp, "serve", event_loop, str(wait_ms),
                                              checkout=baseline)
                servers.append(old)
                order = [(" (baseline)", old_base), ("", base), ("", base),
                         (" (baseline)", old_base)] * pairs
            for rate in offered:
                rows.append({"target": f"floor (bare aiohttp), {held} held",
                             "offered_rps": rate,
                             **_held_phase(floor_base, tmp, "floor", rate, held, wait_ms,
                                           seconds)})
                for i, (which, url) in enumerate(order):
                    rows.append({"target": f"/v1/decisions{which}, {held} held",
                                 "offered_rps": rate,
                                 **_held_phase(url, tmp, f"serve{i}", rate, held, wait_ms,
                                               seconds)})
        finally:
            for process in servers:
                process.terminate()
                process.wait(10)
    if record and baseline is None:
        write("delivery_held", rows, notes=(
            f"GET /v1/decisions on loopback while {held} same-page requests "
            f"(trigger=…&wait_ms={wait_ms}) are held by a third process (each re-asked as "
            "soon as it is answered), half of them released by a decision handed over "
            "through /bench/arrive after 20-90% of the wait. Each offered load runs twice "
            "with the same held traffic: first on the floor (a bare aiohttp app in its own "
            "process, no middleware: a constant answer, or a future released by the arrival "
            "or a timer), then on the delivery server. Goals (issue 13): p99 <= 2 ms at "
            "4,000 req/s; every held answer within wait + 5 ms. "
            f"{seconds:g} s per load after {WARMUP_SECONDS:g} s warm-up. offered_rps, "
            "achieved_rps, p50/p99/max: the immediate requests only (the load process). "
            "served_rps: every request the server answered per second while the measured "
            "load was offered, by the server's own counters (two reads of /bench/counts), "
            "split into immediate, held and arrival answers; received_rps: what the clients "
            "received in that same interval; held_at_server: requests held by the server at "
            "those two reads; answer_cache_hit_share: answers the delivery server took "
            "from its encoded-answer cache in that interval; counts_check: the server's "
            "totals over the run of that row against the clients' (agree = equal). The held "
            "columns count only the held requests asked while the measured load was "
            "offered; held_past_budget: answer time minus the wait (negative: its decision "
            "arrived); wait_endings: X-RTP-Wait (seen = the decision was there before the "
            "request was read); held_client_lag_p99_ms: how late the held process's own "
            "10 ms sleeps woke while the load was offered (if large, that process, not the "
            "server, made held answers late; behind_p99_ms is the same for the load "
            "process). Shared 2-core machine (servers, load processes and other "
            f"engineers' work on the same cores): {load_before} before, {load_note()} after."))
    return rows


def run(offered: tuple[int, ...] = OFFERED_RPS, seconds: float | None = None,
        event_loop: str = "auto", record: bool = True) -> list[dict[str, Any]]:
    """Measure every offered load; record the results unless ``record`` is off; returns the rows.

    ``seconds`` defaults to ``SECONDS`` scaled by ``RTP_BENCH_SCALE`` (at least 1 s).
    """
    from pipeline.delivery.runtime import loop_factory

    if seconds is None:
        seconds = scaled(SECONDS, bench_scale(), 1.0)
    loop = "uvloop" if loop_factory(event_loop) is not None else "asyncio"
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rtp-bench-delivery-") as tmp:
        port_file = Path(tmp) / "port"
        server = _child("serve", str(port_file), event_loop)
        try:
            deadline = time.monotonic() + 60
            while not port_file.exists() or not port_file.read_text():
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the delivery API did not start")
                time.sleep(0.05)  # waiting for the child to bind
            url = f"http://127.0.0.1:{port_file.read_text()}/v1/decisions"
            for rate in offered:
                out = Path(tmp) / f"load-{rate}.json"
                client = _child("load", url, str(rate), str(seconds), str(out))
                if client.wait(timeout=seconds * 10 + 60) != 0:
                    raise RuntimeError(f"the load process failed at {rate} req/s")
                measured = json.loads(out.read_text())
                measured.pop("window")
                rows.append({"offered_rps": rate, **measured})
        finally:
            server.terminate()
            server.wait(10)
    if record:
        write("delivery", rows, notes=(
            f"GET /v1/decisions?visitor=…&slots=hero,overlay on loopback; store pre-filled with "
            f"{VISITORS} visitors x 2 slots, 10% of requests for unknown visitors; one server "
            f"process (aiohttp on the {loop} event loop, heap settled after the fill), one "
            f"open-loop load process (64 keep-alive connections, fixed schedule, latency from the "
            f"due time), {seconds:g} s per load after {WARMUP_SECONDS:g} s warm-up. On a shared "
            "2-core machine server and client compete for the cores: read the knee (where "
            "achieved falls below offered and p99 climbs), not the absolute numbers. "
            "behind_p99_ms > a few ms means the client was the limit."))
    return rows


def main(argv: list[str] | None = None) -> int:
    """The command line: the orchestrator, or one of its children (``serve``, ``load``)."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["serve"]:
        serve(Path(args[1]), *args[2:4])
        return 0
    if args[:1] == ["floor"]:
        serve_floor(Path(args[1]), *args[2:3])
        return 0
    if args[:1] == ["hold"]:
        hold(args[1], int(args[2]), int(args[3]), float(args[4]), Path(args[5]), Path(args[6]))
        return 0
    if args[:1] == ["load"]:
        load(args[1], float(args[2]), float(args[3]), Path(args[4]), args[5:6] == ["count"])
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m bench.delivery",
        description="Latency of GET /v1/decisions at fixed offered loads (open loop); records "
                    "bench/results/delivery.{json,md} unless --no-record.")
    parser.add_argument("--rates", default=",".join(map(str, OFFERED_RPS)),
                        help="offered loads, requests/s, comma-separated (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=None,
                        help=f"measured seconds per load (default {SECONDS:g} x RTP_BENCH_SCALE, "
                             "at least 1)")
    parser.add_argument("--event-loop", choices=("auto", "asyncio", "uvloop"), default="auto",
                        help="the server's event loop (default: uvloop when installed)")
    parser.add_argument("--no-record", action="store_true",
                        help="print the rows only; leave bench/results alone")
    parser.add_argument("--held", type=int, default=0, metavar="N",
                        help="measure while N same-page requests are held, beside the floor "
                             "(a bare aiohttp app carrying the same held traffic); records "
                             "delivery_held")
    parser.add_argument("--wait-ms", type=int, default=1000,
                        help="the held requests' wait_ms (default %(default)s)")
    parser.add_argument("--baseline", type=Path, default=None, metavar="DIR",
                        help="with --held: another checkout's delivery server measured beside "
                             "this one's in ABBA order (say `git archive main`); not recorded")
    parser.add_argument("--pairs", type=int, default=1,
                        help="with --baseline: ABBA repetitions per offered load")
    opts = parser.parse_args(args)
    rates = tuple(int(r) for r in opts.rates.split(",") if r.strip())
    if opts.held > 0:
        rows = run_held(rates, opts.held, opts.wait_ms, opts.seconds, opts.event_loop,
                        record=not opts.no_record, baseline=opts.baseline, pairs=opts.pairs)
    else:
        rows = run(rates, opts.seconds, opts.event_loop, record=not opts.no_record)
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
