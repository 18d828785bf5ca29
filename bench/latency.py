"""Event→action latency through one worker at fixed offered loads: p50/p95/p99.

One ``rtp worker`` (:class:`pipeline.processes.WorkerProcess`) runs under a fresh
topic prefix. This process offers home-page views at a fixed rate with an
**open-loop schedule** (event ``i`` is due at ``start + i / rate`` whatever the
worker does) through the web tier's SDK (:class:`pipeline.client.EventProducer`,
its defaults: linger 5 ms, lz4, acks=all): every event is the first page view of
a new visitor of the personalized arm (``pipeline.decide.assign_arm``), so it
always gets a decision, and a delivered one unless the bandit picks
``no_action`` (about half of them: with no outcomes every eligible arm ties).
A reader thread follows ``personalization.actions`` (:func:`bench.common.read_ready`:
each Decision is taken as soon as it is fetched); a latency is the time from the
produce call to the Decision with that trigger event id being read back.

Loads rise (``LOADS``) for ``SECONDS`` each (times ``RTP_BENCH_SCALE``, at least
3 s) after a short warm-up, each followed by a drain until the worker's group has
committed everything; the first load the worker does not keep up with is the
last one run. *Kept up* means: drained within the timeout, the median latency of
the window's last quarter is at most twice that of its first quarter plus 20 ms
(no growing queue), and p99 under a second. ``worker_cpu`` is the worker's CPU
time over the window's wall time (1.0 = one core busy); ``broker_cpu`` the local
broker's and ``machine_busy`` the whole machine's busy cores over the same window (the
worker, the broker and this load generator share the machine: a load the worker falls
behind on while the machine is near its core count says more about the machine).
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import (
    BenchError,
    CpuMeter,
    bench_scale,
    cpu_seconds,
    kafka_prefix,
    latency_summary,
    load_note,
    percentile,
    read_ready,
    scaled,
)
from bench.record import write
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, EVENTS

__all__ = ["GOAL_P99_MS", "LOADS", "MODES", "SECONDS", "kept_up", "run", "verdict"]

LOADS = (50, 200, 500, 1000, 2000, 5000)
SECONDS = 8.0
WARMUP_EVENTS = 100
GOAL_P99_MS = 25.0
GOAL_LOAD = 1000


def kept_up(latencies_ms: list[float], drained: bool) -> bool:
    """Whether a worker kept up with a load, from the latencies in send order.

    >>> kept_up([10.0] * 40, drained=True)
    True
    >>> kept_up([10.0 * i for i in range(1, 41)], drained=True)  # a growing queue
    False
    >>> kept_up([10.0] * 40, drained=False)
    False
    """
    if not drained or not latencies_ms:
        return False
    quarter = max(1, len(latencies_ms) // 4)
    first = percentile(latencies_ms[:quarter], 50)
    last = percentile(latencies_ms[-quarter:], 50)
    return last <= 2 * first + 20.0 and percentile(latencies_ms, 99) < 1000.0


class _Reader(threading.Thread):
    """Follows the actions topic; remembers when each trigger's Decision was read."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        from pipeline.serde import Codec

        self.codec = Codec.default()
        self.received: dict[str, float] = {}
        self.stopping = threading.Event()
        topic = settings.topic(ACTIONS)
        self.consumer = Consumer({"bootstrap.servers": settings.bootstrap,
                                  "group.id": f"{settings.topic_prefix}latency-reader",
                                  "enable.auto.commit": False, "fetch.wait.max.ms": 10})
        partitions = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
        # The prefix is fresh: reading from the beginning sees only this run's decisions.
        self.consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])

    def run(self) -> None:
        from pipeline.serde import SerdeError

        while not self.stopping.is_set():
            # Not consume(1000, timeout): it returns only when 1,000 are there or the
            # timeout is over, adding up to the timeout to every latency measured.
            batch = read_ready(self.consumer, 1000, 0.1)
            now = time.perf_counter()
            for msg in batch:
                if msg.error() is not None or msg.value() is None:
                    continue
                try:
                    _, decision = self.codec.decode(msg.value(), ("Decision",))
                except SerdeError:
                    continue
                self.received.setdefault(str(decision["trigger_event_id"]), now)

    def close(self) -> None:
        self.stopping.set()
        self.join(10)
        self.consumer.close()


def _visitors(prefix: str, start: int, count: int) -> tuple[list[str], int]:
    """``count`` fresh visitor ids of the personalized arm; returns them and the next index."""
    from pipeline.decide import assign_arm

    out: list[str] = []
    index = start
    while len(out) < count:
        visitor = f"{prefix}v{index:07d}"
        index += 1
        if assign_arm(visitor) == "personalized":
            out.append(visitor)
    return out, index


def _offer(settings: Settings, producer: Any, visitors: list[str], rate: float,
           on_start: Callable[[], None] | None = None) -> tuple[dict[str, float], list[float]]:
    """Send one home-page view per visitor at ``rate``/s; (send time by event id, lags in ms).

    The events are encoded first (their event times are the schedule's); ``on_start`` is
    called when the first is due, so that what is measured around the sends (CPU) does not
    include the encoding lead (0.5 s + 0.2 ms per event: 8.5 s before a 5,000/s load)."""
    from pipeline.client import click_event
    from pipeline.serde import Codec

    codec = Codec.default()
    topic = settings.topic(EVENTS)
    wall0 = time.time() + 0.5 + 0.0002 * len(visitors)  # time to encode them first
    messages = []
    for i, visitor in enumerate(visitors):
        event = click_event(visitor, "page_view", int((wall0 + i / rate) * 1000),
                            event_id=f"{visitor}-home", url="https://shop.example/",
                            page_type="home", category=None, product_id=None)
        messages.append((event["event_id"], visitor.encode(),
                         codec.encode("ClickEvent", event, check=True)))
    start = time.perf_counter() + (wall0 - time.time())
    if start > time.perf_counter():
        time.sleep(start - time.perf_counter())  # pacing: the schedule's start
    if on_start is not None:
        on_start()
    sent: dict[str, float] = {}
    lags: list[float] = []
    for i, (event_id, key, value) in enumerate(messages):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)  # pacing the open-loop schedule
        now = time.perf_counter()
        sent[event_id] = now
        lags.append((now - due) * 1000)
        producer.produce_raw(topic, value, key)
    producer.flush(30)
    return sent, lags


#: The worker as shipped and two baselines, measured in one go in ABCCBA order so a change
#: in the machine's load over the run weighs on each alike: ``shipped`` (commits in the
#: background, Python's automatic full collections off), ``wait`` (``rtp worker
#: --wait-on-commits``: every commit holds the loop until outputs, states and offsets are
#: acknowledged) and ``python-gc`` (``--python-gc``: Python's own collector policy).
MODES = ("shipped", "wait", "python-gc", "python-gc", "wait", "shipped")


def _ladder(settings: Settings, workdir: Path, mode: str) -> tuple[list[dict[str, Any]], str]:
    """One worker with commits in ``mode``: the rising loads until it falls behind."""
    from pipeline.client import EventProducer
    from pipeline.processes import WorkerProcess, wait_caught_up

    seconds = scaled(SECONDS, bench_scale(), 3.0)
    rows: list[dict[str, Any]] = []
    stopped_at = ""
    worker = WorkerProcess(settings, workdir / "worker-data", workdir / "worker.log",
                           commit_every=2.0, background_commits=mode != "wait",
                           python_gc=mode == "python-gc")
    reader: _Reader | None = None
    try:
        worker.wait_ready(timeout=180)
        reader = _Reader(settings)
        reader.start()
        producer = EventProducer(settings)
        index = 0
        warm, index = _visitors(settings.topic_prefix, index, WARMUP_EVENTS)
        _offer(settings, producer, warm, 50.0)
        wait_caught_up(worker, [settings.topic(EVENTS)], timeout=60)
        for rate in LOADS:
            visitors, index = _visitors(settings.topic_prefix, index, int(rate * seconds))
            window: dict[str, Any] = {}

            def started(window: dict[str, Any] = window) -> None:  # the schedule's start
                window.update(cpu0=cpu_seconds(worker.proc.pid), wall0=time.perf_counter(),
                              meter=CpuMeter(settings))

            sent, lags = _offer(settings, producer, visitors, float(rate), started)
            cpu0, wall0, busy = window["cpu0"], window["wall0"], window["meter"].read()
            cpu1, wall1 = cpu_seconds(worker.proc.pid), time.perf_counter()
            drained = True
            try:
                wait_caught_up(worker, [settings.topic(EVENTS)], timeout=30 + seconds)
            except TimeoutError:
                drained = False
            time.sleep(0.5)  # the last decisions' way back to the reader
            ordered = sorted(sent.items(), key=lambda kv: kv[1])
            latencies = [(reader.received[eid] - at) * 1000 for eid, at in ordered
                         if eid in reader.received]
            ok = kept_up(latencies, drained)
            summary = latency_summary(latencies)
            rows.append({
                "worker": mode, "offered_per_s": rate, "seconds": round(seconds, 1),
                "events": len(sent), "delivered": summary["n"], "p50_ms": summary["p50_ms"],
                "p95_ms": summary["p95_ms"], "p99_ms": summary["p99_ms"],
                "max_ms": summary["max_ms"],
                "send_lag_p99_ms": percentile(lags, 99),
                "worker_cpu": (cpu1 - cpu0) / (wall1 - wall0),
                "broker_cpu": busy["broker_cpu"],
                "machine_busy": busy["machine_busy_cores"],
                "kept_up": "yes" if ok else "NO",
            })
            print(f"   {rows[-1]}", flush=True)
            if not ok:
                stopped_at = f"{mode}: stopped rising after {rate}/s (fell behind)"
                break
        producer.close()
    except TimeoutError as exc:
        raise BenchError(f"worker did not keep up with the warm-up: {exc}\n"
                         f"{worker.tail()}") from exc
    finally:
        if reader is not None:
            reader.close()
        with contextlib.suppress(Exception):
            worker.stop()
    return rows, stopped_at


def verdict(rows: list[dict[str, Any]]) -> str:
    """The goal's verdict from every run of the worker as shipped at the goal's load.

    >>> row = {"worker": "shipped", "offered_per_s": 1000, "kept_up": "yes"}
    >>> verdict([{**row, "p99_ms": 20.0}, {**row, "p99_ms": 24.0}])
    'met in 2 of 2 runs (p99 20.0, 24.0 ms)'
    >>> verdict([{**row, "p99_ms": 20.0}, {**row, "p99_ms": 30.0}])
    'NOT met in 1 of 2 runs (p99 20.0, 30.0 ms)'
    >>> verdict([])
    'not measured: the worker fell behind below 1000/s'
    """
    at_goal = [r for r in rows if r["worker"] == "shipped"
               and r["offered_per_s"] == GOAL_LOAD]
    if not at_goal:
        return f"not measured: the worker fell behind below {GOAL_LOAD}/s"
    met = [r["kept_up"] == "yes" and r["p99_ms"] <= GOAL_P99_MS for r in at_goal]
    p99s = ", ".join(f"{r['p99_ms']:.1f}" for r in at_goal)
    head = "met" if all(met) else "NOT met"
    return f"{head} in {sum(met) if all(met) else len(met) - sum(met)} of {len(met)} runs " \
           f"(p99 {p99s} ms)"


def run() -> list[dict[str, Any]]:
    """Measure and record; returns the rows."""
    scale = bench_scale()
    seconds = scaled(SECONDS, scale, 3.0)
    load_before = load_note()
    rows: list[dict[str, Any]] = []
    stops: list[str] = []
    for number, mode in enumerate(MODES, 1):
        print(f"  run {number}/{len(MODES)}: worker {mode}", flush=True)
        with tempfile.TemporaryDirectory(prefix="rtp-bench-lat-") as tmp, \
                kafka_prefix("latency") as settings:
            ladder, stopped_at = _ladder(settings, Path(tmp), mode)
        rows += [{"run": number, **row} for row in ladder]
        stops.append(stopped_at or f"{mode}: every offered load was run")
    notes = "\n".join([
        f"Goal (reported, not asserted): p99 <= {GOAL_P99_MS:.0f} ms at {GOAL_LOAD:,} "
        f"events/s, the worker as shipped: **{verdict(rows)}**. "
        + "; ".join(f"run {i}: {stop}" for i, stop in enumerate(stops, 1)) + ".",
        "",
        "Runs in ABCCBA order, each with its own worker and topic prefix: `shipped` = the "
        "worker as shipped (commits in the background; Python's automatic full garbage "
        "collections off, a safety-net one every 10 min), `wait` = `rtp worker "
        "--wait-on-commits` (every commit holds the loop until outputs, states and offsets "
        "are acknowledged), `python-gc` = `rtp worker --python-gc` (Python's own collector "
        "policy: full collections walk every cached state). Both baselines are measured in "
        "the same run.",
        "",
        "Latency = produce call (SDK: linger 5 ms, lz4, acks=all) → Decision read back from "
        "personalization.actions by a consumer in this process; one worker, commit every "
        "2 s, 4 partitions, fresh visitor per event (home page, personalized "
        "arm); only delivered decisions (not no_action) have a latency. send_lag is how late "
        "the load generator itself sent (if large, this process was the limit). worker_cpu, "
        "broker_cpu and machine_busy are cores busy during the load (the worker; the local "
        "broker; every process on the machine, of its 2 cores): a worker that falls behind "
        "below one core while machine_busy nears 2 was short of CPU, not of work.",
        "",
        f"Shared 2-core machine (other engineers may be running tests; the worker, broker "
        f"and this process share the cores): {load_before} before, {load_note()} after. "
        f"Scale {scale} (RTP_BENCH_SCALE): {seconds:.1f} s per load.",
    ])
    write("latency", rows, notes)
    return rows


if __name__ == "__main__":
    for result in run():
        print(result)
