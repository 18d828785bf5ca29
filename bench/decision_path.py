"""CPU per event of the decision path (``DecisionPath.apply``) without Kafka, and its outputs.

The traffic is the latency bench's worst case (``--traffic new-visitors``, the default):
every event is the **first** home-page view of a **new** visitor of the personalized arm
(:func:`bench.latency` ``_visitors``/``_offer``: the same ``click_event``, Avro-encoded),
so every event creates a visitor state and reaches a decision (bandit, guardrails, payload,
Decision + DecisionLog + pending reward). ``--traffic simulator`` runs the simulator's mix
instead (:func:`bench.throughput.generate_events`, seed 11), which the identity check
also wants.

Each run builds the worker's :class:`~topologies.decision_path.DecisionPath` in a child
process: the worker's engine (``learn_inline=False``), RocksDB tables in a temporary folder
(no changelog to read), an :class:`~topologies.loop.outputs.Outputs` whose producer only
keeps what it is given, a fixed clock (2,000 events/s of event time before it) and the
worker's garbage-collection policy (:mod:`topologies.loop.gc_pauses`). The
events are applied one by one, timed by the main thread's CPU clock
(``time.thread_time``) and the wall clock; then the commit's state encoding
(``start_write`` + ``Tables.encode_some``) is timed apart, as it is not part of ``apply``.
A run also digests everything the path produced (topic, key, value, in order) and every
encoded visitor state: two code versions whose digests are equal wrote the same bytes.

``--baseline DIR`` measures another checkout (say ``git archive main``) beside this one,
in ABBA order repeated (``--pairs``), each run a fresh child process whose ``PYTHONPATH``
is that checkout (this file runs as a script with ``python -P``, so only the checkout's
``pipeline`` and ``topologies`` are imported); the rows then say whether both wrote the
same bytes and what the change saved. Without it, ``--runs`` runs of this checkout.

``N`` is ``8,000 * RTP_BENCH_SCALE`` events (at least 1,000), or ``--events``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["RATE", "T0", "new_visitor_events", "run", "summarize"]

#: Event time per event: the events are 1/RATE s apart (the latency bench's 2,000 ev/s).
RATE = 2000.0
#: The fixed wall clock of a run, ms (the events are before it).
T0 = 1_800_000_000_000
FULL_EVENTS = 8000
ROOT = Path(__file__).resolve().parents[1]


def new_visitor_events(count: int, end_ms: int = T0) -> list[dict[str, Any]]:
    """``count`` first home-page views of new personalized-arm visitors, ``1/RATE`` s apart,
    the last one second before ``end_ms`` (as bench/latency.py offers them).

    >>> events = new_visitor_events(3)
    >>> [e["page"]["page_type"] for e in events], events[2]["event_time"] - events[0]["event_time"]
    (['home', 'home', 'home'], 1)
    """
    from pipeline.client import click_event
    from pipeline.decide import assign_arm

    start_ms = end_ms - 1000 - int(count / RATE * 1000)
    events: list[dict[str, Any]] = []
    index = 0
    while len(events) < count:
        visitor = f"bench-dpv{index:07d}"
        index += 1
        if assign_arm(visitor) != "personalized":
            continue
        events.append(click_event(visitor, "page_view", start_ms + int(len(events) / RATE * 1000),
                                  event_id=f"{visitor}-home", url="https://shop.example/",
                                  page_type="home", category=None, product_id=None))
    return events


class _Kept:
    """A producer that keeps nothing but a digest of what it is given, in order."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.records = 0

    def produce(self, topic: str, key: bytes | None = None, value: bytes | None = None,
                on_delivery: Any = None, partition: int | None = None) -> None:
        for part in (topic.encode(), key, value, str(partition).encode()):
            self.digest.update(b"-" if part is None else len(part).to_bytes(4, "big") + part)
        self.records += 1

    def poll(self, timeout: float = 0.0) -> int:
        return 0

    def flush(self, timeout: float = 0.0) -> int:
        return 0


class _NoChangelog:
    """A changelog reader with nothing to read (the stores start empty)."""

    def catch_up(self, store: Any, topic: str, partition: int, options: object = None) -> Any:
        return store


def measure(traffic: str, count: int) -> dict[str, Any]:
    """One run in this process: CPU and wall seconds of applying ``count`` events, the
    commit's state encoding, and digests of the outputs and states."""
    from pipeline.engine import Engine, EngineOptions
    from pipeline.serde import Codec
    from pipeline.settings import Settings
    from pipeline.topics import EVENTS
    from pipeline.topics.partitioning import partition_for
    from topologies.decision_path import DecisionPath
    from topologies.loop.gc_pauses import GcPolicy
    from topologies.loop.loop import Record
    from topologies.loop.outputs import Outputs
    from topologies.loop.tables import Tables
    from topologies.personalize import TABLES

    if traffic == "new-visitors":
        events = new_visitor_events(count)
    else:
        from bench.throughput import generate_events

        events = generate_events(count, end_ms=T0 - 1000)
    settings = Settings()
    codec = Codec.default()
    topic = settings.topic(EVENTS)
    records = []
    for offset, event in enumerate(events):
        key = str(event["visitor_id"]).encode()
        records.append(Record(topic, partition_for(key, settings.partitions), offset, key,
                              codec.encode("ClickEvent", event, check=True),
                              int(event["event_time"])))
    with tempfile.TemporaryDirectory(prefix="rtp-bench-dp-") as folder:
        tables = Tables(Path(folder), "bench", TABLES, _NoChangelog())  # type: ignore[arg-type]
        tables.assign(range(settings.partitions))
        producer = _Kept()
        outputs = Outputs("unused:1", producer=producer)
        path = DecisionPath(settings, Engine(EngineOptions(), learn_inline=False), tables,
                            outputs, clock=lambda: T0 / 1000)
        apply = path.apply
        gc_policy = GcPolicy()  # the worker's: no automatic full collection
        gc_policy.start()
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        for record in records:
            apply(record)
        cpu1, wall1 = time.thread_time(), time.perf_counter()
        outputs.hand_over()
        path.start_write()
        tables.encode_some(float("inf"))
        cpu2 = time.thread_time()
        # Stopped only now: the worker's commits encode under its policy too. Stopped before
        # the encoding, Python's automatic full collections came back and walked every
        # state (unfrozen by stop()) in the middle of it: 73 instead of ~30 µs per state.
        gc_policy.stop()
        states = hashlib.sha256()
        encoded = tables.take_encoded()
        for group in sorted(encoded):
            for key, value in sorted(encoded[group].items()):
                states.update(key + b"=" + (value or b"") + b";")
        tables.close()
    return {"traffic": traffic, "events": len(records), "apply_cpu_s": cpu1 - cpu0,
            "apply_wall_s": wall1 - wall0, "encode_cpu_s": cpu2 - cpu1,
            "outputs": producer.records, "outputs_sha256": producer.digest.hexdigest(),
            "states": sum(len(v) for v in encoded.values()),
            "states_sha256": states.hexdigest()}


def _child(checkout: Path, traffic: str, count: int) -> dict[str, Any]:
    """One run in a fresh process whose code is ``checkout``'s."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONHASHSEED": "0"}
    done = subprocess.run([sys.executable, "-P", __file__, "child", traffic, str(count)],
                          env=env, cwd=checkout, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"run on {checkout} failed: {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """µs per event (median and best of the runs) of applying and of encoding states.

    >>> summarize([{"events": 10, "apply_cpu_s": 0.002, "apply_wall_s": 0.003,
    ...             "encode_cpu_s": 0.001}] * 2)["apply_cpu_us_median"]
    200.0
    """
    def per_event(name: str) -> list[float]:
        return [1e6 * r[name] / r["events"] for r in runs]

    apply_cpu, apply_wall, encode = (per_event(n) for n in ("apply_cpu_s", "apply_wall_s",
                                                             "encode_cpu_s"))
    return {"runs": len(runs), "apply_cpu_us_median": round(statistics.median(apply_cpu), 1),
            "apply_cpu_us_best": round(min(apply_cpu), 1),
            "apply_wall_us_median": round(statistics.median(apply_wall), 1),
            "encode_cpu_us_median": round(statistics.median(encode), 1)}


def run(traffic: str = "new-visitors", count: int | None = None, baseline: Path | None = None,
        pairs: int = 3, runs: int = 3) -> list[dict[str, Any]]:
    """The benchmark (rows as recorded in bench/results/decision_path.{json,md})."""
    from bench.common import bench_scale, load_note, scaled
    from bench.record import write

    count = count or int(scaled(FULL_EVENTS, bench_scale(), 1000))
    load_before = load_note()
    order: list[tuple[str, Path]] = []
    if baseline is None:
        order = [("this checkout", ROOT)] * runs
    else:
        for _ in range(pairs):  # ABBA: a drift in the machine's load weighs on both alike
            order += [("baseline", baseline), ("this checkout", ROOT),
                      ("this checkout", ROOT), ("baseline", baseline)]
    results: dict[str, list[dict[str, Any]]] = {}
    for name, checkout in order:
        result = _child(checkout, traffic, count)
        print(f"   {name}: {1e6 * result['apply_cpu_s'] / result['events']:.1f} µs/event",
              flush=True)
        results.setdefault(name, []).append(result)
    rows = []
    for name, done in results.items():
        digests = {(r["outputs_sha256"], r["states_sha256"]) for r in done}
        rows.append({"code": name, "traffic": traffic, "events": count, **summarize(done),
                     "outputs": done[0]["outputs"], "states": done[0]["states"],
                     "outputs_sha256": done[0]["outputs_sha256"][:16],
                     "states_sha256": done[0]["states_sha256"][:16],
                     "same_bytes_every_run": len(digests) == 1})
    notes = [f"{traffic} traffic, {count:,} events per run, each run a fresh process; "
             "µs of the main thread's CPU per event (thread_time) unless said wall."]
    if baseline is not None:
        base, ours = rows[0], rows[1]
        same = (base["outputs_sha256"], base["states_sha256"]) == (ours["outputs_sha256"],
                                                                   ours["states_sha256"])
        saved = 1 - ours["apply_cpu_us_median"] / base["apply_cpu_us_median"]
        notes.append(f"ABBA x{pairs} against {baseline.name}: apply CPU "
                     f"{base['apply_cpu_us_median']} -> {ours['apply_cpu_us_median']} µs/event "
                     f"({saved:+.1%} saved); outputs and states byte-identical: "
                     f"{'yes' if same else 'NO'}.")
    notes.append(f"Shared machine: {load_before} before, {load_note()} after.")
    write("decision_path", rows, "\n\n".join(notes))
    return rows


def main(argv: list[str] | None = None) -> None:
    """``child TRAFFIC N`` (one run, JSON on stdout) or the whole benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench.decision_path")
    parser.add_argument("mode", nargs="?", choices=("child",))
    parser.add_argument("traffic_arg", nargs="?")
    parser.add_argument("count_arg", nargs="?", type=int)
    parser.add_argument("--traffic", choices=("new-visitors", "simulator"),
                        default="new-visitors")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another checkout to measure beside this one (ABBA)")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if args.mode == "child":
        print(json.dumps(measure(args.traffic_arg, args.count_arg)))
        return
    for row in run(args.traffic, args.events, args.baseline, args.pairs, args.runs):
        print(row)


if __name__ == "__main__":
    main()
