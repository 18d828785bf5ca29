"""Shared helpers of the benchmarks: scale, a fresh topic prefix, child processes, statistics.

Every benchmark that needs Kafka runs under its own topic prefix (so it never
touches another run's or another engineer's topics) and deletes that prefix's
topics and consumer groups when it ends. ``RTP_BENCH_SCALE`` (default 1) scales
every benchmark's size and duration down (or up): ``RTP_BENCH_SCALE=0.2 make bench``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline.client.batches import read_ready
from pipeline.settings import Settings

__all__ = [
    "ROOT",
    "SCALE_ENV",
    "BenchError",
    "CpuMeter",
    "bench_scale",
    "child",
    "child_binary",
    "cpu_seconds",
    "kafka_prefix",
    "latency_summary",
    "load_note",
    "per_call_us",
    "percentile",
    "ratio",
    "read_ready",
    "scaled",
    "stop_child",
    "wait_for_file",
]

ROOT = Path(__file__).resolve().parents[1]
SCALE_ENV = "RTP_BENCH_SCALE"


class BenchError(RuntimeError):
    """A benchmark cannot run or a child process it started failed."""


def bench_scale(env: Mapping[str, str] | None = None) -> float:
    """``RTP_BENCH_SCALE`` as a positive number (default 1.0).

    >>> bench_scale({}), bench_scale({"RTP_BENCH_SCALE": "0.2"})
    (1.0, 0.2)
    >>> bench_scale({"RTP_BENCH_SCALE": "0"})
    Traceback (most recent call last):
    ...
    bench.common.BenchError: RTP_BENCH_SCALE must be a number > 0 and <= 10, got '0'
    """
    raw = (os.environ if env is None else env).get(SCALE_ENV, "").strip()
    if not raw:
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0.0 < value <= 10.0:
        raise BenchError(f"{SCALE_ENV} must be a number > 0 and <= 10, got {raw!r}")
    return value


def scaled(full: float, scale: float, minimum: float) -> float:
    """``full * scale``, never below ``minimum``.

    >>> scaled(30_000, 0.1, 5_000), scaled(30_000, 1.0, 5_000)
    (5000, 30000.0)
    """
    return max(minimum, full * scale)


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; NaN when the denominator is 0 or NaN.

    >>> ratio(1.0, 4.0), math.isnan(ratio(1.0, 0.0))
    (0.25, True)
    """
    if not denominator or math.isnan(denominator):
        return float("nan")
    return numerator / denominator


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by nearest rank (``ceil(q/100 * n)``); NaN if empty.

    >>> values = [float(v) for v in range(1, 101)]
    >>> percentile(values, 50), percentile(values, 95), percentile(values, 99)
    (50.0, 95.0, 99.0)
    >>> percentile([3.0, 1.0, 2.0], 0), percentile([3.0, 1.0, 2.0], 100)
    (1.0, 3.0)
    """
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = math.ceil(q * len(ordered) / 100 - 1e-9)
    return ordered[min(len(ordered), max(1, rank)) - 1]


def latency_summary(values_ms: Sequence[float]) -> dict[str, float]:
    """Count, p50/p95/p99 (nearest rank), max and mean of latencies in ms.

    >>> summary = latency_summary([float(v) for v in range(1, 101)])
    >>> summary["n"], summary["p50_ms"], summary["p95_ms"], summary["p99_ms"], summary["max_ms"]
    (100, 50.0, 95.0, 99.0, 100.0)
    >>> math.isnan(latency_summary([])["p99_ms"])
    True
    """
    values = list(values_ms)
    return {
        "n": len(values),
        "p50_ms": percentile(values, 50),
        "p95_ms": percentile(values, 95),
        "p99_ms": percentile(values, 99),
        "max_ms": max(values) if values else float("nan"),
        "mean_ms": sum(values) / len(values) if values else float("nan"),
    }


def load_note() -> str:
    """The machine's load average, for the notes (other engineers share its 2 cores)."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} cores"


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of process ``pid`` (Linux); NaN where unknown.

    >>> cpu_seconds(os.getpid()) >= 0.0
    True
    >>> import math; math.isnan(cpu_seconds(None))
    True
    """
    if pid is None:
        return float("nan")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


class CpuMeter:
    """Cores busy over a window: the whole machine and the local broker (started by rtp),
    so that a result can be read against what else the shared machine was doing.

    >>> meter = CpuMeter(Settings()); sum(range(10_000)) > 0
    True
    >>> busy = meter.read(); 0.0 <= busy["machine_busy_cores"] <= os.cpu_count()
    True
    """

    def __init__(self, settings: Settings) -> None:
        from pipeline.broker.local import LocalKafka

        self._broker = LocalKafka(settings, echo=lambda _line: None).managed_pid()
        self._start = self._sample()

    def _sample(self) -> tuple[float, float, float, float]:
        try:
            ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
            total, idle = float(sum(ticks)), float(ticks[3] + ticks[4])
        except (OSError, ValueError, IndexError):
            total = idle = float("nan")
        return time.perf_counter(), total, idle, cpu_seconds(self._broker)

    def read(self) -> dict[str, float]:
        """Since construction: ``machine_busy_cores`` (all processes) and ``broker_cpu``
        (the local broker's cores; NaN when the broker was not started by rtp)."""
        wall1, total1, idle1, broker1 = self._sample()
        wall0, total0, idle0, broker0 = self._start
        cores = os.cpu_count() or 1
        busy = cores * (1 - (idle1 - idle0) / (total1 - total0)) if total1 > total0 else 0.0
        return {"machine_busy_cores": busy,
                "broker_cpu": (broker1 - broker0) / max(wall1 - wall0, 1e-9)}


# -- Kafka under a fresh prefix ----------------------------------------------------------

def _delete_prefixed(settings: Settings) -> None:
    """Delete every topic and consumer group whose name starts with the run's prefix."""
    from confluent_kafka.admin import AdminClient

    prefix = settings.topic_prefix
    if not prefix.startswith("bench-"):  # never delete anything but a benchmark's own names
        return
    admin = AdminClient({"bootstrap.servers": settings.bootstrap})
    with contextlib.suppress(Exception):  # cleanup is best effort: never mask a result
        topics = [t for t in admin.list_topics(timeout=10).topics if t.startswith(prefix)]
        for future in admin.delete_topics(topics, operation_timeout=30).values() if topics else ():
            with contextlib.suppress(Exception):
                future.result(30)
    with contextlib.suppress(Exception):
        listed = admin.list_consumer_groups().result(10)
        groups = [g.group_id for g in listed.valid if g.group_id.startswith(prefix)]
        if groups:
            for future in admin.delete_consumer_groups(groups).values():
                with contextlib.suppress(Exception):
                    future.result(10)


@contextlib.contextmanager
def kafka_prefix(name: str, partitions: int | None = None) -> Iterator[Settings]:
    """Settings with a fresh ``bench-<name>-<id>.`` topic prefix whose topics exist
    (with ``partitions`` each, if given, instead of the configured count).

    Uses the configured broker (``RTP_KAFKA_BOOTSTRAP`` or the local one). Through
    ``broker_for_job`` a local broker is started only if none answers, and then
    stopped again; an unreachable external broker fails with a clear message. The
    prefix's topics and consumer groups are deleted on the way out.
    """
    from pipeline.broker import BrokerError
    from pipeline.commands.broker_session import broker_for_job

    prefix = f"bench-{name}-{uuid.uuid4().hex[:8]}."
    settings = dataclasses.replace(Settings.from_env(), topic_prefix=prefix)
    if partitions is not None:
        settings = dataclasses.replace(settings, partitions=partitions)
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(broker_for_job(settings, echo=lambda _line: None))
    except (BrokerError, OSError, RuntimeError) as exc:
        raise BenchError(f"benchmark {name!r} needs Kafka at {settings.bootstrap} and none "
                         f"answers (start it with `make kafka-up`): {exc}") from exc
    with stack:
        try:
            yield settings
        finally:
            _delete_prefixed(settings)


# -- child processes ---------------------------------------------------------------------

def child(module: str, args: Sequence[str], log_path: Path,
          env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``python -m <module> <args>`` from the repository root, output to ``log_path``."""
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT,
                                env={**os.environ, **(env or {})}, stdout=log,
                                stderr=subprocess.STDOUT)


def child_binary(command: Sequence[str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start a program (e.g. a profiler) with its output in ``log_path``."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(list(command), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def stop_child(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` s; only this process (started by us)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_for_file(path: Path, proc: subprocess.Popen[bytes], timeout: float,
                  log_path: Path) -> dict[str, Any]:
    """The JSON a child writes to ``path`` when done; fails if it exits or times out first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            with contextlib.suppress(ValueError):  # written but not complete yet: retry
                data: dict[str, Any] = json.loads(path.read_text())
                return data
        if proc.poll() is not None and not path.exists():
            raise BenchError(f"child exited ({proc.returncode}) without a result:\n"
                             f"{_tail(log_path)}")
        time.sleep(0.05)  # polling a child process's result file
    raise BenchError(f"child gave no result within {timeout:.0f} s:\n{_tail(log_path)}")


def per_call_us(fn: Callable[[], object], seconds: float = 1.0) -> float:
    """Best of 5 rounds of the mean µs per call of ``fn`` (a round lasts about ``seconds``/5):
    the in-process micro-benchmarks (rate limits, serde).

    >>> per_call_us(lambda: None, seconds=0.01) > 0
    True
    """
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - start > seconds / 5:
            break
        n *= 2
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6
