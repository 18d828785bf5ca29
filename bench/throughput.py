"""Events/s of one worker process with the simulator's event mix, beside two baselines.

``N`` ClickEvents (``30,000 * RTP_BENCH_SCALE``, at least 3,000) are drawn from the
closed-loop simulator (seed 11, 300 visitors/min, event times in the recent past,
so the mix is realistic: scrolls and mouse moves, clicks, page views, searches,
carts, forms, purchases) and produced to a fresh topic prefix **before** any
consumer starts. Then, one after the other (never two at once), each reads the
same messages in its own consumer group in a child Python process:

(a) **raw passthrough**: a confluent-kafka consumer that produces every message
    unchanged to another topic (acks=all, linger 2 ms); best of 3 runs;
(b) **empty loop**: the worker's own consumer stack
    (:class:`topologies.loop.loop.ConsumerLoop`, same settings) driving a processor
    that only counts; best of 2 runs;
(c) **full topology**: ``rtp worker`` (:class:`pipeline.processes.WorkerProcess`,
    production commit interval of 2 s, ``--no-profiles``: the profile side plays no part
    in the events path, and its start-up would share the cores with the drain;
    ``--timers-idle-after 3600``: no detector timer fires on the wall clock after the
    drain, whose outputs would end the span a second after it), twice,
    each on its own topic prefix with the same messages: **(c1) the worker alone** (no
    learner service, no profiler: the rate a worker drains at when it has a core of its
    own, the goal's "per worker") and **(c2) as ``rtp worker --learner`` runs it**, the
    learner service beside it and py-spy sampling it (on a 2-core machine the learner,
    the broker and the profiler take the other core and part of the worker's).

(a) and (b) time themselves from the first message to the last (produced and
flushed, or counted). For (c) the same span is read from the Kafka timestamps of
everything the worker wrote (decision log, actions, signals): first to last
output, which brackets nearly all ``N`` events (every visitor's first event is a
page view that is decided). ``ready→caught up`` is the cruder cross-check:
from the worker's consumer group seen stable to its committed offsets reaching
the end of the topic. It errs both ways: commits come every 2 s (the end is seen
up to that late), but the events are there before the worker starts, so it drains
from its assignment on, which can be before the group is seen stable.

While (c2) drains, py-spy (when installed) samples the worker process 100 times
a second, only the thread holding the GIL (so idle waits in librdkafka are not
counted); the notes charge each sample to the layer of its innermost Python
frame (engine, loop, RocksDB store, librdkafka calls).

Beside them, the engine alone: the worker agent's per-event work (dead-letter
gate, state cache and table as a dict, ``Engine.on_event``, routing and output
encoding, commits: changed states) on the same messages in this
process without Kafka, profiled with pyinstrument (cProfile if
pyinstrument is missing) for the top costs in the notes. Differences of the
rates split a full-topology event's time into Kafka, the loop's own overhead, the
engine, and the rest.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    BenchError,
    bench_scale,
    child,
    child_binary,
    kafka_prefix,
    load_note,
    ratio,
    read_ready,
    scaled,
    stop_child,
    wait_for_file,
)
from bench.record import write
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, DECISIONS_LOG, EVENTS, SIGNALS

__all__ = ["GOAL_EVENTS_PER_S", "GOAL_SHARE_OF_RAW", "STRETCH_EVENTS_PER_S", "cpu_between",
           "encode_messages", "engine_loop", "generate_events", "layer_of", "run",
           "summarize_pyspy", "worker_drain"]

#: Issue 10's goal per worker, and its stretch.
GOAL_EVENTS_PER_S = 10_000
STRETCH_EVENTS_PER_S = 20_000
GOAL_SHARE_OF_RAW = 0.25
FULL_EVENTS = 30_000
#: ``rtp worker --timers-idle-after`` for (c1) and (c2): longer than any run, as in
#: bench/scaling.py. With the default (1 s) a partition's detector timers due after its last
#: event fire on the wall clock 1 s after the drain has ended there, and their few outputs
#: (2-4 of ~6,900 at scale 1, measured) moved "first→last output" up to ~1.05 s past the
#: drain: a 0-40% swing of a ~3-s drain, the worker idle in between.
TIMERS_IDLE_AFTER_S = 3600.0
SEED = 11
VISITORS_PER_MINUTE = 300.0
PASSTHROUGH_TOPIC = "bench.passthrough"
ALONE = "(c1) worker alone: first→last output"


def generate_events(count: int, seed: int = SEED, end_ms: int | None = None,
                    visitors_per_minute: float = VISITORS_PER_MINUTE) -> list[dict[str, Any]]:
    """``count`` ClickEvents from the simulator, in event-time order, all before ``end_ms``.

    >>> events = generate_events(50, end_ms=1_800_000_000_000, visitors_per_minute=5)
    >>> len(events), events[0]["event_time"] <= events[-1]["event_time"] < 1_800_000_000_000
    (50, True)
    """
    from pipeline.decide import assign_arm
    from pipeline.sim import Simulator, SimulatorOptions

    end_ms = int(time.time() * 1000) if end_ms is None else end_ms
    # Within the last hour: recent enough that the worker's 2-hour state TTL sweeps nothing.
    start_ms = end_ms - 3600 * 1000
    sim = Simulator(SimulatorOptions(seed=seed, visitors_per_minute=visitors_per_minute,
                                     id_prefix="bench-tp"), arm_of=assign_arm)
    sim.start(start_ms)
    events: list[dict[str, Any]] = []
    minute = 0
    while len(events) < count:
        minute += 1
        until = start_ms + minute * 60_000
        if until >= end_ms:
            raise BenchError(f"the simulator made only {len(events)} events in an hour")
        events += sim.next_events(until)
    return events[:count]


def encode_messages(events: list[dict[str, Any]]) -> list[tuple[bytes, bytes]]:
    """(key, Avro value) of each ClickEvent, as the web tier produces them."""
    from pipeline.serde import Codec

    codec = Codec.default()
    return [(str(e["visitor_id"]).encode(), codec.encode("ClickEvent", e, check=True))
            for e in events]


def _produce(settings: Settings, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    from pipeline.client import EventProducer

    with EventProducer(settings) as producer:
        for key, value in messages:
            producer.produce_raw(topic, value, key)


# -- (a) raw passthrough child ----------------------------------------------------------

def passthrough(bootstrap: str, topic: str, out_topic: str, group: str, count: int,
                result: Path) -> None:
    """Consume ``count`` messages and produce each unchanged to ``out_topic``; time it."""
    from confluent_kafka import Consumer, Producer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": True})
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 2, "acks": "all",
                         "partitioner": "murmur2_random"})
    consumer.subscribe([topic])
    seen, first = 0, 0.0
    try:
        while seen < count:
            # Not consume(1000, 1.0): a last batch under 1,000 would wait out the second
            # inside the timed span.
            for msg in read_ready(consumer, 1000, 1.0):
                if msg.error() is not None:
                    continue
                if seen == 0:
                    first = time.perf_counter()
                seen += 1
                while True:
                    try:
                        producer.produce(out_topic, value=msg.value(), key=msg.key())
                        break
                    except BufferError:
                        producer.poll(0.01)
            producer.poll(0)
        producer.flush(60)
        last = time.perf_counter()
    finally:
        consumer.close()
    _write_json(result, {"count": seen, "seconds": last - first})


# -- (b) empty loop child ------------------------------------------------------------------

class _Counting:
    """A processor that only counts (and stops the loop after ``count`` records)."""

    def __init__(self, count: int, result: Path) -> None:
        self.count, self.result = count, result
        self.seen, self.first = 0, 0.0
        self.loop: Any = None

    def assigned(self, partitions: list[int]) -> None:
        pass

    def revoked(self, partitions: list[int]) -> None:
        pass

    def lost(self) -> None:
        pass

    def tick(self, now: float) -> None:
        pass

    def write(self) -> bool:
        return False

    def start_write(self) -> bool:
        return False  # nothing to write: a commit in the background commits offsets only

    def written(self, budget_s: float | None = None) -> bool:
        return True

    def apply(self, record: Any) -> None:
        if self.seen == 0:
            self.first = time.perf_counter()
        self.seen += 1
        if self.seen == self.count:
            _write_json(self.result, {"count": self.count,
                                      "seconds": time.perf_counter() - self.first})
            self.loop.stop()


def empty_loop(bootstrap: str, topic: str, group: str, count: int, result: Path) -> None:
    """The worker's consumer loop over ``topic`` with a processor that only counts."""
    from topologies.loop.loop import ConsumerLoop

    counting = _Counting(count, result)
    counting.loop = ConsumerLoop(bootstrap, group, [topic], counting, commit_every_s=2.0)
    counting.loop.run()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)  # the parent never reads a half-written file


# -- (c) full topology --------------------------------------------------------------------

def _output_span(settings: Settings, topics: list[str]) -> tuple[int, float]:
    """Messages in ``topics`` and seconds between their first and last Kafka timestamp."""
    count, first_ms, last_ms = _output_bounds(settings, topics)
    if count < 2:
        return count, float("nan")
    return count, (last_ms - first_ms) / 1000.0


def _output_bounds(settings: Settings, topics: list[str]) -> tuple[int, int, int]:
    """Messages in ``topics`` and their first and last Kafka timestamp (ms; -1 if none)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": settings.bootstrap, "enable.auto.commit": False,
                         "group.id": f"{settings.topic_prefix}span"})
    try:
        parts, remaining = [], 0
        for topic in topics:
            for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                if high > low:
                    parts.append(TopicPartition(topic, p, OFFSET_BEGINNING))
                    remaining += high - low
        consumer.assign(parts)
        stamps: list[int] = []
        deadline = time.monotonic() + 60
        while len(stamps) < remaining and time.monotonic() < deadline:
            for msg in consumer.consume(5000, 1.0):
                if msg.error() is None:
                    stamps.append(msg.timestamp()[1])
    finally:
        consumer.close()
    if not stamps:
        return 0, -1, -1
    return len(stamps), min(stamps), max(stamps)


class _CpuSampler:
    """The CPU time of a process (all threads), of its main thread and of the whole machine
    (busy core-seconds of every process), sampled with the wall clock every 0.1 s on a
    thread of its own (Linux ``/proc``; nothing elsewhere)."""

    def __init__(self, pid: int) -> None:
        import threading

        self.pid = pid
        #: (wall clock s, process CPU s, main thread CPU s, machine busy core-seconds)
        self.samples: list[tuple[float, float, float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import os

        tick = os.sysconf("SC_CLK_TCK")
        while not self._stop.is_set():
            try:
                process = _stat_cpu(Path(f"/proc/{self.pid}/stat"), tick)
                main = _stat_cpu(Path(f"/proc/{self.pid}/task/{self.pid}/stat"), tick)
                machine = _machine_busy_s(tick)
            except OSError:
                return  # gone (or no /proc)
            self.samples.append((time.time(), process, main, machine))
            self._stop.wait(0.1)


def _stat_cpu(path: Path, tick: int) -> float:
    """utime + stime of a ``/proc/.../stat`` file, seconds."""
    fields = path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick


def _machine_busy_s(tick: int) -> float:
    """Busy core-seconds of the whole machine since boot (``/proc/stat``: all but idle and
    iowait)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / tick


def cpu_between(samples: Sequence[tuple[float, ...]], start: float,
                end: float) -> tuple[float, ...] | None:
    """CPU seconds spent between wall times ``start`` and ``end``, one per measured column
    of the samples (process, main thread, machine), read linearly between the samples
    around them (None: the samples do not cover both).

    >>> samples = [(10.0, 1.0, 0.5, 3.0), (11.0, 2.0, 1.0, 4.0), (12.0, 4.0, 2.0, 6.0)]
    >>> cpu_between(samples, 10.5, 12.0)
    (2.5, 1.25, 2.5)
    >>> cpu_between(samples, 9.0, 11.0) is None
    True
    """
    def at(t: float) -> tuple[float, ...] | None:
        for before, after in itertools.pairwise(samples):
            t0, t1 = before[0], after[0]
            if t0 <= t <= t1:
                share = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
                return tuple(a + share * (b - a) for a, b in zip(before[1:], after[1:],
                                                                 strict=True))
        return None

    first, last = at(start), at(end)
    if first is None or last is None:
        return None
    return tuple(b - a for a, b in zip(first, last, strict=True))


def _pyspy_binary() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


#: Where a sampled worker stack's innermost Python frame lives -> the layer it is charged to.
_LAYERS = (
    ("topologies/loop/store.py", "RocksDB stores (topologies/loop/store.py + rocksdict)"),
    ("topologies/loop/outputs.py", "producing (librdkafka, delivery reports)"),
    ("topologies/loop/", "the consumer loop, tables and recovery (topologies/loop/)"),
    ("topologies/", "the stream adapter (topologies/decision_path.py)"),
    ("pipeline/", "the engine and serde (pipeline/)"),
)


def layer_of(frame: str) -> str:
    """The layer a py-spy frame (``function (file:line)``) belongs to.

    >>> layer_of("get (topologies/loop/store.py:88)")
    'RocksDB stores (topologies/loop/store.py + rocksdict)'
    >>> layer_of("on_event (pipeline/engine/engine.py:70)")
    'the engine and serde (pipeline/)'
    >>> layer_of("dumps (json/__init__.py:231)")
    'other (stdlib, libraries)'
    """
    where = frame.rsplit("(", 1)[-1]
    return next((name for marker, name in _LAYERS if marker in where),
                "other (stdlib, libraries)")


def summarize_pyspy(raw: str, top: int = 8) -> list[str]:
    r"""Shares of samples by layer (innermost frame) and the top innermost functions.

    >>> lines = summarize_pyspy("main (a.py:1);get (topologies/loop/store.py:9) 3\n"
    ...                         "main (a.py:1);Engine.on_event (pipeline/engine/engine.py:5) 1\n")
    >>> lines[0]
    '75.0%  RocksDB stores (topologies/loop/store.py + rocksdict)'
    >>> lines[1], lines[3]
    ('25.0%  the engine and serde (pipeline/)', '25.0%  inside Engine.on_event (inclusive)')
    """
    layers: dict[str, int] = {}
    leaves: dict[str, int] = {}
    engine = total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        leaf = frames[-1]
        layers[layer_of(leaf)] = layers.get(layer_of(leaf), 0) + count
        name = leaf.split(" (", 1)[0]
        where = leaf.rsplit("(", 1)[-1].split(":", 1)[0]
        key = f"{where}:{name}"
        leaves[key] = leaves.get(key, 0) + count
        engine += count if any(f.startswith("Engine.on_event (") for f in frames) else 0
        total += count
    if not total:
        return []
    out = [f"{n / total:5.1%}  {layer}" for layer, n in sorted(layers.items(),
                                                                key=lambda kv: -kv[1])]
    out += ["", f"{engine / total:5.1%}  inside Engine.on_event (inclusive)", ""]
    out += [f"{n / total:5.1%}  {key}" for key, n in sorted(leaves.items(),
                                                             key=lambda kv: -kv[1])[:top]]
    return out


def worker_drain(messages: list[tuple[bytes, bytes]], workdir: Path, *,
                   learner: bool) -> dict[str, Any]:
    """``rtp worker`` draining ``messages`` produced to a fresh topic prefix beforehand;
    with ``learner``, the learner service beside it and py-spy sampling it."""
    with kafka_prefix("throughput") as settings:
        _produce(settings, settings.topic(EVENTS), messages)
        return _drain(settings, len(messages), workdir, learner=learner)


def _drain(settings: Settings, count: int, workdir: Path, *, learner: bool) -> dict[str, Any]:
    from pipeline.processes import WorkerProcess, wait_caught_up

    workdir.mkdir(parents=True, exist_ok=True)
    # Without the profile side: the events path alone (its start-up, a Faust app, would
    # share the cores with the worker while it drains).
    # Timers fire at the events' time only, never on the wall clock after a partition's last
    # event: the last output is then the drain's, not a timer's 1 s after it (TIMERS_IDLE_AFTER_S).
    worker = WorkerProcess(settings, workdir / "worker-data", workdir / "worker.log",
                           commit_every=2.0, profiles=False, learner=learner,
                           timers_idle_after=TIMERS_IDLE_AFTER_S)
    cpu = _CpuSampler(worker.proc.pid)
    cpu.start()
    spy: subprocess.Popen[bytes] | None = None
    spy_out = workdir / "worker.pyspy"
    try:
        started = time.perf_counter()
        worker.wait_ready(timeout=180)
        ready = time.perf_counter()
        binary = _pyspy_binary() if learner else None
        if binary is not None:
            spy = child_binary([binary, "record", "--pid", str(worker.proc.pid), "--format",
                                "raw", "--output", str(spy_out), "--rate", "100",
                                # --gil: only the thread holding the GIL. Without it,
                                # threads waiting in librdkafka (the config and model
                                # feeds' polls, the loop's own poll once drained) were
                                # sampled as busy: 12% of samples in an idle feed thread.
                                "--nonblocking", "--gil"], workdir / "pyspy.log")
        wait_caught_up(worker, [settings.topic(EVENTS)], timeout=60 + count / 100)
        caught_up = time.perf_counter()
    finally:
        if spy is not None and spy.poll() is None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its samples on SIGINT
            try:
                spy.wait(30)
            except subprocess.TimeoutExpired:
                stop_child(spy)
        cpu.stop()
        worker.stop()
    profile = summarize_pyspy(spy_out.read_text()) if spy_out.exists() else []
    outputs, first_ms, last_ms = _output_bounds(settings, [
        settings.topic(t) for t in (DECISIONS_LOG, ACTIONS, SIGNALS)])
    span = (last_ms - first_ms) / 1000.0 if outputs >= 2 else float("nan")
    # The worker's CPU over the span the rate is read from (its clock and the broker's
    # timestamps are the same machine's wall clock).
    spent = cpu_between(cpu.samples, first_ms / 1000.0, last_ms / 1000.0) if outputs else None
    dead, _ = _output_span(settings, [settings.topic(f"{EVENTS}.dlq")])
    return {"startup_s": ready - started, "drain_s": caught_up - ready,
            "outputs": outputs, "span_s": span, "dead_letters": dead, "profile": profile,
            "cpu_s": spent}


# -- the engine alone, and its profile -------------------------------------------------------

def engine_loop(messages: list[tuple[bytes, bytes]]) -> Callable[[], None]:
    """The worker's per-event work on ``messages``, without Kafka."""
    from pipeline.engine import Engine, VisitorState
    from pipeline.engine.cache import StateCache
    from pipeline.engine.routing import LATE, event_outputs
    from pipeline.serde import Admitted, Codec, MessageGate

    codec = Codec.default()
    gate = MessageGate(codec, ("ClickEvent",), worker="bench")
    engine = Engine(learn_inline=False)  # the worker's: learning is the learner service's
    commit_every_s = 2.0  # the worker's: changed states every 2 s
    last_commit = time.time()
    cache: StateCache[VisitorState] = StateCache()
    table: dict[bytes, bytes] = {}
    staged: dict[bytes, VisitorState] = {}
    now_ms = int(time.time() * 1000)

    def loop() -> None:
        nonlocal last_commit
        for offset, (key, value) in enumerate(messages):
            admitted = gate.admit(value, key=key, topic=EVENTS, partition=0, offset=offset,
                                  now_ms=now_ms)
            if not isinstance(admitted, Admitted):
                continue
            record = admitted.record
            vkey = str(record["visitor_id"]).encode()
            state = cache.get(vkey)
            if state is None:
                stored = table.get(vkey)
                state = VisitorState.from_bytes(stored) if stored is not None else None
            result = engine.on_event(state, record, None)
            if not result.duplicate and result.late_reason is None and result.state is not None:
                cache.put(vkey, result.state)
                staged[vkey] = result.state
            for out in event_outputs(result, record):
                if out.topic != LATE:
                    codec.encode(out.schema, dict(out.record))
            if time.time() - last_commit >= commit_every_s:
                table.update((k, s.to_bytes()) for k, s in staged.items())
                staged.clear()
                last_commit = time.time()

    return loop


def _profile(messages: list[tuple[bytes, bytes]], top: int = 12) -> tuple[str, list[str]]:
    """Profile the engine loop; (profiler name, lines ``share  function``) by inclusive time."""
    loop = engine_loop(messages)
    try:
        from pyinstrument import Profiler
    except ImportError:
        return "cProfile", _cprofile(loop, top)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    loop()
    session = profiler.stop()
    root = session.root_frame()
    if root is None:
        return "pyinstrument", []
    inclusive: dict[str, float] = {}
    own: dict[str, float] = {}

    def walk(frame: Any, active: frozenset[str]) -> None:
        if frame.is_synthetic:  # "[self]" leaves: already in the parent's total_self_time
            return
        module = (frame.file_path_short or "?").removesuffix(".py").replace("/", ".")
        module = module.split("site-packages.")[-1]
        owner = f"{frame.class_name}." if frame.class_name else ""
        name = f"{module}:{owner}{frame.function}"
        if name not in active:  # recursion: count the outermost call only
            inclusive[name] = inclusive.get(name, 0.0) + frame.time
        own[name] = own.get(name, 0.0) + frame.total_self_time
        for sub in frame.children:
            walk(sub, active | {name})

    walk(root, frozenset())
    total = root.time or 1.0

    def ranked(times: dict[str, float], label: str, n: int) -> list[str]:
        best = sorted(times.items(), key=lambda kv: -kv[1])
        return [f"{t / total:5.1%} {label}  {name}" for name, t in best
                if "bench.throughput" not in name and not name.startswith("?")
                and t / total < 0.999][:n]

    return "pyinstrument", [*ranked(inclusive, "incl", top), "", *ranked(own, "self", top // 2)]


def _cprofile(loop: Callable[[], None], top: int) -> list[str]:
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.runcall(loop)
    stats = pstats.Stats(profile)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = max(v[3] for v in raw.values()) or 1.0
    ranked = sorted(raw.items(), key=lambda kv: -kv[1][3])
    lines = [f"{v[3] / total:5.1%}  {Path(f).name}:{fn}" for (f, _l, fn), v in ranked
             if "bench" not in f and v[3] / total < 0.999]
    return lines[:top]


# -- the benchmark ------------------------------------------------------------------------

def _best_of(runs: int, once: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    results = [once(i) for i in range(runs)]
    return min(results, key=lambda r: float(r["seconds"]))


def run() -> list[dict[str, Any]]:
    """Measure and record; returns the rows."""
    scale = bench_scale()
    count = int(scaled(FULL_EVENTS, scale, 3_000))
    load_before = load_note()
    events = generate_events(count)
    messages = encode_messages(events)
    mix: dict[str, int] = {}
    for event in events:
        mix[event["event_type"]] = mix.get(event["event_type"], 0) + 1
    with tempfile.TemporaryDirectory(prefix="rtp-bench-tp-") as tmp, \
            kafka_prefix("throughput") as settings:
        workdir = Path(tmp)
        source = settings.topic(EVENTS)
        _produce(settings, source, messages)
        bootstrap, prefix = settings.bootstrap, settings.topic_prefix

        def raw_once(i: int) -> dict[str, Any]:
            result, log = workdir / f"raw-{i}.json", workdir / f"raw-{i}.log"
            proc = child("bench.throughput", ["passthrough", bootstrap, source,
                                              settings.topic(PASSTHROUGH_TOPIC),
                                              f"{prefix}raw-{i}", str(count), str(result)], log)
            try:
                return wait_for_file(result, proc, 120 + count / 1000, log)
            finally:
                stop_child(proc)

        def empty_once(i: int) -> dict[str, Any]:
            result, log = workdir / f"empty-{i}.json", workdir / f"empty-{i}.log"
            proc = child("bench.throughput", ["empty", bootstrap, source, f"{prefix}empty-{i}",
                                              str(count), str(result)], log)
            try:
                return wait_for_file(result, proc, 180 + count / 500, log)
            finally:
                stop_child(proc)

        raw = _best_of(3, raw_once)
        empty = _best_of(2, empty_once)
        alone = worker_drain(messages, workdir / "alone", learner=False)
        full = worker_drain(messages, workdir / "with-learner", learner=True)

    loop = engine_loop(messages)
    start = time.perf_counter()
    loop()
    engine_s = time.perf_counter() - start
    profiler, top_costs = _profile(messages[: min(len(messages), 10_000)])
    load_after = load_note()

    raw_rate = count / raw["seconds"]
    rates = {
        "(a) raw confluent-kafka passthrough (best of 3)": (raw["seconds"], raw_rate),
        "(b) empty loop (best of 2)": (empty["seconds"], count / empty["seconds"]),
        ALONE: (alone["span_s"], count / alone["span_s"]),
        "(c1) worker alone: ready→caught up": (alone["drain_s"], count / alone["drain_s"]),
        "(c2) worker + learner, py-spy: first→last output": (full["span_s"],
                                                              count / full["span_s"]),
        "(c2) worker + learner, py-spy: ready→caught up": (full["drain_s"],
                                                            count / full["drain_s"]),
        "engine alone, offline (no Kafka)": (engine_s, count / engine_s),
    }
    rows: list[dict[str, Any]] = [
        {"case": case, "events": count, "seconds": round(seconds, 3),
         "events_per_s": rate, "us_per_event": 1e6 / rate,
         "share_of_raw": ratio(rate, raw_rate)}
        for case, (seconds, rate) in rates.items()
    ]
    full_rate = rates[ALONE][1]
    shared_rate = rates["(c2) worker + learner, py-spy: first→last output"][1]
    empty_rate = rates["(b) empty loop (best of 2)"][1]
    share = ratio(full_rate, raw_rate)
    rows += [
        {"case": "ratio worker alone / raw passthrough", "events": "", "seconds": "",
         "events_per_s": "", "us_per_event": "", "share_of_raw": share},
        {"case": "ratio worker alone / empty loop", "events": "", "seconds": "",
         "events_per_s": "", "us_per_event": "", "share_of_raw": ratio(full_rate, empty_rate)},
    ]
    goal_rate = "met" if full_rate >= GOAL_EVENTS_PER_S else "NOT met"
    stretch = "met" if full_rate >= STRETCH_EVENTS_PER_S else "not met"
    goal_share = "met" if share >= GOAL_SHARE_OF_RAW else "NOT met"
    rest_us = 1e6 / full_rate - 1e6 / empty_rate - 1e6 * engine_s / count
    notes = "\n".join([
        f"{count:,} simulator events (seed {SEED}, {VISITORS_PER_MINUTE:.0f} visitors/min), "
        f"{settings.partitions} partitions, produced before any consumer started; mix: "
        + ", ".join(f"{k} {v / count:.0%}" for k, v in sorted(mix.items(), key=lambda kv: -kv[1]))
        + ".",
        "",
        f"Goals (reported, not asserted): >= {GOAL_EVENTS_PER_S:,} events/s per worker: "
        f"**{goal_rate}** ({full_rate:,.0f}, the worker alone; stretch "
        f"{STRETCH_EVENTS_PER_S:,}: {stretch}); >= {GOAL_SHARE_OF_RAW:.0%} "
        f"of raw: **{goal_share}** ({share:.1%}). As `rtp worker --learner` runs on this "
        f"machine, with py-spy attached: {shared_rate:,.0f} events/s "
        f"({ratio(shared_rate, full_rate):.0%} of the worker alone).",
        "",
        f"Where a worker-alone event's {1e6 / full_rate:,.0f} µs go (differences of the rows "
        f"above): consuming through the loop (the empty loop) {1e6 / empty_rate:,.1f} µs (a raw "
        f"consume + produce: {1e6 / raw_rate:,.1f} µs); the engine's work "
        f"{1e6 * engine_s / count:,.0f} µs; the rest {rest_us:,.0f} µs. These are wall-clock "
        "differences: the rest also holds the time the worker was off a CPU (the broker and "
        "anything else share the cores).",
        "",
        "(c1) worker alone. " + _cpu_note(alone.get("cpu_s"), count, full_rate, engine_s,
                                          alone.get("span_s")),
        "",
        "(c2) worker + learner, py-spy. " + _cpu_note(full.get("cpu_s"), count, shared_rate,
                                                      engine_s, full.get("span_s")),
        "",
        f"The workers run with `--timers-idle-after {TIMERS_IDLE_AFTER_S:.0f}`: detector timers "
        "fire at the events' time only, so the last output is the drain's (with the default, "
        "1 s, a partition's timers due after its last event fire on the wall clock 1 s after "
        "the drain ended there, and first→last output included that idle second).",
        "",
        f"Worker start-up {alone['startup_s']:.1f} s (c1), {full['startup_s']:.1f} s (c2), not "
        f"timed; outputs written {int(alone['outputs']):,} (c1) and {int(full['outputs']):,} "
        f"(c2), events dead-lettered {int(alone['dead_letters']):,} and "
        f"{int(full['dead_letters']):,}. ready→caught up polls committed offsets (commits "
        "every 2 s: late by up to that) from the group seen stable (the worker may have "
        "drained for a moment by then): a cross-check only, first→last output is the rate.",
        "",
        "Where the worker spends its time (py-spy, 100 samples/s of the worker process "
        "during the (c2) drain; share of samples by the layer of the innermost Python frame; "
        "native code such as rocksdict or librdkafka is charged to its Python caller):"
        if full["profile"] else "py-spy is not installed: no profile of the worker itself.",
        "",
        *[f"    {line}" for line in full["profile"]],
        "",
        f"Top costs of the engine alone ({profiler}, inclusive time, "
        f"{min(len(messages), 10_000):,} events):",
        "",
        *[f"    {line}" for line in top_costs],
        "",
        f"Shared 2-core machine (other engineers may be running tests): {load_before} before, "
        f"{load_after} after. Absolute numbers are noisy; the ratios are the headline.",
        f"Scale {scale} (RTP_BENCH_SCALE).",
    ])
    write("throughput", rows, notes)
    return rows


def _cpu_note(spent: tuple[float, ...] | None, count: int, full_rate: float,
              engine_s: float, span_s: float | None = None) -> str:
    """The worker's CPU per event over the first→last output span, beside its wall time,
    and how busy the whole machine was over that span (``span_s`` seconds).

    >>> _cpu_note((9.0, 8.0, 15.0), 100_000, 10_000.0, 7.0, 10.0)[:60]
    "The worker's CPU over the first→last output span: 90 µs per "
    >>> _cpu_note((9.0, 8.0, 15.0), 100_000, 10_000.0, 7.0, 10.0).split("was busy ")[1]
    '1.50 cores over that span (the worker 0.90).'
    >>> _cpu_note(None, 100_000, 10_000.0, 7.0)[:38]
    "The worker's CPU was not measured (no "
    """
    if spent is None:
        return "The worker's CPU was not measured (no /proc, or no outputs)."
    process_s, main_s = spent[0], spent[1]
    note = (f"The worker's CPU over the first→last output span: {1e6 * process_s / count:,.0f} "
            f"µs per event (its main thread {1e6 * main_s / count:,.0f}, its other threads, "
            f"librdkafka's, {1e6 * (process_s - main_s) / count:,.0f}; /proc), against "
            f"{1e6 / full_rate:,.0f} µs of wall clock per event; beyond the engine alone's "
            f"{1e6 * engine_s / count:,.0f} µs: {1e6 * (process_s - engine_s) / count:,.0f} µs "
            "of CPU.")
    if len(spent) > 2 and span_s:
        note += (f" Of the machine's {os.cpu_count()} cores, the whole machine was busy "
                 f"{spent[2] / span_s:.2f} cores over that span (the worker "
                 f"{process_s / span_s:.2f}).")
    return note


def main(argv: list[str] | None = None) -> None:
    """Child entry points (``passthrough``, ``empty``) or the whole benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench.throughput")
    sub = parser.add_subparsers(dest="mode")
    p = sub.add_parser("passthrough")
    for name in ("bootstrap", "topic", "out_topic", "group", "count", "result"):
        p.add_argument(name)
    e = sub.add_parser("empty")
    for name in ("bootstrap", "topic", "group", "count", "result"):
        e.add_argument(name)
    args = parser.parse_args(argv)
    if args.mode == "passthrough":
        passthrough(args.bootstrap, args.topic, args.out_topic, args.group, int(args.count),
                    Path(args.result))
    elif args.mode == "empty":
        empty_loop(args.bootstrap, args.topic, args.group, int(args.count), Path(args.result))
    else:
        for row in run():
            print(row)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
