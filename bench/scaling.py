"""How events/s scale with 1, 2 and 3 worker processes in one consumer group, same input.

``M`` ClickEvents (``30,000 * RTP_BENCH_SCALE``, at least 3,000; the simulator mix
of bench/throughput.py) are encoded once. Then, for each ``N`` in 1, 2, 3 and one
``N`` at a time, under a fresh topic prefix:

1. ``N`` ``rtp worker`` processes (:class:`pipeline.processes.WorkerProcess`, each
   with its own RocksDB folder and log, production commit interval of 2 s) start
   on an **empty** events topic;
2. we wait until every one is ready and the consumer group is stable with exactly
   ``N`` members, each owning events partitions, and that assignment has held for
   a few seconds (a worker restores its stores after every rebalance before it reads);
3. only then are the ``M`` events produced (fast: one producer, as the
   throughput benchmark does). Producing first would let the first worker to be
   ready drain a share of the input before the others join, which is no split.

The rate is ``M`` over the span between the first and the last Kafka timestamp
of everything the workers wrote (decision log, actions, signals), as in
bench/throughput.py; ``ready→caught up`` (group ready, produce, until the
group's committed offsets reach the end of the events topic; the workers commit
every 2 s) is the cruder cross-check. Ratios are against ``N = 1`` of the same run.

The counts run in rounds, 1 2 3 then 3 2 1, and the table keeps each count's
fastest run: the machine is shared, and a load that drifts during the benchmark
then weighs on every count about equally. A run that fails is listed in the
notes and the others still count. A stable group with a member that owns no events
partition is given up after ``STARVED_S`` (seen with the Faust worker's assignor; the
range assignor the worker uses now gives every member of 1, 2 or 3 some of 6). A failed
run's worker logs are copied to a ``rtp-bench-scaling-failed-*`` temporary folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import BenchError, bench_scale, kafka_prefix, load_note, ratio, scaled
from bench.record import write
from bench.throughput import _output_span, _produce, encode_messages, generate_events
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, DECISIONS_LOG, EVENTS, SIGNALS

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient

    from pipeline.processes import WorkerProcess

__all__ = ["WORKER_COUNTS", "Measured", "best_per_count", "content_digest", "cpu_busy_share",
           "members_split", "outputs_note", "process_cpu_s", "rebalance_lines", "run_order",
           "scaling_rows",
           "split_text", "starved", "topic_content"]

WORKER_COUNTS = (1, 2, 3)
#: Rounds over WORKER_COUNTS, every other one reversed (1 2 3 3 2 1): other jobs' load drifts.
ROUNDS = 2
FULL_EVENTS = 30_000
#: ``rtp worker --timers-idle-after`` for the runs: longer than any run.
TIMERS_IDLE_AFTER_S = 3600.0

#: How long a complete assignment must hold before the events are produced.
SETTLE_S = 3.0
#: How long a stable group with a member that owns nothing is waited for before giving up.
STARVED_S = 15.0
#: Partitions of every topic: a multiple of 1, 2 and 3, so that each of 3 workers gets as
#: many as the others (the range assignor splits 4 partitions 2+1+1).
PARTITIONS = 6


@dataclasses.dataclass(frozen=True)
class Measured:
    """One ``N``: what the workers did with the same ``events``."""

    workers: int
    events: int
    owned: tuple[int, ...]  # events partitions per worker, largest first
    span_s: float  # first to last output (Kafka timestamps)
    drain_s: float  # group ready -> committed offsets at the end of the events topic
    produce_s: float  # of drain_s, producing the events
    outputs: int = 0
    dead_letters: int = 0
    startup_s: float = float("nan")
    load: str = ""
    cpu_s: float = float("nan")  # CPU time of all the workers together over drain_s
    busy: float = float("nan")  # share of all cores' time busy over drain_s (any process)
    outputs_by_topic: str = ""


def members_split(assignment: Mapping[str, Collection[int]],
                  workers: int) -> tuple[int, ...] | None:
    """Partitions per member, largest first, once exactly ``workers`` members all own some.

    ``assignment`` maps a group member to the events partitions it owns; ``None``
    means the split is not complete yet (a member missing, or one with nothing).

    >>> members_split({"a": {0, 1}, "b": {2}, "c": {3}}, 3)
    (2, 1, 1)
    >>> members_split({"a": {0, 1, 2, 3}, "b": set()}, 2) is None
    True
    >>> members_split({"a": {0, 1, 2, 3}}, 2) is None
    True
    """
    if len(assignment) != workers or not all(assignment.values()):
        return None
    return tuple(sorted((len(parts) for parts in assignment.values()), reverse=True))


def run_order(counts: Sequence[int], rounds: int) -> list[int]:
    """The worker counts to measure, in order: every other round reversed.

    A load that rises or falls steadily during the benchmark then weighs on every count
    about equally, instead of on the last one.

    >>> run_order((1, 2, 3), 2), run_order((1, 2, 3), 3)
    ([1, 2, 3, 3, 2, 1], [1, 2, 3, 3, 2, 1, 1, 2, 3])
    """
    return [n for r in range(rounds) for n in (counts if r % 2 == 0 else counts[::-1])]


def best_per_count(measured: Sequence[Measured]) -> list[Measured]:
    """The fastest run (shortest first→last output span) of each worker count, by count.

    The least disturbed run is the closest to what the workers can do; a NaN span
    (fewer than two outputs) is never the best while another run has one.

    >>> runs = [Measured(1, 10, (4,), 5.0, 6.0, 0.1), Measured(2, 10, (2, 2), 4.0, 5.0, 0.1),
    ...         Measured(2, 10, (2, 2), 3.0, 9.0, 0.1), Measured(1, 10, (4,), 6.0, 7.0, 0.1)]
    >>> [(m.workers, m.span_s) for m in best_per_count(runs)]
    [(1, 5.0), (2, 3.0)]
    """
    best: dict[int, Measured] = {}
    for m in measured:
        held = best.get(m.workers)
        if held is None or math.isnan(held.span_s) or m.span_s < held.span_s:
            best[m.workers] = m
    return [best[n] for n in sorted(best)]


def starved(assignment: Mapping[str, Collection[int]], workers: int) -> bool:
    """Whether all ``workers`` members are in the group but one of them owns nothing.

    >>> starved({"a": {0, 1}, "b": {2, 3}, "c": set()}, 3)
    True
    >>> starved({"a": {0, 1}, "b": {2, 3}}, 3), starved({"a": {0, 1}, "b": {2, 3}}, 2)
    (False, False)
    """
    return len(assignment) == workers and not all(assignment.values())


def split_text(owned: Sequence[int]) -> str:
    """Partitions per worker as ``2+1+1``.

    >>> split_text((2, 1, 1)), split_text((4,)), split_text(())
    ('2+1+1', '4', '-')
    """
    return "+".join(str(n) for n in owned) or "-"


def outputs_note(measured: Sequence[Measured]) -> str:
    """Whether every run wrote the same outputs (by topic) from the same events: with the
    same models everywhere, a visitor's decisions do not depend on which worker, or how
    many, decided them; a difference is a defect to chase, not noise.

    >>> a = Measured(1, 9, (2,), 1.0, 1.0, 0.1, outputs=5, outputs_by_topic="5 log")
    >>> outputs_note([a, a])
    'the same in all 2 runs (5 log).'
    >>> outputs_note([a, Measured(2, 9, (1, 1), 1.0, 1.0, 0.1, outputs=4,
    ...                           outputs_by_topic="4 log")])
    '**they differ** between runs: N = 1: 5 log; N = 2: 4 log.'
    """
    kinds = {m.outputs_by_topic for m in measured}
    if len(kinds) == 1:
        return f"the same in all {len(measured)} runs ({kinds.pop()})."
    return "**they differ** between runs: " + "; ".join(
        f"N = {m.workers}: {m.outputs_by_topic}" for m in measured) + "."


def content_digest(records: Iterable[tuple[bytes | None, bytes | None]]) -> str:
    """A digest of (key, value) records that ignores their order (and so which partition or
    worker wrote them) but not how many times each was written.

    >>> content_digest([(b"a", b"1"), (b"b", b"2")]) == content_digest([(b"b", b"2"), (b"a", b"1")])
    True
    >>> content_digest([(b"a", b"1")]) == content_digest([(b"a", b"1"), (b"a", b"1")])
    False
    """
    digest = hashlib.sha256()
    for key, value in sorted((k or b"", v or b"") for k, v in records):
        for part in (key, value):
            digest.update(len(part).to_bytes(4, "big"))
            digest.update(part)
    return digest.hexdigest()[:12]


def topic_content(settings: Settings, topic: str) -> str:
    """``<count> (content <digest>)`` of every record of ``topic``: what a run wrote, to
    compare with another run's (the same events, the same models)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": settings.bootstrap, "enable.auto.commit": False,
                         "group.id": f"{settings.topic_prefix}content",
                         "enable.partition.eof": True})
    try:
        records: list[tuple[bytes | None, bytes | None]] = []
        ends = {}
        for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = (low, high)
        consumer.assign([TopicPartition(topic, p, low) for p, (low, _) in ends.items()])
        todo, deadline = set(ends), time.monotonic() + 60
        while todo:
            if time.monotonic() > deadline:
                raise BenchError(f"{topic}: could not read to the end within 60 s")
            for msg in consumer.consume(5000, 1.0):
                partition, offset = msg.partition(), msg.offset()
                if partition is None or offset is None or partition not in todo:
                    continue
                if msg.error() is None and offset < ends[partition][1]:
                    records.append((msg.key(), msg.value()))
                if offset + (msg.error() is None) >= ends[partition][1]:
                    todo.discard(partition)
    finally:
        consumer.close()
    return f"{len(records):,} (content {content_digest(records)})"


def rebalance_lines(log: bytes) -> int:
    """How many assignment changes (assigned, revoked, lost) a worker's log shows.

    >>> rebalance_lines(b'{"event": "partitions revoked"}\\n{"event": "commit written"}\\n')
    1
    """
    return sum(line.count(b"partitions assigned") + line.count(b"partitions revoked")
               + line.count(b"partitions lost") for line in log.splitlines())


def process_cpu_s(stat: str, ticks_per_s: int = 100) -> float:
    """User plus system CPU seconds of a process from its ``/proc/<pid>/stat`` line.

    The command name in parentheses may hold spaces, so fields count from its ``)``.

    >>> process_cpu_s("42 (python -m x) S 1 42 42 0 -1 0 9 0 0 0 250 50 0 0 20", 100)
    3.0
    """
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / ticks_per_s  # utime, stime


def cpu_busy_share(before: str, after: str) -> float:
    """Share of all cores' time not idle between two ``cpu`` lines of ``/proc/stat``.

    >>> round(cpu_busy_share("cpu  100 0 100 800 0 0 0 0", "cpu  250 0 150 890 10 0 0 0"), 3)
    0.667
    >>> import math; math.isnan(cpu_busy_share("cpu  1 1 1 1", "cpu  1 1 1 1"))
    True
    """
    def totals(line: str) -> tuple[int, int]:
        ticks = [int(v) for v in line.split()[1:]]
        return sum(ticks), ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait

    (total0, idle0), (total1, idle1) = totals(before), totals(after)
    return ratio(float((total1 - total0) - (idle1 - idle0)), float(total1 - total0))


def scaling_rows(measured: Sequence[Measured]) -> list[dict[str, Any]]:
    """One table row per ``N``; ratios against the ``N = 1`` measurement of the same list.

    ``efficiency`` is the ratio divided by ``N`` (1.0: perfectly linear). Without
    an ``N = 1`` measurement the ratios are NaN.

    >>> rows = scaling_rows([Measured(1, 3000, (4,), 3.0, 5.0, 0.1),
    ...                      Measured(2, 3000, (2, 2), 2.0, 4.0, 0.1)])
    >>> [(r["workers"], r["partitions_owned"], r["events_per_s"], r["ratio_vs_1"]) for r in rows]
    [(1, '4', 1000.0, 1.0), (2, '2+2', 1500.0, 1.5)]
    >>> rows[1]["efficiency"], rows[1]["caught_up_ratio_vs_1"]
    (0.75, 1.25)
    >>> import math; math.isnan(rows[1]["worker_cpu_us_per_event"])
    True
    """
    def rate(events: int, seconds: float) -> float:
        return ratio(float(events), seconds)

    base = next((m for m in measured if m.workers == 1), None)
    base_rate = rate(base.events, base.span_s) if base else float("nan")
    base_caught = rate(base.events, base.drain_s) if base else float("nan")
    rows: list[dict[str, Any]] = []
    for m in measured:
        speed, caught = rate(m.events, m.span_s), rate(m.events, m.drain_s)
        rows.append({
            "workers": m.workers, "partitions_owned": split_text(m.owned), "events": m.events,
            "first_to_last_output_s": round(m.span_s, 3), "events_per_s": speed,
            "ratio_vs_1": ratio(speed, base_rate),
            "efficiency": ratio(ratio(speed, base_rate), float(m.workers)),
            "ready_to_caught_up_s": round(m.drain_s, 3), "caught_up_events_per_s": caught,
            "caught_up_ratio_vs_1": ratio(caught, base_caught),
            "worker_cpu_us_per_event": ratio(m.cpu_s * 1e6, float(m.events)),
            "machine_busy_share": m.busy,
        })
    return rows


# -- against the broker -------------------------------------------------------------------

def _assignment(admin: AdminClient, events: str, group: str) -> dict[str, set[int]] | None:
    """Partitions of ``events`` per member of ``group`` while it is stable; None while not."""
    from confluent_kafka import ConsumerGroupState

    # ``admin`` is the caller's: a client dropped before its future resolves never answers.
    described = admin.describe_consumer_groups([group])[group].result(10)
    if described.state != ConsumerGroupState.STABLE:
        return None
    return {m.member_id: {tp.partition for tp in m.assignment.topic_partitions
                          if tp.topic == events} for m in described.members}


def _admin(settings: Settings) -> AdminClient:
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": settings.bootstrap})


def _wait_split(settings: Settings, workers: list[WorkerProcess],
                timeout: float) -> tuple[int, ...]:
    """Until every worker owns events partitions and that has held for ``SETTLE_S``."""
    admin = _admin(settings)
    deadline = time.monotonic() + timeout
    held: dict[str, set[int]] | None = None
    since = 0.0
    while time.monotonic() < deadline:
        for worker in workers:
            if worker.proc.poll() is not None:
                raise BenchError(f"worker exited ({worker.proc.returncode}): {worker.tail()}")
        now = _assignment(admin, settings.topic(EVENTS), workers[0].group)
        if now != held:
            held, since = now, time.monotonic()
        elif held is not None and time.monotonic() - since >= SETTLE_S:
            split = members_split(held, len(workers))
            if split is not None:
                return split
            if starved(held, len(workers)) and time.monotonic() - since >= STARVED_S:
                # The group will not rebalance again by itself: no fair split is coming.
                raise BenchError(f"the assignor left a worker without events partitions: {held}")
        time.sleep(0.2)  # polling the group of other processes
    raise BenchError(f"{len(workers)} workers did not share the events partitions within "
                     f"{timeout:.0f} s (last assignment {held}): {workers[-1].tail()}")


def _behind(settings: Settings, group: str) -> dict[int, int]:
    """Messages of the events topic each partition's committed offset of ``group`` lacks."""
    from pipeline.topics.groups import GroupPositions

    topic = settings.topic(EVENTS)
    lag = GroupPositions(settings.bootstrap, group).behind(
        (topic, p) for p in range(settings.partitions))
    return {partition: behind for (_, partition), behind in lag.items()}


def _cpu_now(workers: list[WorkerProcess]) -> tuple[float, str]:
    """CPU seconds of all ``workers`` so far, and the machine's ``cpu`` line of /proc/stat."""
    ticks = os.sysconf("SC_CLK_TCK")
    spent = sum(process_cpu_s(Path(f"/proc/{w.proc.pid}/stat").read_text(), ticks)
                for w in workers)
    return spent, Path("/proc/stat").read_text().splitlines()[0]


def _measure(workers: int, messages: list[tuple[bytes, bytes]], workdir: Path) -> Measured:
    from pipeline.processes import WorkerProcess, wait_caught_up

    count = len(messages)
    load = load_note()
    workdir.mkdir(parents=True, exist_ok=True)
    with kafka_prefix(f"scaling-n{workers}", partitions=PARTITIONS) as settings:
        source = settings.topic(EVENTS)
        procs: list[WorkerProcess] = []
        try:
            started = time.perf_counter()
            for i in range(workers):
                # The events path alone: learning is one service for every worker (`rtp
                # learner`), not one per worker, and the profile side plays no part here.
                # Timers fire on the wall clock only in a partition idle for longer than a
                # run: what the drain wrote is then the same whatever its speed (a timer
                # due after the partition's last event would otherwise fire or not by how
                # long the workers ran after the drain).
                procs.append(WorkerProcess(settings, workdir / f"n{workers}-w{i}-data",
                                           workdir / f"n{workers}-w{i}.log", commit_every=2.0,
                                           profiles=False, learner=False,
                                           timers_idle_after=TIMERS_IDLE_AFTER_S))
            for proc in procs:
                proc.wait_ready(timeout=180)
            owned = _wait_split(settings, procs, timeout=180)
            cpu0, machine0 = _cpu_now(procs)
            log_sizes = [proc.log_path.stat().st_size for proc in procs]
            ready = time.perf_counter()
            _produce(settings, source, messages)
            produced = time.perf_counter()
            limit = 60 + count / 100
            try:
                wait_caught_up(procs[0], [source], timeout=limit)
            except TimeoutError as exc:
                behind = _behind(settings, procs[0].group)
                now = _assignment(_admin(settings), source, procs[0].group)
                raise BenchError(f"{workers} workers not caught up within {limit:.0f} s: "
                                 f"behind by partition {behind}, assignment {now}") from exc
            caught_up = time.perf_counter()
            cpu1, machine1 = _cpu_now(procs)
            # A rebalance during the drain would make the split above untrue, and the
            # records applied again after it are written twice: say so. One that ends in the
            # same split shows only in the workers' logs.
            after = _assignment(_admin(settings), source, procs[0].group)
            moves = sum(rebalance_lines(proc.log_path.read_bytes()[size:])
                        for proc, size in zip(procs, log_sizes, strict=True))
            if after is None or members_split(after, workers) != owned or moves:
                raise BenchError(f"the group rebalanced during the drain of {workers} "
                                 f"workers: {owned} before, {after} after, {moves} "
                                 "assignment changes in the workers' logs")
        finally:
            for proc in procs:
                proc.stop()
        outputs, span = _output_span(settings, [settings.topic(t)
                                                for t in (DECISIONS_LOG, ACTIONS, SIGNALS)])
        by_topic = ", ".join(f"{topic_content(settings, settings.topic(t))} {t}"
                             for t in (DECISIONS_LOG, ACTIONS, SIGNALS))
        dead, _ = _output_span(settings, [settings.topic(f"{EVENTS}.dlq")])
    return Measured(workers=workers, events=count, owned=owned, span_s=span,
                    drain_s=caught_up - ready, produce_s=produced - ready, outputs=outputs,
                    dead_letters=dead, startup_s=ready - started, load=load, cpu_s=cpu1 - cpu0,
                    busy=cpu_busy_share(machine0, machine1), outputs_by_topic=by_topic)


def _keep_logs(workdir: Path) -> Path:
    """Copy a failed run's worker logs out of the temporary folder that is about to go."""
    kept = Path(tempfile.mkdtemp(prefix="rtp-bench-scaling-failed-"))
    for log in workdir.glob("*.log"):
        shutil.copy2(log, kept / log.name)
    return kept


def run() -> list[dict[str, Any]]:
    """Measure and record; returns the rows."""
    scale = bench_scale()
    count = int(scaled(FULL_EVENTS, scale, 3_000))
    load_before = load_note()
    messages = encode_messages(generate_events(count))
    partitions = PARTITIONS
    order = run_order(WORKER_COUNTS, ROUNDS)
    measured: list[Measured] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="rtp-bench-scaling-") as tmp:
        for i, n in enumerate(order):
            try:
                measured.append(_measure(n, messages, Path(tmp) / f"run{i}"))
            except (TimeoutError, RuntimeError) as exc:  # BenchError, WorkerProcess's errors
                # A stalled run is a finding: listed in the notes; the other runs still count.
                kept = _keep_logs(Path(tmp) / f"run{i}")
                print(f"run {i + 1} (N = {n}) failed (worker logs kept in {kept}): {exc}",
                      file=sys.stderr, flush=True)
                failed.append(f"run {i + 1} of {len(order)} (N = {n}): "
                              f"{str(exc).splitlines()[0][:400]}")
    missing = [n for n in WORKER_COUNTS if n not in {m.workers for m in measured}]
    if missing:
        raise BenchError(f"no run of N = {missing} succeeded: {failed}")
    load_after = load_note()
    best = best_per_count(measured)
    rows = scaling_rows(best)
    notes = "\n".join([
        f"{count:,} simulator events (as in bench/throughput.py), {partitions} partitions "
        "(a multiple of 1, 2 and 3: an even split for each N), the same encoded messages for "
        "every N. "
        "For each N, under a fresh "
        "topic prefix: N `rtp worker` processes (commit every 2 s, own RocksDB folder each) "
        "start on an empty events topic; once the group is stable with N members that each "
        f"own events partitions (held {SETTLE_S:.0f} s), the events are produced; events/s is "
        "events over first→last output (Kafka timestamps of decision log, actions, signals). "
        f"The counts run in the order {' '.join(map(str, run_order(WORKER_COUNTS, ROUNDS)))} "
        "(so that a drifting load from other jobs weighs on each about equally); the table "
        "keeps each N's fastest run, all runs are listed below. ratio_vs_1 is against the "
        "best N = 1 of this run; efficiency = ratio / N.",
        "",
        "Over ready→caught up (which ends up to 2 s after the last commit-worthy event): "
        "worker_cpu_us_per_event is the CPU time of all N workers together per event (if it "
        "grows with N, each added worker brings work of its own: connections, commits, "
        "contention for the cores); machine_busy_share is the share of both cores' time that any "
        "process (workers, broker, producer, other jobs) kept busy (near 1: no core was free "
        "for another worker to use).",
        "",
        "**The machine has 2 cores, shared with the Kafka broker** (and the producer, and "
        "whatever else runs): N = 2 workers already share them with the broker, and N > 2 "
        "workers compete with each other for cores. The ratios are therefore a lower bound "
        "of what N workers on separate nodes would give. The workers run without the "
        "profile side and without a learner beside them (`--no-profiles`, no `--learner`): "
        "the events path alone, every worker deciding with the same (initial) models. "
        f"They run with `--timers-idle-after {TIMERS_IDLE_AFTER_S:.0f}`: detector timers "
        "fire at the events' time only, never on the wall clock after a partition's last "
        "event, so what a run wrote does not depend on how long its workers ran after the "
        "drain (the default, 1 s, fires those on the wall clock, as a live worker must).",
        "",
        "Every run, in order:",
        "",
        *[f"- N = {m.workers} ({split_text(m.owned)}): "
          f"{ratio(float(m.events), m.span_s):,.0f} events/s first→last output, "
          f"{ratio(float(m.events), m.drain_s):,.0f} ready→caught up; start-up to a complete "
          f"split {m.startup_s:.1f} s (not timed); producing took {m.produce_s:.2f} s of "
          f"ready→caught up; {m.outputs:,} outputs ({m.outputs_by_topic}), "
          f"{m.dead_letters:,} dead letters; {m.load} before it." for m in measured],
        "",
        *(["Runs that failed (not in the table):", "", *[f"- {f}" for f in failed]]
          if failed else ["No run failed."]),
        "",
        "Outputs by topic (count, and a digest of every record's key and value in any order: "
        "the same content, not only the same number), every run: " + outputs_note(measured),
        "",
        f"Shared machine (other engineers may be running tests and benchmarks): "
        f"{load_before} before, {load_after} after. Absolute numbers are noisy, and so "
        f"are ratios of runs minutes apart: compare the runs above. Scale {scale} "
        "(RTP_BENCH_SCALE).",
    ])
    write("scaling", rows, notes)
    return rows


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        for row in run():
            print(row)
