"""Delete the worker's RocksDB folder and restart: the tables come back from their changelogs."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from pipeline.processes import wait_caught_up
from pipeline.settings import Settings
from pipeline.topics import EVENTS
from tests.fault.checks import (
    assert_learning_exact,
    check_decisions,
    check_learning,
    flush_and_wait,
    session_mismatches,
    visitor_states,
)
from tests.fault.conftest import StartWorker, recovered
from tests.fault.kafka_state import send_events, wait_until
from tests.fault.workload import build_workload, reference_run, session_summary


def test_deleted_rocksdb_is_rebuilt_from_changelogs_and_sessions_continue(
        topics: Settings, workers: StartWorker, tmp_path: Path) -> None:
    workload = build_workload(f"rb{uuid.uuid4().hex[:4]}", visitors=100)
    half = len(workload.events) // 2  # round-robin: a prefix of every visitor's journey
    first_half, second_half = list(workload.events[:half]), list(workload.events[half:])
    ref_half = reference_run(first_half)
    ref = reference_run(workload.events, workload.flush)
    events_topic = topics.topic(EVENTS)

    data_dir = tmp_path / "data"
    first = workers(topics, "first", data_dir=data_dir)
    first.wait_ready()
    send_events(topics, first_half)
    wait_caught_up(first, [events_topic], timeout=120)
    before = visitor_states(topics, first)
    assert not session_mismatches(before, workload, ref_half)
    assert first.stop() == 0  # graceful: offsets committed, changelogs flushed

    tables = data_dir / "tables" / "visitors"  # one RocksDB per partition
    assert any(tables.glob("*/CURRENT")), "no RocksDB folder to delete"
    shutil.rmtree(data_dir)

    second = workers(topics, "second", data_dir=data_dir)
    second.wait_ready()
    wait_until(lambda: recovered(second), timeout=60, what="tables restored from changelogs")
    assert any(tables.glob("*/CURRENT")), "the tables were not recreated on disk"
    # The worker's behaviour shows what it recovered: each visitor's next events continue
    # the same session (same id, counts going on from where they were).
    send_events(topics, second_half)
    wait_caught_up(second, [events_topic], timeout=120)
    flush_and_wait(topics, workload, ref, second)

    after = visitor_states(topics, second)
    assert not session_mismatches(after, workload, ref)
    continued = 0
    for visitor in workload.visitors:
        old, new = before[visitor], after[visitor]
        assert old is not None and new is not None
        (old_id, old_events, old_views), (new_id, new_events, new_views) = (
            session_summary(old), session_summary(new))
        assert new_id == old_id, visitor
        assert new_events > old_events and new_views >= old_views, visitor
        continued += 1
    check, _ = check_decisions(topics, ref, workload)
    learning = check_learning(topics, ref, workload)
    print(f"\nrebuilt from changelogs: {continued} sessions continued; {check.logged} decisions "
          f"for {check.triggers} triggers; learning: {learning.unique} ids, "
          f"{len(learning.lost)} lost (pending rewards are in the restored states)")
    assert second.proc.poll() is None, second.tail()
    assert not check.missing and not check.extra and not check.conflicting
    assert not check.two_contents
    assert_learning_exact(learning)
