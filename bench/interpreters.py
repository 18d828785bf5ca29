"""The same worker drain on two Python interpreters, alternating (A B B A), same code, same hour.

Why: CPython built with profile-guided optimisation and link-time optimisation (configure
``--enable-optimizations --with-lto``) runs Python code faster than a plain build. The
image rtp ships (deploy/Dockerfile, ``python:3.11-slim``) has such a build; a developer's
interpreter (pyenv's default build, say) may not. The throughput bench runs on whichever
interpreter runs it, so this bench says what that choice alone is worth, as a ratio
measured in one go on one machine.

Each run is a fresh child process of one interpreter (``measure``): it drains
``30,000 * RTP_BENCH_SCALE`` simulator events (seed 11, :mod:`bench.throughput`'s) with
``rtp worker`` alone (no learner, no profiler, on a fresh topic prefix, the worker started
by that interpreter) and times the engine alone on the same events without Kafka. The
rates are :mod:`bench.throughput`'s (c1) first→last output and engine-alone rows.

The other interpreter is ``--other PATH`` (or ``RTP_BENCH_OTHER_PYTHON``); without one, the
first of ``/usr/bin/python3.X`` and ``/usr/local/bin/python3.X`` (this interpreter's X)
that is not this interpreter. It runs from its own virtual environment under
``.cache/bench-python/`` with rtp installed (editable, the bench extra), made on first use.
With no other interpreter found, the bench says so and records nothing.
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

from bench.common import ROOT, bench_scale, load_note, ratio, scaled
from bench.record import write
from bench.throughput import (
    FULL_EVENTS,
    encode_messages,
    engine_loop,
    generate_events,
    worker_drain,
)

__all__ = ["candidates", "describe", "other_interpreter", "run", "summarize"]

OTHER_ENV = "RTP_BENCH_OTHER_PYTHON"
VENVS = ROOT / ".cache" / "bench-python"


def candidates(minor: str = f"{sys.version_info[0]}.{sys.version_info[1]}") -> list[Path]:
    """Where another interpreter of this Python version may be, in order of preference.

    >>> [str(p) for p in candidates("3.11")]
    ['/usr/bin/python3.11', '/usr/local/bin/python3.11']
    """
    return [Path(f"/usr/bin/python{minor}"), Path(f"/usr/local/bin/python{minor}")]


def _base(python: str | Path) -> str:
    """The real file of the interpreter behind ``python`` (a virtual environment's python is
    a link to its base interpreter)."""
    out = subprocess.run([str(python), "-c", "import sys, os; "
                          "print(os.path.realpath(os.path.join(sys.base_exec_prefix, 'bin', "
                          "os.path.basename(os.path.realpath(sys.executable)))))"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def other_interpreter(given: str | None) -> Path | None:
    """``given``, or the first candidate that exists and is not this interpreter."""
    if given:
        return Path(given)
    mine = _base(sys.executable)
    for path in candidates():
        if path.exists() and _base(path) != mine:
            return path
    return None


def describe(python: str | Path) -> dict[str, Any]:
    """An interpreter's version, real path, what its recorded configure line says about
    optimisation, and whether it runs libpython as a shared library (position-independent
    code, calls through the PLT: slower). A distribution may optimise in build steps of its
    own: Debian's python3.11 changelog enables PGO/LTO builds and keeps the LTO flags out of
    sysconfig (#934771), so neither shows in its configure line.

    >>> sorted(describe(sys.executable))
    ['configure_lto', 'configure_pgo', 'interpreter', 'libpython_shared', 'version']
    """
    code = ("import sys, sysconfig, json, platform; a = sysconfig.get_config_var('CONFIG_ARGS')"
            " or ''; maps = open('/proc/self/maps').read() if sys.platform == 'linux' else ''; "
            "print(json.dumps({'version': platform.python_version(), 'configure_pgo':"
            " '--enable-optimizations' in a, 'configure_lto': '--with-lto' in a, "
            "'libpython_shared': 'libpython' in maps}))")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return {**json.loads(out.stdout), "interpreter": _base(python)}


def _venv_for(python: Path) -> Path:
    """A virtual environment of ``python`` with rtp installed (editable, bench extra)."""
    folder = VENVS / hashlib.sha256(str(python).encode()).hexdigest()[:12]
    venv_python = folder / "bin" / "python"
    if not venv_python.exists():
        subprocess.run([str(python), "-m", "venv", str(folder)], check=True)
    subprocess.run([str(venv_python), "-m", "pip", "install", "-q", "-e", f"{ROOT}[bench]"],
                   check=True, cwd=ROOT)
    return venv_python


def measure(result: Path, end_ms: int) -> None:
    """One run in this interpreter: the worker alone draining, then the engine alone, on
    the simulator events that end at ``end_ms`` (every run of a bench gets the same)."""
    count = int(scaled(FULL_EVENTS, bench_scale(), 3_000))
    messages = encode_messages(generate_events(count, end_ms=end_ms))
    with tempfile.TemporaryDirectory(prefix="rtp-bench-interp-") as tmp:
        alone = worker_drain(messages, Path(tmp), learner=False)
    loop = engine_loop(messages)
    cpu0 = time.process_time()
    loop()
    engine_cpu_s = time.process_time() - cpu0
    result.write_text(json.dumps({
        "events": count, "span_s": alone["span_s"], "outputs": alone["outputs"],
        "dead_letters": alone["dead_letters"],
        "worker_cpu_s": (alone["cpu_s"] or [None])[0], "engine_cpu_s": engine_cpu_s}))


def summarize(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One row per interpreter: median drain rate, worker and engine CPU µs per event.

    >>> summarize("a", [{"events": 1000, "span_s": 0.1, "worker_cpu_s": 0.09,
    ...                  "engine_cpu_s": 0.08, "outputs": 300}] * 2)["drain_per_s_median"]
    10000.0
    """
    def per_event(key: str) -> float | None:
        values = [1e6 * r[key] / r["events"] for r in runs if r.get(key) is not None]
        return round(statistics.median(values), 1) if values else None

    rates = [r["events"] / r["span_s"] for r in runs]
    return {"interpreter": name, "runs": len(runs),
            "drain_per_s_median": float(round(statistics.median(rates))),
            "drain_per_s_each": " / ".join(f"{rate:,.0f}" for rate in rates),
            "worker_cpu_us_median": per_event("worker_cpu_s"),
            "engine_cpu_us_median": per_event("engine_cpu_s"),
            "outputs_each": " / ".join(str(r["outputs"]) for r in runs)}


def _one(python: Path, workdir: Path, index: int, end_ms: int) -> dict[str, Any]:
    result = workdir / f"run-{index}.json"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run([str(python), "-m", "bench.interpreters", "measure", str(result),
                           str(end_ms)],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not result.exists():
        raise RuntimeError(f"run on {python} failed: {done.stderr[-2000:]}")
    return dict(json.loads(result.read_text()))


def run(other: str | None = None, pairs: int = 1) -> list[dict[str, Any]]:
    """A B B A (``pairs`` times): this interpreter (A) and the other (B); returns the rows."""
    found = other_interpreter(other or os.environ.get(OTHER_ENV))
    if found is None:
        print(f"   no other Python {sys.version_info[0]}.{sys.version_info[1]} found "
              f"({', '.join(map(str, candidates()))}; or set {OTHER_ENV}): nothing recorded")
        return []
    this, that = Path(sys.executable), _venv_for(found)
    about = {"this": describe(this), "other": describe(found)}
    load_before = load_note()
    runs: dict[str, list[dict[str, Any]]] = {"this": [], "other": []}
    # The same input for every run: with the same event times, a drain writes the same
    # outputs (a different end moves time-of-day rules, and so a few actions).
    end_ms = int(time.time() * 1000)
    with tempfile.TemporaryDirectory(prefix="rtp-bench-interps-") as tmp:
        order = ["this", "other", "other", "this"] * pairs
        for index, which in enumerate(order):
            measured = _one(this if which == "this" else that, Path(tmp), index, end_ms)
            runs[which].append(measured)
            print(f"   {which}: {measured['events'] / measured['span_s']:,.0f} events/s",
                  flush=True)
    rows = [{**summarize(which, runs[which]), **about[which]} for which in ("this", "other")]
    gain = ratio(rows[1]["drain_per_s_median"], rows[0]["drain_per_s_median"])
    engine = ratio(rows[1]["engine_cpu_us_median"] or 0.0, rows[0]["engine_cpu_us_median"] or 1)
    outputs = sorted({r["outputs"] for done in runs.values() for r in done})
    same = (f"every run wrote the same number of outputs ({outputs[0]:,})" if len(outputs) == 1
            else f"**the runs wrote different numbers of outputs** ({outputs}): not the same work")
    notes = "\n".join([
        f"`rtp worker` alone draining {runs['this'][0]['events']:,} simulator events (the "
        "throughput bench's (c1) first→last output), then the engine alone on them (CPU), "
        f"each run a fresh process of one interpreter, in A B B A order x{pairs}: "
        f"this = {about['this']['interpreter']} (Python {about['this']['version']}), "
        f"other = {about['other']['interpreter']} (Python {about['other']['version']}).",
        "",
        f"The other interpreter's drain rate is **{gain:.2f}x** this one's (medians); its "
        f"engine-alone CPU per event **{engine:.2f}x**; {same}. configure_pgo and "
        "configure_lto say what the interpreter's recorded configure line holds (a "
        "distribution may build with PGO and LTO in steps of its own: Debian's changelog "
        "says it does, and keeps the LTO flags out of sysconfig); libpython_shared: the "
        "interpreter runs libpython as a shared library. deploy/Dockerfile's base image "
        "(python:3.11-slim) is configured with --enable-optimizations --with-lto.",
        "",
        f"Shared machine: {load_before} before, {load_note()} after.",
    ])
    write("interpreters", rows, notes)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.interpreters",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", nargs="?", choices=["measure"],
                        help="measure: one run in this interpreter (the bench's child)")
    parser.add_argument("result", nargs="?", help="measure: where to write the run's JSON")
    parser.add_argument("end_ms", nargs="?", type=int, help="measure: the events' end, ms")
    parser.add_argument("--other", help=f"the other interpreter (default: ${OTHER_ENV}, or "
                        "/usr/bin/python3.X, /usr/local/bin/python3.X)")
    parser.add_argument("--pairs", type=int, default=1, help="A B B A repeated (default 1)")
    args = parser.parse_args(argv)
    if args.mode == "measure":
        measure(Path(args.result), args.end_ms)
    else:
        for row in run(args.other, args.pairs):
            print(row)


if __name__ == "__main__":
    main()
