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
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import bench_scale, scaled
from bench.record import write

OFFERED_RPS = (250, 500, 1000, 2000, 3000, 4000)
SECONDS = 5.0
WARMUP_SECONDS = 0.5
VISITORS = 10_000
ROOT = Path(__file__).resolve().parents[1]


# -- the server process ------------------------------------------------------------------

def serve(port_file: Path, event_loop: str = "auto") -> None:
    """Run the delivery API with a pre-filled store until terminated; write its port."""
    from pipeline.delivery.app import DeliveryState, build_app
    from pipeline.delivery.options import DeliveryOptions
    from pipeline.delivery.runtime import loop_factory, settle_heap
    from pipeline.web.serve import start_app

    now = int(time.time() * 1000)
    state = DeliveryState.standalone(DeliveryOptions(http_port=0, serve_shop=False))
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
        served = await start_app(build_app(state), "127.0.0.1", 0)
        port_file.write_text(str(served.port))
        await asyncio.Event().wait()  # until the orchestrator terminates this process

    with asyncio.Runner(loop_factory=loop_factory(event_loop)) as runner:
        runner.run(main())


# -- the load process --------------------------------------------------------------------

class _Connection:
    """One keep-alive HTTP/1.1 connection; far cheaper per request than a full client."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status


async def _load(url: str, rate: float, seconds: float, warmup: float,
                connections: int = 64) -> dict[str, Any]:
    rng = random.Random(42)
    host, _, rest = url.removeprefix("http://").partition("/")
    hostname, _, port = host.partition(":")
    path = "/" + rest
    latencies: list[float] = []
    behind: list[float] = []
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
        if measured:
            if ok:
                latencies.append(time.perf_counter() - due)
            else:
                errors += 1

    start = time.perf_counter() + 0.05
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
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - measured_start
    while not pool.empty():
        pool.get_nowait().writer.close()
    latencies.sort()
    ms = [v * 1000 for v in latencies]
    return {
        "requests": len(latencies) + errors,
        "achieved_rps": len(latencies) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": statistics.median(ms) if ms else float("nan"),
        "p99_ms": ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else float("nan"),
        "max_ms": ms[-1] if ms else float("nan"),
        "errors": errors,
        "behind_p99_ms": sorted(behind)[int(len(behind) * 0.99)] * 1000 if behind else 0.0,
    }


def load(url: str, rate: float, seconds: float, out: Path) -> None:
    """Send ``rate`` requests/s to ``url`` for ``seconds`` (after a warm-up); write JSON.

    The cyclic garbage collector is off in this short-lived process: the thousands of
    request tasks alive during a run made it pause for a full collection (about 20 ms,
    once or twice a run), which delayed every request in flight and so showed as
    server latency. Memory is freed by reference counting all the same.
    """
    gc.disable()
    out.write_text(json.dumps(asyncio.run(_load(url, rate, seconds, WARMUP_SECONDS))))


# -- orchestration -----------------------------------------------------------------------

def _child(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT),
                                                       os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "bench.delivery", *args], cwd=ROOT, env=env)


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
                rows.append({"offered_rps": rate, **json.loads(out.read_text())})
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
        serve(Path(args[1]), *args[2:3])
        return 0
    if args[:1] == ["load"]:
        load(args[1], float(args[2]), float(args[3]), Path(args[4]))
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
    opts = parser.parse_args(args)
    rates = tuple(int(r) for r in opts.rates.split(",") if r.strip())
    for row in run(rates, opts.seconds, opts.event_loop, record=not opts.no_record):
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
