"""Learning quality through the real pipeline: 1 worker against 3, the same stream.

bench/decision_quality.py scores the engine's learning in a closed loop without
Kafka. This one runs the same simulated world (the ``contextual`` one, seed 31, 30
visitors/min: :func:`bench.decision_quality.world_options`) through the real topics,
as ``rtp simulate`` does without ``--offline`` (:class:`pipeline.sim.ClosedLoop`:
events in through the SDK, visitors react to the actions the workers decide, outcomes
go back), for each worker count ``N`` in :data:`WORKER_COUNTS`, one after the other,
each under a fresh topic prefix with :data:`PARTITIONS` partitions:

1. ONE ``rtp learner`` process (the learning service; the deployment shape: every
   worker's learning records go to it, every worker decides with its snapshots);
2. ``N`` ``rtp worker`` processes (:class:`pipeline.processes.WorkerProcess`, same
   consumer group, each with its own RocksDB folder, ``learner=False`` so none starts
   a second learner, ``profiles=False``: the simulator sends no profile updates, and a
   Faust profile side per worker would only take CPU from the shared cores; commit
   every :data:`COMMIT_EVERY` s, the ``rtp worker`` default);
3. once the group is stable with ``N`` members that each own events partitions, the
   closed loop runs ``MINUTES * RTP_BENCH_SCALE`` simulated minutes (at least
   :data:`MIN_MINUTES`) at :data:`SPEED` simulated seconds per wall second, then waits
   :data:`DRAIN_S` s for the last decisions;
4. the decision log and the outcomes topic are read back whole.

Per ``N``: the share of the oracle's reward after the warm-up (the first third of
the run), exactly as bench/decision_quality computes it (the simulator's
:class:`~pipeline.sim.DecisionRecord` per shown personalized decision,
:func:`~pipeline.sim.ledger_of`, :func:`bench.decision_quality.share_after`); the
decisions and served decisions on the decision log; the model versions the log
records; and how late decisions came (event→action latency, decisions the visitor
had left before). ``share_vs_1_worker`` is the ratio to ``N = 1`` of the same run.

The raw data each row is computed from (the simulator's scored decisions, the
decision log's and the outcomes' fields that matter) is written beside the record
(``bench/results/pipeline_quality.raw.json.gz``), so that
``tests/unit/bench/test_pipeline_quality.py`` can recompute the printed numbers
independently.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import (
    BenchError,
    bench_scale,
    child,
    kafka_prefix,
    latency_summary,
    load_note,
    ratio,
    scaled,
    stop_child,
)
from bench.decision_quality import SEED, share_after, world_options
from bench.record import RESULTS, write
from pipeline.sim import DecisionRecord, RewardWeights, ledger_of

if TYPE_CHECKING:
    from pipeline.settings import Settings

__all__ = ["COMMIT_EVERY", "MINUTES", "PARTITIONS", "SPEED", "WORKER_COUNTS", "RunData",
           "log_fields", "outcome_fields", "quality_row", "raw_path", "run", "with_ratios"]

WORKER_COUNTS = (1, 3)
#: Simulated minutes of arrivals (times RTP_BENCH_SCALE); the first third is the warm-up.
MINUTES = 30
MIN_MINUTES = 6
#: Simulated seconds per wall-clock second.
SPEED = 10.0
#: A multiple of 1 and 3: each of 3 workers owns as many partitions as the others.
PARTITIONS = 6
COMMIT_EVERY = 2.0
#: Wall seconds after the last event for the workers' last decisions.
DRAIN_S = 15.0
WORLD = "contextual"
ID_PREFIX = "bench-pq"


def raw_path() -> Path:
    """Where the raw data of the recorded run goes (read by the unit test)."""
    return RESULTS / "pipeline_quality.raw.json.gz"


@dataclasses.dataclass(frozen=True)
class RunData:
    """What one ``N`` left behind: the simulator's truth and what came back from Kafka."""

    workers: int
    #: The simulator's scored decisions (personalized, shown to a visitor still browsing).
    records: tuple[DecisionRecord, ...]
    #: The run's decision log entries (:func:`log_fields`), in topic order per partition.
    logs: tuple[Mapping[str, Any], ...]
    #: The run's outcomes read back from the outcomes topic (:func:`outcome_fields`).
    outcomes: tuple[Mapping[str, Any], ...]
    started_ms: int
    warmup_ms: int
    events_sent: int = 0
    latencies_ms: tuple[float, ...] = ()
    late_decisions: int = 0
    wall_s: float = float("nan")
    load: str = ""
    #: Events partitions per worker, largest first, as split before the first event.
    owned: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Plain JSON, one list per field (``latencies_ms`` left out: only their summary
        is printed); a decision id is written as a number, the same for the same id in the
        records, the log and the outcomes (:func:`id_numbers`; the ids themselves are
        random UUIDs, which would make up most of the file).

        >>> data = RunData(1, (DecisionRecord("d2", "v", "a", 1, 0.1, 0.2, False),),
        ...                ({"decision_id": "d1"}, {"decision_id": "d2"}),
        ...                ({"decision_id": "d2", "kind": "shown"},), 0, 0)
        >>> body = data.to_json()
        >>> body["records"]["decision_id"], body["logs"]["decision_id"]
        ([1], [0, 1])
        >>> body["outcomes"]
        {'decision_id': [1], 'kind': ['shown']}
        """
        number = id_numbers([*(str(e["decision_id"]) for e in self.logs),
                             *(r.decision_id for r in self.records),
                             *(str(o["decision_id"]) for o in self.outcomes)])

        def columns(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
            out: dict[str, list[Any]] = {}
            for row in rows:
                for key, value in row.items():
                    out.setdefault(key, []).append(
                        number[str(value)] if key == "decision_id" else value)
            return out

        return {"workers": self.workers, "started_ms": self.started_ms,
                "warmup_ms": self.warmup_ms,
                "records": columns([dataclasses.asdict(r) for r in self.records]),
                "logs": columns(self.logs), "outcomes": columns(self.outcomes)}


def id_numbers(ids: Iterable[str]) -> dict[str, int]:
    """A number per distinct id, in order of first appearance.

    >>> id_numbers(["b", "a", "b", "c"])
    {'b': 0, 'a': 1, 'c': 2}
    """
    out: dict[str, int] = {}
    for decision_id in ids:
        out.setdefault(decision_id, len(out))
    return out


def log_fields(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a decoded DecisionLog this bench uses.

    >>> log_fields({"decision": {"decision_id": "d", "visitor_id": "v", "action_id": "a",
    ...     "experiment_arm": "personalized", "created_at": 5, "x": 1}, "served": True,
    ...     "model_version": 3, "eligible": [{"action_id": "a"}]})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'decision_id': 'd', 'visitor_id': 'v', 'action_id': 'a', 'arm': 'personalized',
     'created_at': 5, 'served': True, 'model_version': 3}
    """
    decision = entry["decision"]
    return {"decision_id": str(decision["decision_id"]),
            "visitor_id": str(decision["visitor_id"]),
            "action_id": str(decision["action_id"]), "arm": str(decision["experiment_arm"]),
            "created_at": int(decision["created_at"]), "served": bool(entry["served"]),
            "model_version": int(entry.get("model_version", 0))}


def outcome_fields(outcome: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a decoded Outcome this bench uses.

    >>> outcome_fields({"outcome_id": "d:clicked", "decision_id": "d", "visitor_id": "v",
    ...                 "kind": "clicked", "value": 0.0, "event_time": 9})
    {'decision_id': 'd', 'kind': 'clicked', 'value': 0.0}
    """
    return {"decision_id": str(outcome["decision_id"]), "kind": str(outcome["kind"]),
            "value": float(outcome["value"])}


def quality_row(data: RunData, weights: RewardWeights) -> dict[str, Any]:
    """One table row: the share of the oracle after the warm-up (bench/decision_quality's
    metric, every scored decision shown from ``warmup_ms`` on), the decision log's counts.

    >>> w = RewardWeights(dismissed=-0.5)
    >>> recs = (DecisionRecord("a", "v", "x", 10, 0.2, 0.4, False, "clicked"),
    ...         DecisionRecord("b", "v", "y", 70, 0.3, 0.4, False, "dismissed"),
    ...         DecisionRecord("c", "v", "z", 80, 0.5, 0.5, True, "ignored", True, 9.0))
    >>> logs = tuple({"decision_id": d, "visitor_id": "v", "action_id": a,
    ...               "arm": "personalized", "created_at": t, "served": True,
    ...               "model_version": m} for d, a, t, m in
    ...              (("a", "x", 10, 0), ("b", "y", 70, 2), ("c", "z", 80, 5),
    ...               ("e", "no_action", 90, 5)))
    >>> row = quality_row(RunData(1, recs, logs, (), 0, 50), w)
    >>> round(row["share_of_oracle_after_warmup"], 4), round(row["realized_share_after_warmup"], 4)
    (0.8889, 0.5556)
    >>> row["decisions_logged"], row["served"], row["scored_after_warmup"]
    (4, 4, 2)
    >>> row["model_versions"], row["model_version_range"], row["decisions_without_model"]
    (3, '0..5', 1)
    """
    after = ledger_of(data.records, weights, since_ms=data.warmup_ms)
    shares = share_after(after)
    versions = Counter(int(e["model_version"]) for e in data.logs)
    ids = Counter(str(e["decision_id"]) for e in data.logs)
    latency = latency_summary(data.latencies_ms)
    return {
        "mode": "pipeline",
        "workers": data.workers,
        "partitions_owned": "+".join(str(n) for n in data.owned) or "-",
        "share_of_oracle_after_warmup": shares["expected_share"],
        "realized_share_after_warmup": shares["obtained_share"],
        "oracle_match_after_warmup": shares["match_rate"],
        "scored_after_warmup": after.decisions,
        "scored_whole_run": len(data.records),
        "decisions_logged": len(data.logs),
        "served": sum(1 for e in data.logs if e["served"]),
        "duplicate_log_ids": sum(n - 1 for n in ids.values() if n > 1),
        "model_versions": len(versions),
        "model_version_range": (f"{min(versions)}..{max(versions)}" if versions else "-"),
        "decisions_without_model": versions.get(0, 0),
        "events_sent": data.events_sent,
        "late_decisions": data.late_decisions,
        "action_p50_ms": latency["p50_ms"],
        "action_p99_ms": latency["p99_ms"],
        "wall_s": round(data.wall_s, 1),
    }


def with_ratios(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with ``share_vs_1_worker``: its share over the ``N = 1`` row's (NaN without).

    >>> [r["share_vs_1_worker"] for r in with_ratios([
    ...     {"workers": 1, "share_of_oracle_after_warmup": 0.8},
    ...     {"workers": 3, "share_of_oracle_after_warmup": 0.76}])]
    [1.0, 0.95]
    """
    base = next((r for r in rows if r["workers"] == 1 and r.get("mode") != "offline"), None)
    base_share = float(base["share_of_oracle_after_warmup"]) if base else float("nan")
    return [{**r, "share_vs_1_worker": round(
        ratio(float(r["share_of_oracle_after_warmup"]), base_share), 6)} for r in rows]


# -- against the broker -------------------------------------------------------------------

def _read_topic(settings: Settings, topic: str, timeout: float = 120.0) -> list[Any]:
    """Every record of ``topic`` up to the high watermarks as of the call, decoded (the
    replay's bounded reader: :mod:`pipeline.replay.topic_reader`)."""
    from pipeline.replay.errors import ReplaySourceError
    from pipeline.replay.topic_reader import RangeReader, plan_ranges
    from pipeline.serde import Codec

    codec = Codec.default()
    out: list[Any] = []
    try:
        ranges = plan_ranges(settings.bootstrap, topic, timeout=10.0,
                             group_id=f"{settings.topic_prefix}reader")
        with RangeReader(settings.bootstrap, ranges, idle_timeout_s=timeout,
                         group_id=f"{settings.topic_prefix}reader") as reader:
            for planned in ranges:
                out += [codec.decode(message.value)[1]
                        for message in reader.partition(topic, planned.partition)
                        if message.value is not None]
    except ReplaySourceError as exc:
        raise BenchError(f"could not read {topic} to its end: {exc}") from None
    return out


def _measure(workers: int, minutes: int, workdir: Path) -> RunData:
    from bench.scaling import _wait_split
    from pipeline.engine import EngineOptions
    from pipeline.processes import WorkerProcess
    from pipeline.sim.closed_loop import ClosedLoop, LoopOptions
    from pipeline.topics import DECISIONS_LOG, OUTCOMES

    load = load_note()
    workdir.mkdir(parents=True, exist_ok=True)
    sim_options = dataclasses.replace(world_options(WORLD, EngineOptions(), minutes),
                                      id_prefix=ID_PREFIX)
    loop_options = LoopOptions(duration_s=minutes * 60 / SPEED, speed=SPEED,
                               drain_s=DRAIN_S, control_share=0.10)
    with kafka_prefix(f"pq-n{workers}", partitions=PARTITIONS) as settings:
        env = {"RTP_TOPIC_PREFIX": settings.topic_prefix, "RTP_KAFKA_BOOTSTRAP":
               settings.bootstrap, "RTP_PARTITIONS": str(settings.partitions),
               "RTP_LOG_FORMAT": "json"}
        learner = child("pipeline.cli", ["learner"], workdir / "learner.log", env)
        procs: list[WorkerProcess] = []
        try:
            for i in range(workers):
                procs.append(WorkerProcess(settings, workdir / f"w{i}-data",
                                           workdir / f"w{i}.log", commit_every=COMMIT_EVERY,
                                           control_share=0.10, profiles=False, learner=False))
            for proc in procs:
                proc.wait_ready(timeout=180)
            owned = _wait_split(settings, procs, timeout=180)
            if learner.poll() is not None:
                raise BenchError(f"the learner exited ({learner.returncode})")
            loop = ClosedLoop(settings, sim_options, loop_options,
                              progress=lambda line: print(f"   N={workers} {line}", flush=True))
            report = loop.run()
            if learner.poll() is not None or any(p.proc.poll() is not None for p in procs):
                raise BenchError("the learner or a worker exited during the run")
        finally:
            for proc in procs:
                proc.stop()
            stop_child(learner)
        mine = ID_PREFIX + "-"
        logs = tuple(log_fields(e) for e in _read_topic(settings, settings.topic(DECISIONS_LOG))
                     if str(e["decision"]["visitor_id"]).startswith(mine))
        outcomes = tuple(outcome_fields(o)
                         for o in _read_topic(settings, settings.topic(OUTCOMES))
                         if str(o["visitor_id"]).startswith(mine))
    started = report.summary.started_ms
    return RunData(workers=workers, records=tuple(loop.sim.decision_records()), logs=logs,
                   outcomes=outcomes, started_ms=started,
                   warmup_ms=started + (minutes // 3) * 60_000,
                   events_sent=report.events_sent,
                   latencies_ms=tuple(report.latencies_ms),
                   late_decisions=report.summary.late_decisions, wall_s=report.wall_s,
                   load=load, owned=owned)


def offline_row(minutes: int, warmup: int, columns: Sequence[str]) -> dict[str, Any]:
    """The same world, seed and length through bench/decision_quality's offline loop (the
    engine in this process, no Kafka, learning inline), as a reference row: ``columns``
    of a pipeline row, those it has no value for empty."""
    from bench.decision_quality import _closed_loop
    from pipeline.engine import EngineOptions

    options = EngineOptions()
    sim_options = dataclasses.replace(world_options(WORLD, options, minutes), id_prefix=ID_PREFIX)
    loop = _closed_loop(None, minutes, warmup, options, sim_options)
    shares = share_after(loop.after_warmup)
    values = {"mode": "offline", "workers": 0,
              "share_of_oracle_after_warmup": shares["expected_share"],
              "realized_share_after_warmup": shares["obtained_share"],
              "oracle_match_after_warmup": shares["match_rate"],
              "scored_after_warmup": loop.after_warmup.decisions,
              "scored_whole_run": loop.whole.decisions, "wall_s": round(loop.seconds, 1)}
    return {c: values.get(c, "") for c in columns}


def write_raw(runs: Iterable[RunData], weights: RewardWeights, path: Path | None = None
              ) -> Path:
    """The raw data of every run, gzipped JSON (read by the unit test)."""
    target = path or raw_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    body = {"weights": dataclasses.asdict(weights), "runs": [r.to_json() for r in runs]}
    with gzip.open(target, "wt") as out:
        json.dump(body, out)
    return target


def run() -> list[dict[str, Any]]:
    """Measure 1 then 3 workers on the same stream and record; returns the rows."""
    from pipeline.engine import EngineOptions

    scale = bench_scale()
    minutes = int(scaled(MINUTES, scale, MIN_MINUTES))
    warmup = minutes // 3
    weights = world_options(WORLD, EngineOptions(), minutes).weights
    load_before = load_note()
    runs: list[RunData] = []
    with tempfile.TemporaryDirectory(prefix="rtp-bench-pq-") as tmp:
        for n in WORKER_COUNTS:
            runs.append(_measure(n, minutes, Path(tmp) / f"n{n}"))
            print(f"   {quality_row(runs[-1], weights)}", flush=True)
    offline = offline_row(minutes, warmup, [*quality_row(runs[0], weights)])
    print(f"   {offline}", flush=True)
    rows = with_ratios([*(quality_row(r, weights) for r in runs), offline])
    write_raw(runs, weights)
    load_after = load_note()
    notes = "\n".join([
        f"The `{WORLD}` world of bench/decision_quality (seed {SEED}, 30 visitors/min, the "
        "oracle scoring with the engine's reward weights) through the real pipeline: the "
        "simulator's closed loop over Kafka (`rtp simulate` without --offline), "
        f"{minutes} simulated minutes at {SPEED:g}x wall speed ({minutes * 60 / SPEED:.0f} s "
        f"of wall time per N, then {DRAIN_S:g} s for the last decisions), warm-up {warmup} "
        f"minutes, so {minutes - warmup} simulated minutes are scored. For each N, a fresh "
        f"topic prefix ({PARTITIONS} partitions), ONE `rtp learner` and N `rtp worker` "
        f"processes in one group (commit every {COMMIT_EVERY:g} s, no profile side: the "
        "simulator sends no profile updates), started and split before the first event.",
        "",
        "share_of_oracle_after_warmup: bench/decision_quality's metric (expected reward of "
        "the shown actions / the best eligible action's, over the personalized decisions "
        "shown after the warm-up; no sampling noise). realized_share: the reward those "
        "decisions obtained / the same oracle reward; the clock stops at the run's end, so "
        "the conversions of visitors still browsing then are missing from it (the offline "
        "bench lets them finish). share_vs_1_worker: share / N = 1's share. decisions_logged "
        "and served: the run's DecisionLog entries and those served (the control group's "
        "are not); model_versions: distinct DecisionLog.model_version values "
        "(decisions_without_model: version 0, before the first snapshot). late_decisions: "
        "decisions that reached the simulator after their visitor had left; action_p50/p99: "
        "event→action wall latency of the delivered decisions (a simulated second is "
        f"{1000 / SPEED:.0f} ms of wall time here: a pipeline that lags shows its visitors "
        "actions later in their visit than the offline loop does).",
        "",
        "The same stream: the same seed, so the same visitors arrive at the same simulated "
        "times with the same journeys; what they do after a decision depends on what was "
        "shown and when it arrived, so the streams diverge from the first different "
        "decision on (as between the policies of bench/decision_quality). The difference "
        "between N = 1 and N = 3 is therefore one run's, not a confidence interval: "
        "exploration draws are seeded by decision id, but the model a decision sees depends "
        "on timing (snapshots from the learner, picked up at commits).",
        "",
        "The `offline` row (workers 0) is the same world, seed and length through "
        "bench/decision_quality's loop without Kafka (the engine in the bench's process, "
        "learning inline at each reward, every decision shown at its event time; its "
        "visitors browsing at the end finish their visits, so its realized share has all "
        "conversions): what the pipeline would score without transport, snapshot and "
        "commit delays. Its share_vs_1_worker is offline / N = 1.",
        "",
        "The raw data of every row (scored decisions, decision log, outcomes) is in "
        "`pipeline_quality.raw.json.gz`; tests/unit/bench/test_pipeline_quality.py "
        "recomputes the rows from it.",
        "",
        f"Shared 2-core machine (other engineers' tests and benchmarks; the broker, the "
        f"learner, the workers and the simulator share the cores): {load_before} before, "
        f"{load_after} after; per N: " + "; ".join(f"N = {r.workers}: {r.load} before it"
                                                  for r in runs)
        + f". Scale {scale} (RTP_BENCH_SCALE).",
    ])
    write("pipeline_quality", rows, notes)
    return rows


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        for result in run():
            print(result)
