"""Bytes per visitor state (encoded and in RocksDB) and resident memory per 100k visitors.

Realistic states come from the closed loop without Kafka: the simulator's
visitors (seed 21, 20 visitors/min, ``60 * RTP_BENCH_SCALE`` simulated minutes,
at least 40) through the engine, decisions shown and reacted to as in
``pipeline.sim.offline``. Each visitor's :class:`~pipeline.engine.VisitorState`
(session with detector state + decision history + intent class) at the end is
encoded with ``to_bytes`` as the worker stores it; *active* sessions are those
with an event within the 30-minute inactivity gap of the end.

- **RocksDB**: ``100,000 * scale`` (at least 10,000) distinct keys, values cycled
  from those states, written in batches of 1,000 into a store opened exactly as the
  worker opens its partition stores (:class:`topologies.loop.store.PartitionStore`,
  rocksdict); size of the SST files after a flush, and of the whole folder.
- **Codec µs per state**: the same states encoded and decoded by this code and by the
  code at :data:`BASELINE` (``pipeline/`` of that commit, from ``git archive``), each in
  child processes of its own, the two codes' children alternating (AB BA BA AB); the
  fastest round of each code (the least disturbed on a shared machine) and the spread of
  all rounds. *warm*: the objects the worker keeps between commits encoded again (what
  the commit seal does for a visitor whose state changed: bytes kept for unchanged parts
  are reused); *cold*: encoded once right after decoding.
- **Resident memory**: a child process decodes the same number of states into the
  worker's :class:`~pipeline.engine.cache.StateCache` (decoded objects, as the
  worker holds them); RSS after minus RSS before, extrapolated linearly to 100k
  visitors when fewer were held (``RTP_BENCH_SCALE`` < 1).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    bench_scale,
    child,
    load_note,
    percentile,
    scaled,
    stop_child,
    wait_for_file,
)
from bench.record import write

__all__ = [
    "BASELINE",
    "GOAL_BYTES",
    "codec_times",
    "per_hundred_thousand",
    "read_states",
    "run",
    "version_3_bytes",
    "write_states",
]

GOAL_BYTES = 2048
SEED = 21
VISITORS_PER_MINUTE = 20.0
MINUTES = 60
HELD = 100_000
_LEN = struct.Struct("<I")
#: The last commit writing visitor state version 3 (pending rewards format 4).
BASELINE = "7f726d002ee67c0a4001c96b4344295ecf28f25f"
CODEC_CHILDREN = 8  # both codes together
PARTS = ("header", "session", "history", "pending", "label", "intent")


def write_states(path: Path, states: list[bytes]) -> None:
    """Length-prefixed encoded states, for the child process.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_states(Path(d) / "s", [b"ab", b""]); read_states(Path(d) / "s")
    [b'ab', b'']
    """
    path.write_bytes(b"".join(_LEN.pack(len(s)) + s for s in states))


def read_states(path: Path) -> list[bytes]:
    """Inverse of :func:`write_states`."""
    data, out, offset = path.read_bytes(), [], 0
    while offset < len(data):
        (size,) = _LEN.unpack_from(data, offset)
        offset += _LEN.size
        out.append(data[offset:offset + size])
        offset += size
    return out


def per_hundred_thousand(delta_bytes: float, held: int) -> float:
    """Bytes for 100,000 visitors, extrapolated linearly from ``held`` of them.

    >>> per_hundred_thousand(50_000_000, 50_000)
    100000000.0
    """
    return delta_bytes * 100_000 / held


def _rss() -> int:
    """Resident set size of this process in bytes (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _simulated_states(minutes: int) -> tuple[list[bytes], list[bytes], dict[str, float]]:
    """(all states, active ones) encoded, and mean part sizes, from the offline closed loop."""
    from pipeline.decide import assign_arm
    from pipeline.engine import Engine, VisitorState
    from pipeline.engine.state_codec import part_sizes
    from pipeline.sim import Simulator, SimulatorOptions

    engine = Engine()
    sim = Simulator(SimulatorOptions(seed=SEED, visitors_per_minute=VISITORS_PER_MINUTE,
                                     id_prefix="bench-state"),
                    arm_of=lambda v: assign_arm(v, engine.options.decider.control_share))
    start = 1_800_000_000_000
    states: dict[str, VisitorState | None] = {}
    sim.start(start)
    for minute in range(1, minutes + 1):
        for event in sim.next_events(start + minute * 60_000):
            visitor = event["visitor_id"]
            result = engine.on_event(states.get(visitor), event)
            states[visitor] = result.state
            decision = result.decision
            if decision is None:
                continue
            eligible = [e["action_id"] for e in decision.log["eligible"]]
            for outcome in sim.receive_decision(decision.decision, event["event_time"], eligible):
                engine.on_outcome(states.get(outcome["visitor_id"]), outcome)
        for outcome in sim.take_outcomes():
            engine.on_outcome(states.get(outcome["visitor_id"]), outcome)
    end = start + minutes * 60_000
    gap = engine.options.sessions.inactivity_gap_ms
    every, active = [], []
    totals = dict.fromkeys(PARTS, 0)
    for state in states.values():
        if state is None:
            continue
        data = state.to_bytes()
        every.append(data)
        for name, size in part_sizes(data).items():
            totals[name] += size
        if state.session is not None and end - state.session.last_ms < gap:
            active.append(data)
    parts = {name: total / max(1, len(every)) for name, total in totals.items()}
    return every, active, parts


def _rocksdb_bytes(states: list[bytes], count: int, folder: Path) -> tuple[float, float]:
    """Bytes per state in SST files after a flush, and of the whole database folder."""
    from topologies.loop.store import PartitionStore

    path = folder / "visitors" / "0"
    store = PartitionStore.open(path)
    for start in range(0, count, 1000):  # the worker writes one batch per commit
        store.write({f"bench-state-v{i:08d}".encode(): states[i % len(states)]
                     for i in range(start, min(count, start + 1000))}, changelog_offset=start)
    store.flush()
    store.close()
    files = [p for p in path.rglob("*") if p.is_file()]
    sst = sum(p.stat().st_size for p in files if p.suffix == ".sst")
    total = sum(p.stat().st_size for p in files)
    return sst / count, total / count


# -- codec µs per state, this code vs the baseline's ----------------------------------------

def codec_times(states_file: Path, result: Path, rounds: int) -> None:
    """Time this interpreter's ``pipeline`` codec on the stored (version 3) states; write
    the median µs per state of ``rounds`` rounds (decode, warm and cold encode) and the
    mean encoded size."""
    from pipeline.engine import VisitorState

    stored = read_states(states_file)
    objects = [VisitorState.from_bytes(d) for d in stored]
    encoded = [s.to_bytes() for s in objects]
    samples: dict[str, list[float]] = {"decode": [], "encode_warm": [], "encode_cold": []}
    for _ in range(rounds):
        fresh = [VisitorState.from_bytes(d) for d in encoded]
        start = time.perf_counter()
        for state in fresh:
            state.to_bytes()
        samples["encode_cold"].append(time.perf_counter() - start)
        start = time.perf_counter()
        for state in objects:
            state.to_bytes()
        samples["encode_warm"].append(time.perf_counter() - start)
        start = time.perf_counter()
        for data in encoded:
            VisitorState.from_bytes(data)
        samples["decode"].append(time.perf_counter() - start)
    out: dict[str, Any] = {k: [t / len(stored) * 1e6 for t in v] for k, v in samples.items()}
    out["bytes"] = sum(map(len, encoded)) / len(encoded)
    tmp = result.with_suffix(".tmp")
    tmp.write_text(json.dumps(out))
    tmp.replace(result)


def _baseline_tree(folder: Path) -> Path | None:
    """``pipeline/`` at :data:`BASELINE` under ``folder`` (None without git or the commit)."""
    try:
        archive = subprocess.run(["git", "archive", BASELINE, "pipeline", "schemas"], cwd=ROOT,
                                 capture_output=True, check=False)
    except OSError:
        return None
    if archive.returncode != 0:
        return None
    tree = folder / "baseline"
    tree.mkdir()
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def _codec_child(pipeline_root: Path, states_file: Path, result: Path, rounds: int,
                 log: Path) -> dict[str, Any]:
    """One child process timing the codec of ``pipeline_root``'s ``pipeline`` package."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(pipeline_root), str(ROOT)))}
    with open(log, "ab") as out:  # -P: the working directory is not put first on the path
        subprocess.run([sys.executable, "-P", "-m", "bench.state_size", "codec",
                        str(states_file), str(result), str(rounds)], cwd=ROOT, env=env,
                       stdout=out, stderr=subprocess.STDOUT, check=True, timeout=600)
    times: dict[str, Any] = json.loads(result.read_text())
    result.unlink()
    return times


def version_3_bytes(data: bytes) -> bytes:
    """A stored state rewritten in version 3, which the baseline reads too: the session,
    history and label in their JSON formats, the pending decisions in format 1 (JSON,
    context vectors as base64 float64; closed ids, which format 1 lacks, are left out).

    >>> from pipeline.engine import VisitorState
    >>> old = version_3_bytes(VisitorState(intent_class="ready").to_bytes())
    >>> old[0], VisitorState.from_bytes(old) == VisitorState(intent_class="ready")
    (3, True)
    """
    import base64

    from pipeline.engine import VisitorState

    state = VisitorState.from_bytes(data)
    session = state.session.to_bytes() if state.session is not None else b""
    history = state.history.to_bytes()
    pending = b""
    if state.pending:
        rows = []
        for decision_id in state.pending.decision_ids():
            e = state.pending.get(decision_id)
            assert e is not None
            vector = base64.b64encode(struct.pack(f"<{len(e.context)}d", *e.context)).decode()
            rows.append([e.decision_id, e.visitor_id, e.action_id, vector, e.decided_at_ms,
                         e.propensity, sorted(e.kinds), e.revenue, e.observed])
        pending = json.dumps({"v": 1, "pending": rows}, separators=(",", ":")).encode()
    label = state.label.to_bytes() if state.label is not None else b""
    header = struct.pack("<BIIqII", 3, len(session), len(history), state.source_offset,
                         len(pending), len(label))
    return b"".join((header, session, history, pending, label, state.intent_class.encode()))


def _codec_rows(states: list[bytes], folder: Path, rounds: int) -> list[dict[str, Any]]:
    """Rows: µs per state (and size) of the baseline's codec and this one's, same states
    (given to both in version 3)."""
    states_file, result, log = folder / "codec-states", folder / "codec.json", folder / "c.log"
    write_states(states_file, [version_3_bytes(s) for s in states])
    trees = {"this code": ROOT}
    baseline = _baseline_tree(folder)
    if baseline is not None:
        trees = {f"{BASELINE[:7]} (version 3)": baseline, **trees}
    names = list(trees)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for i in range(CODEC_CHILDREN // 2):
        for name in names if i % 4 in (0, 3) else names[::-1]:  # AB BA BA AB
            runs[name].append(_codec_child(trees[name], states_file, result, rounds, log))
    rows = []
    for name in names:
        rows.append({"measure": f"codec {name}: encoded size (mean)",
                     "value": runs[name][0]["bytes"], "unit": "bytes", "n": len(states),
                     "p50": "", "p95": "", "max": ""})
        for key, label in (("encode_warm", "encode, warm"), ("encode_cold", "encode, cold"),
                           ("decode", "decode")):
            rounds_all = [t for r in runs[name] for t in r[key]]
            rows.append({"measure": f"codec {name}: {label} (fastest round; p50 of rounds)",
                         "value": min(rounds_all), "unit": "µs/state",
                         "n": len(rounds_all), "p50": statistics.median(rounds_all),
                         "p95": percentile(rounds_all, 95), "max": max(rounds_all)})
    return rows


# -- the child that holds decoded states ----------------------------------------------------

def hold(states_file: Path, count: int, result: Path) -> None:
    """Decode ``count`` states into a StateCache; write the RSS before and after."""
    from pipeline.engine import VisitorState
    from pipeline.engine.cache import StateCache

    states = read_states(states_file)
    keys = [f"bench-state-v{i:08d}".encode() for i in range(count)]
    gc.collect()
    before = _rss()
    cache: StateCache[VisitorState] = StateCache(max_entries=count)
    for i, key in enumerate(keys):
        cache.put(key, VisitorState.from_bytes(states[i % len(states)]))
    gc.collect()
    after = _rss()
    tmp = result.with_suffix(".tmp")
    tmp.write_text(json.dumps({"before": before, "after": after, "held": len(cache)}))
    tmp.replace(result)


def run() -> list[dict[str, Any]]:
    """Measure and record; returns the rows."""
    scale = bench_scale()
    minutes = int(scaled(MINUTES, scale, 40))
    count = int(scaled(HELD, scale, 10_000))
    load_before = load_note()
    started = time.perf_counter()
    every, active, parts = _simulated_states(minutes)
    sizes_all = [float(len(s)) for s in every]
    sizes_active = [float(len(s)) for s in active] or [float("nan")]
    with tempfile.TemporaryDirectory(prefix="rtp-bench-state-") as tmp:
        folder = Path(tmp)
        codec = _codec_rows(every, folder, int(scaled(8, scale, 3)))
        sst, total = _rocksdb_bytes(every, count, folder)
        states_file, result, log = folder / "states", folder / "rss.json", folder / "rss.log"
        write_states(states_file, every)
        proc = child("bench.state_size", ["hold", str(states_file), str(count), str(result)],
                     log)
        try:
            rss = wait_for_file(result, proc, 300, log)
        finally:
            stop_child(proc)
    delta = float(rss["after"] - rss["before"])
    per_100k = per_hundred_thousand(delta, int(rss["held"]))
    mean_active = sum(sizes_active) / len(sizes_active)
    rows: list[dict[str, Any]] = [
        {"measure": "VisitorState.to_bytes, active sessions (mean)", "value": mean_active,
         "unit": "bytes", "n": len(active),
         "p50": percentile(sizes_active, 50), "p95": percentile(sizes_active, 95),
         "max": max(sizes_active)},
        {"measure": "VisitorState.to_bytes, every stored visitor (mean)",
         "value": sum(sizes_all) / len(sizes_all), "unit": "bytes", "n": len(every),
         "p50": percentile(sizes_all, 50), "p95": percentile(sizes_all, 95),
         "max": max(sizes_all)},
        *[{"measure": f"  of which {name} (mean)", "value": parts[name], "unit": "bytes",
           "n": len(every), "p50": "", "p95": "", "max": ""} for name in PARTS],
        {"measure": "RocksDB SST per state (after flush)", "value": sst, "unit": "bytes",
         "n": count, "p50": "", "p95": "", "max": ""},
        {"measure": "RocksDB folder per state (SST + WAL + manifest)", "value": total,
         "unit": "bytes", "n": count, "p50": "", "p95": "", "max": ""},
        {"measure": "resident memory per 100k decoded states (StateCache)",
         "value": per_100k / 2**20, "unit": "MiB", "n": int(rss["held"]),
         "p50": "", "p95": "", "max": ""},
        {"measure": "resident memory per decoded state", "value": per_100k / 100_000,
         "unit": "bytes", "n": int(rss["held"]), "p50": "", "p95": "", "max": ""},
        *codec,
    ]
    goal = "met" if mean_active <= GOAL_BYTES and sst <= GOAL_BYTES else "NOT met"
    extrapolated = (f"measured with {int(rss['held']):,} states and extrapolated linearly to "
                    "100k (RTP_BENCH_SCALE < 1)" if int(rss["held"]) < 100_000
                    else "measured with 100k states")
    notes = "\n".join([
        f"Goal (reported, not asserted): <= {GOAL_BYTES:,} bytes per session: **{goal}** "
        f"(encoded {mean_active:,.0f} B per active session, {sst:,.0f} B per state in "
        "RocksDB SST files).",
        "",
        f"States: {len(every):,} visitors of {minutes} simulated minutes (seed {SEED}, "
        f"{VISITORS_PER_MINUTE:.0f} visitors/min) through the engine with the simulator's "
        f"reactions; {len(active):,} with an active session at the end. RocksDB: {count:,} "
        "distinct keys, values cycled from those states, written in batches of 1,000 into a "
        "PartitionStore opened with the worker's StoreOptions. Every state write also goes "
        "to the compacted changelog topic with the same bytes.",
        "",
        f"Resident memory: {extrapolated}; RSS of a child process (Python objects of the "
        "decoded states plus allocator overhead). The worker's StateCache holds at most "
        "50,000 decoded states by default; older visitors are read back from RocksDB "
        "(whose block cache, RocksDB's default, is not counted here).",
        "",
        f"Codec: the same {len(every):,} states given to both codes in version 3; each "
        f"code times them in {CODEC_CHILDREN // 2} child processes, the two codes' children "
        "alternating ABBA; value: the fastest round (the least disturbed on a shared "
        "machine), p50/p95/max over every round. *warm*: objects encoded again as the commit "
        "seal does for a cached state that changed (kept bytes of unchanged parts reused); "
        "*cold*: encoded once right after decoding; *decode*: of the code's own bytes.",
        "",
        f"Shared 2-core machine: {load_before} before, {load_note()} after; took "
        f"{time.perf_counter() - started:.0f} s. Scale {scale} (RTP_BENCH_SCALE).",
    ])
    write("state_size", rows, notes)
    return rows


def main(argv: list[str] | None = None) -> None:
    """The child entry point (``hold``) or the whole benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench.state_size")
    sub = parser.add_subparsers(dest="mode")
    h = sub.add_parser("hold")
    h.add_argument("states_file", type=Path)
    h.add_argument("count", type=int)
    h.add_argument("result", type=Path)
    c = sub.add_parser("codec")
    c.add_argument("states_file", type=Path)
    c.add_argument("result", type=Path)
    c.add_argument("rounds", type=int)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    if args.mode == "hold":
        hold(args.states_file, args.count, args.result)
    elif args.mode == "codec":
        codec_times(args.states_file, args.result, args.rounds)
    else:
        for row in run():
            print(row)


if __name__ == "__main__":
    main()
