"""Restart the broker mid-stream (a private one): the worker reconnects and finishes."""

from __future__ import annotations

import time
import uuid

from pipeline.broker import LocalKafka
from pipeline.processes import wait_caught_up
from pipeline.topics import DECISIONS_LOG, EVENTS
from tests.fault.checks import (
    assert_learning_exact,
    check_decisions,
    check_learning,
    flush_and_wait,
    session_mismatches,
    visitor_states,
)
from tests.fault.conftest import StartWorker, coordinator_ready, fresh_topics
from tests.fault.kafka_state import end_offsets, send_events, wait_until
from tests.fault.workload import build_workload, reference_run


def test_worker_survives_a_broker_restart_mid_stream_and_loses_nothing(
        private_kafka: LocalKafka, workers: StartWorker) -> None:
    settings = fresh_topics(private_kafka.settings)
    workload = build_workload(f"br{uuid.uuid4().hex[:4]}", visitors=120)
    ref = reference_run(workload.events, workload.flush)
    log_topic = settings.topic(DECISIONS_LOG)

    worker = workers(settings, "w")
    worker.wait_ready()
    send_events(settings, list(workload.events))
    wait_until(lambda: sum(end_offsets(settings, log_topic).values()) >= len(ref.decisions) // 3,
               timeout=120, what="a third of the decisions")
    assert private_kafka.down()
    down_at = time.monotonic()
    assert worker.proc.poll() is None, worker.tail()
    private_kafka.up()  # same run folder: same data, same cluster id
    wait_until(lambda: coordinator_ready(settings), timeout=60, what="the coordinator back")
    outage = time.monotonic() - down_at

    wait_caught_up(worker, [settings.topic(EVENTS)], timeout=90)
    finished = time.monotonic() - down_at
    flush_and_wait(settings, workload, ref, worker)

    mismatches = session_mismatches(visitor_states(settings, worker), workload, ref)
    check, _ = check_decisions(settings, ref, workload)
    learning = check_learning(settings, ref, workload)
    print(f"\nbroker restart: down for {outage:.1f} s, worker caught up {finished:.1f} s after "
          f"the broker went down; {check.logged} decisions for {check.triggers} triggers "
          f"({check.redelivered} re-emitted with the same id); learning: "
          f"{learning.unique} ids, {len(learning.lost)} lost")
    assert worker.proc.poll() is None, worker.tail()
    assert not mismatches, mismatches[:5]
    assert not check.missing, f"{len(check.missing)} decisions lost: {check.missing[:5]}"
    assert not check.extra and not check.conflicting and check.ids_match
    assert not check.two_contents
    assert_learning_exact(learning)
