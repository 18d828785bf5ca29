"""Visitor state codec µs per state: this code against :data:`BASELINE`, same states, one go.

What the worker's commit does per changed visitor (``VisitorState.to_bytes``, state format
4) timed on two sets of states:

- **new visitors** (the traffic of ``bench/latency.py``, the worst case): each state is
  the engine's answer to the first home-page view of a new visitor of the personalized
  arm (a session, a pending decision, a label snapshot). *first encode*: encoded once,
  right after the engine made it: what the commit after that event does;
- **simulator mix** (the states of ``bench/state_size.py``: seed 21, 20 visitors/min,
  the engine with the simulator's reactions): *cold*: encoded once right after decoding;
  *warm*: the same objects encoded again (bytes kept for unchanged parts reused).

*decode*: ``VisitorState.from_bytes`` of those bytes. Each code runs in child processes
of its own (``pipeline/`` of :data:`BASELINE` from ``git archive``; this tree), the two
codes' children alternating AB BA BA AB; a child times ``rounds`` rounds (new visitors:
states made afresh by the engine for each round, only the encode timed), as the main
thread's CPU time (``time.thread_time``: what the commit takes from the event loop; time
spent waiting for a core on a shared machine is not counted), with the worker's
garbage-collector policy. Reported: the fastest round of each code (the least disturbed)
and the median of all rounds, and whether both codes wrote the same bytes (a SHA-256
over every state).
"""

from __future__ import annotations

import argparse
import gc
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

from bench.common import ROOT, bench_scale, load_note, scaled
from bench.record import write

__all__ = ["BASELINE", "new_visitor_events", "run", "summary"]

#: main before this codec work (format 4 as it was written then).
BASELINE = "9a99159c453a66a2195f23eecad330bc6c55f30b"
CHILDREN = 8  # both codes together
NEW_VISITORS = 2000
SIM_MINUTES = 60


def new_visitor_events(prefix: str, count: int, start_ms: int) -> list[dict[str, Any]]:
    """The first home-page view of ``count`` new visitors of the personalized arm, as
    ``bench/latency.py`` offers them.

    >>> [e["page"]["page_type"] for e in new_visitor_events("b-", 2, 0)]
    ['home', 'home']
    """
    from bench.latency import _visitors
    from pipeline.client import click_event

    visitors, _ = _visitors(prefix, 0, count)
    return [click_event(v, "page_view", start_ms + i, event_id=f"{v}-home",
                        url="https://shop.example/", page_type="home", category=None,
                        product_id=None) for i, v in enumerate(visitors)]


def summary(rounds: list[float]) -> tuple[float, float]:
    """(fastest, median) of per-round µs.

    >>> summary([3.0, 1.0, 2.0])
    (1.0, 2.0)
    """
    return min(rounds), statistics.median(rounds)


# -- the child --------------------------------------------------------------------------

def _per_state_us(seconds: float, count: int) -> float:
    return seconds / max(1, count) * 1e6


def child_times(sim_file: Path, new_count: int, rounds: int, result: Path) -> None:
    """Time this interpreter's ``pipeline`` codec; write µs per state per round and the
    digests of the bytes written."""
    from bench.state_size import read_states
    from pipeline.engine import Engine, VisitorState

    engine = Engine()
    events = new_visitor_events("bench-codec-", new_count, 1_800_000_000_000)
    sim = read_states(sim_file)
    out: dict[str, Any] = {"new_first": [], "new_decode": [], "sim_cold": [], "sim_warm": [],
                           "sim_decode": []}
    new_digest = sim_digest = ""
    gc.collect()
    gc.freeze()  # the worker's policy (topologies/loop/gc_pauses.py): no automatic full
    young, middle, full = gc.get_threshold()
    gc.set_threshold(young, middle, 2**31 - 1)
    try:
        for _ in range(rounds):
            states = [engine.on_event(None, e).state for e in events]
            start = time.thread_time()
            encoded = [s.to_bytes() for s in states]
            out["new_first"].append(_per_state_us(time.thread_time() - start, len(states)))
            start = time.thread_time()
            for data in encoded:
                VisitorState.from_bytes(data)
            out["new_decode"].append(_per_state_us(time.thread_time() - start, len(states)))
            new_digest = hashlib.sha256(b"".join(encoded)).hexdigest()
            gc.collect()
            objects = [VisitorState.from_bytes(d) for d in sim]
            start = time.thread_time()
            again = [s.to_bytes() for s in objects]
            out["sim_cold"].append(_per_state_us(time.thread_time() - start, len(sim)))
            start = time.thread_time()
            for state in objects:
                state.to_bytes()
            out["sim_warm"].append(_per_state_us(time.thread_time() - start, len(sim)))
            start = time.thread_time()
            for data in again:
                VisitorState.from_bytes(data)
            out["sim_decode"].append(_per_state_us(time.thread_time() - start, len(sim)))
            sim_digest = hashlib.sha256(b"".join(again)).hexdigest()
            gc.collect()
    finally:
        gc.set_threshold(young, middle, full)
        gc.unfreeze()
    out["new_digest"], out["sim_digest"] = new_digest, sim_digest
    out["new_bytes"] = sum(map(len, encoded)) / max(1, len(encoded))
    tmp = result.with_suffix(".tmp")
    tmp.write_text(json.dumps(out))
    tmp.replace(result)


# -- the parent -------------------------------------------------------------------------

def _baseline_tree(folder: Path) -> Path | None:
    """``pipeline/`` (and ``schemas/``, ``deploy/``: the engine reads its catalog) at
    :data:`BASELINE` under ``folder`` (None without git or the commit)."""
    try:
        archive = subprocess.run(["git", "archive", BASELINE, "pipeline", "schemas", "deploy"],
                                 cwd=ROOT, capture_output=True, check=False)
    except OSError:
        return None
    if archive.returncode != 0:
        return None
    tree = folder / "baseline"
    tree.mkdir()
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def _child(tree: Path, sim_file: Path, new_count: int, rounds: int, folder: Path
           ) -> dict[str, Any]:
    result, log = folder / "codec.json", folder / "codec.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(tree), str(ROOT)))}
    with open(log, "ab") as out:  # -P: the working directory is not put first on the path
        subprocess.run([sys.executable, "-P", "-m", "bench.state_codec", "child",
                        str(sim_file), str(new_count), str(rounds), str(result)], cwd=ROOT,
                       env=env, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=900)
    times: dict[str, Any] = json.loads(result.read_text())
    result.unlink()
    return times


MEASURES = (
    ("new_first", "new visitors: first encode (the commit after the event)"),
    ("new_decode", "new visitors: decode"),
    ("sim_cold", "simulator mix: encode, cold (right after decoding)"),
    ("sim_warm", "simulator mix: encode, warm (objects encoded again)"),
    ("sim_decode", "simulator mix: decode"),
)


def run() -> list[dict[str, Any]]:
    """Measure and record; returns the rows."""
    from bench.state_size import _simulated_states, write_states

    scale = bench_scale()
    new_count = int(scaled(NEW_VISITORS, scale, 500))
    rounds = int(scaled(5, scale, 3))
    minutes = int(scaled(SIM_MINUTES, scale, 20))
    load_before = load_note()
    started = time.perf_counter()
    sim, _, _ = _simulated_states(minutes)
    with tempfile.TemporaryDirectory(prefix="rtp-bench-codec-") as tmp:
        folder = Path(tmp)
        sim_file = folder / "sim-states"
        write_states(sim_file, sim)
        trees = {"this code": ROOT}
        baseline = _baseline_tree(folder)
        if baseline is not None:
            trees = {f"baseline {BASELINE[:7]}": baseline, **trees}
        names = list(trees)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for i in range(CHILDREN // 2):
            for name in names if i % 4 in (0, 3) else names[::-1]:  # AB BA BA AB
                runs[name].append(_child(trees[name], sim_file, new_count, rounds, folder))
    rows: list[dict[str, Any]] = []
    fastest: dict[tuple[str, str], float] = {}
    for key, label in MEASURES:
        for name in names:
            values = [t for r in runs[name] for t in r[key]]
            best, median = summary(values)
            fastest[(name, key)] = best
            rows.append({"measure": f"{label}: {name}", "value": best, "unit": "µs/state",
                         "p50": median, "max": max(values),
                         "n": len(values) * (new_count if key.startswith("new") else len(sim))})
    same = {kind: len({r[f"{kind}_digest"] for name in names for r in runs[name]}) == 1
            for kind in ("new", "sim")}
    lines = [f"Same bytes from both codes (SHA-256 over every state): new visitors "
             f"**{'yes' if same['new'] else 'NO'}**, simulator mix "
             f"**{'yes' if same['sim'] else 'NO'}**."]
    if len(names) == 2:
        for key, label in MEASURES:
            before, after = fastest[(names[0], key)], fastest[(names[1], key)]
            lines.append(f"- {label}: {before:.1f} → {after:.1f} µs/state "
                         f"({(after - before) / before:+.0%}, fastest rounds)")
    notes = "\n".join([
        *lines, "",
        f"States: {new_count:,} new visitors per round (the first home-page view of a new "
        f"visitor of the personalized arm, made afresh by the engine each round, "
        f"{runs[names[-1]][0]['new_bytes']:.0f} B each); {len(sim):,} simulator states "
        f"({minutes} simulated minutes, seed 21). Each code in {CHILDREN // 2} child "
        f"processes of {rounds} rounds, the codes' children alternating AB BA BA AB; "
        "value: the fastest round, p50: the median round, max: the slowest. Times are the "
        "main thread's CPU time (time.thread_time: a process waiting for a core on a busy "
        "machine is not counted); the garbage collector as in the worker (young "
        "collections, start-up frozen, no automatic full collection).",
        "",
        f"Shared 2-core machine: {load_before} before, {load_note()} after; took "
        f"{time.perf_counter() - started:.0f} s. Scale {scale} (RTP_BENCH_SCALE).",
    ])
    write("state_codec", rows, notes)
    return rows


def main(argv: list[str] | None = None) -> None:
    """The child entry point (``child``) or the whole benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench.state_codec")
    sub = parser.add_subparsers(dest="mode")
    c = sub.add_parser("child")
    c.add_argument("sim_file", type=Path)
    c.add_argument("new_count", type=int)
    c.add_argument("rounds", type=int)
    c.add_argument("result", type=Path)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    if args.mode == "child":
        child_times(args.sim_file, args.new_count, args.rounds, args.result)
    else:
        for row in run():
            print(row)


if __name__ == "__main__":
    main()
