"""``kill -9`` a worker mid-stream, restart it on the same RocksDB folder: nothing is lost.

Compared with an uninterrupted run of the same engine over the same input
(:func:`tests.fault.workload.reference_run`):

- every visitor's session (id, events, page views), read from the ``visitors`` changelog;
- every trigger's decision (one id per trigger, none missing, none extra);
- learning: the records on ``personalization.learning`` (first of an id wins, as the
  learner reads them) are exactly the reference's due by then: none lost in the crash
  (pending rewards live in the visitor states), none extra, each with the reference's
  content, and no id ever with two contents;
- one content per decision id: a decision made again after the restart (same state, same
  event, same model, seeded exploration) is the one made before;
- delivery: the actions topic, offered to the delivery service's store in topic order,
  is served once per decision id (the records re-emitted after the restart carry the
  same ids and are turned down as duplicates).

What makes it hold is the worker's commit (``topologies/decision_path.py``): outputs
acknowledged, then the changed states, then the input offsets. The second test freezes
the broker first, so that the crash happens with outputs in flight and nothing
acknowledged.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.broker import LocalKafka
from pipeline.processes import WorkerProcess, wait_caught_up
from pipeline.settings import Settings
from pipeline.topics import DECISIONS_LOG, EVENTS
from tests.fault.checks import (
    DecisionCheck,
    DeliveryCheck,
    LearningCheck,
    assert_learning_exact,
    check_decisions,
    check_delivery,
    check_learning,
    flush_and_wait,
    session_mismatches,
    visitor_states,
)
from tests.fault.conftest import StartWorker, fresh_topics
from tests.fault.kafka_state import end_offsets, send_events, wait_until
from tests.fault.workload import Reference, Workload, build_workload, reference_run


@dataclass(frozen=True)
class AfterRestart:
    """What a crash-and-restart run left, against the reference."""

    mismatches: list[str]
    decisions: DecisionCheck
    delivery: DeliveryCheck
    learning: LearningCheck
    recovered_in: float
    survivor: WorkerProcess


def crash_and_restart(settings: Settings, workers: StartWorker, data_dir: Path,
                      workload: Workload, ref: Reference,
                      crash: Callable[[WorkerProcess], str]) -> AfterRestart:
    """Run the workload, ``crash`` the worker a third of the way in, restart, finish."""
    log_topic = settings.topic(DECISIONS_LOG)
    first = workers(settings, "first", data_dir=data_dir)
    first.wait_ready()
    send_events(settings, list(workload.events))
    wait_until(lambda: sum(end_offsets(settings, log_topic).values()) >= len(ref.decisions) // 3,
               timeout=120, what="a third of the decisions")
    how = crash(first)
    assert first.proc.returncode == -signal.SIGKILL

    started = time.monotonic()
    second = workers(settings, "second", data_dir=data_dir)  # the same RocksDB folder
    second.wait_ready()
    wait_caught_up(second, [settings.topic(EVENTS)], timeout=120)
    recovered_in = time.monotonic() - started
    flush_and_wait(settings, workload, ref, second)

    mismatches = session_mismatches(visitor_states(settings, second), workload, ref)
    check, _ = check_decisions(settings, ref, workload)
    learning = check_learning(settings, ref, workload)
    delivery = check_delivery(settings)
    print(f"\n{how}: {len(workload.events)} events; restart caught up in {recovered_in:.1f} s; "
          f"{check.logged} decisions logged for {check.triggers} triggers "
          f"({check.redelivered} re-emitted with the same id, {len(check.missing)} missing, "
          f"{len(check.two_contents)} ids with two contents); "
          f"learning: {learning.records} records, {learning.unique} ids, "
          f"{len(learning.lost)} lost, {len(learning.extra)} extra; "
          f"delivery: {delivery.records} actions, {delivery.unique_ids} ids, "
          f"{delivery.duplicates} turned down as duplicates")
    return AfterRestart(mismatches, check, delivery, learning, recovered_in, second)


def assert_nothing_lost(run: AfterRestart, ref: Reference) -> None:
    assert run.survivor.proc.poll() is None, run.survivor.tail()
    assert not run.mismatches, run.mismatches[:5]
    assert not run.decisions.conflicting, run.decisions.conflicting[:5]
    assert run.decisions.ids_match
    assert not run.decisions.extra, run.decisions.extra[:5]
    assert not run.decisions.missing, (
        f"{len(run.decisions.missing)} decisions lost: {run.decisions.missing[:5]}")
    assert not run.decisions.two_contents, run.decisions.two_contents[:5]
    assert_learning_exact(run.learning)
    assert not run.delivery.served_twice, run.delivery.served_twice[:5]
    assert run.delivery.duplicates == run.delivery.records - run.delivery.unique_ids
    # The model is fixed (no learner in this suite): what is delivered is the reference's.
    assert run.delivery.ids == {str(r["decision_id"]) for r in ref.actions.values()}


def test_kill_9_mid_stream_then_restart_loses_no_event_and_no_decision(
        topics: Settings, workers: StartWorker, tmp_path: Path) -> None:
    # 300 visitors (~4,000 events): long enough a stream that the worker is still at it
    # after its first commit, even on an idle machine.
    workload = build_workload(f"k9{uuid.uuid4().hex[:4]}", visitors=300)
    ref = reference_run(workload.events, workload.flush)

    def kill(worker: WorkerProcess) -> str:
        # After a first commit (states in the changelog), so the restart resumes mid-stream
        # from stored state rather than from scratch.
        changelog = worker.changelog("visitors")
        wait_until(lambda: sum(end_offsets(topics, changelog).values()) > 0, timeout=60,
                   what="a first commit")
        logged = sum(end_offsets(topics, topics.topic(DECISIONS_LOG)).values())
        worker.stop(signal.SIGKILL)
        assert logged < len(ref.decisions), "the worker had finished before it was killed"
        return f"kill -9 after a first commit, {logged} of {len(ref.decisions)} decisions logged"

    run = crash_and_restart(topics, workers, tmp_path / "data", workload, ref, kill)
    assert_nothing_lost(run, ref)


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _wal_bytes(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in data_dir.glob("tables/visitors/*/*.log"))


def test_kill_9_while_outputs_are_in_flight_loses_no_decision(
        private_kafka: LocalKafka, workers: StartWorker, tmp_path: Path) -> None:
    """The broker stops answering, the worker goes on a little, then dies: outputs in flight.

    The private broker is frozen (SIGSTOP) so that nothing the worker sends is acknowledged;
    the worker is killed once it has either written state for more events locally or gone
    quiet (waiting for acknowledgements), then the broker resumes and the worker restarts.
    Whatever the worker stored, every decision must come out after the restart.
    """
    settings = fresh_topics(private_kafka.settings)
    workload = build_workload(f"kf{uuid.uuid4().hex[:4]}")
    ref = reference_run(workload.events, workload.flush)
    broker_pid = private_kafka.managed_pid()
    assert broker_pid is not None

    data_dir = tmp_path / "data"

    def freeze_then_kill(worker: WorkerProcess) -> str:
        assert broker_pid is not None
        os.kill(broker_pid, signal.SIGSTOP)
        try:
            before = _wal_bytes(data_dir)
            ticks = [_cpu_ticks(worker.proc.pid)]

            def progressed_or_quiet() -> str | None:
                ticks.append(_cpu_ticks(worker.proc.pid))
                if _wal_bytes(data_dir) - before >= 20_000:
                    return "stored state"
                # Quiet: under 5 ticks (50 ms of CPU) in the last second (10 polls).
                return "quiet" if len(ticks) > 10 and ticks[-1] - ticks[-11] < 5 else None

            state = wait_until(progressed_or_quiet, timeout=60, what="local writes or quiet")
            grown = _wal_bytes(data_dir) - before
            worker.stop(signal.SIGKILL)
        finally:
            os.kill(broker_pid, signal.SIGCONT)
        return f"kill -9 behind a frozen broker ({state}, {grown} B of local state since)"

    run = crash_and_restart(settings, workers, data_dir, workload, ref, freeze_then_kill)
    assert_nothing_lost(run, ref)


def test_a_graceful_stop_commits_what_the_worker_applied(
        topics: Settings, workers: StartWorker, tmp_path: Path) -> None:
    """SIGTERM long before the next commit is due: the final commit stores the states."""
    workload = build_workload(f"gs{uuid.uuid4().hex[:4]}", visitors=20, steps=4)
    ref = reference_run(workload.events)
    worker = workers(topics, "graceful", data_dir=tmp_path / "data", commit_every=600.0)
    worker.wait_ready()
    send_events(topics, list(workload.events))
    log_topic = topics.topic(DECISIONS_LOG)
    wait_until(lambda: sum(end_offsets(topics, log_topic).values()) >= len(ref.decisions),
               timeout=120, what="every decision")
    assert not visitor_states(topics, worker), "committed before the stop: the test shows nothing"
    assert worker.stop(signal.SIGTERM) == 0, worker.tail()
    assert "final commit written" in worker.log_path.read_text(errors="replace")
    states = visitor_states(topics, worker)
    assert not session_mismatches(states, workload, ref)
