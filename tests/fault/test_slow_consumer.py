"""A stalled and a killed consumer of personalization.actions do not slow the topology.

The same worker runs two equal workloads: a baseline, then one while a consumer in its
own group has stopped polling and another was killed (SIGKILL) mid-read. Both must be
caught up within the same bounded wait; both durations are printed (the ratio is
reported, never asserted as a timing threshold).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

from pipeline.client import action_consumer
from pipeline.processes import WorkerProcess, wait_caught_up
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, DECISIONS_LOG, EVENTS
from tests.fault.checks import check_decisions
from tests.fault.conftest import StartWorker
from tests.fault.kafka_state import committed_behind, end_offsets, send_events, wait_until
from tests.fault.workload import build_workload, reference_run

#: One bounded wait for both phases, seconds.
CATCH_UP = 120.0

_READER = """
import dataclasses
import sys
from pipeline.client import action_consumer
from pipeline.settings import Settings
settings = dataclasses.replace(Settings.from_env(), topic_prefix=sys.argv[1])
consumer = action_consumer(settings, sys.argv[2])
while True:
    if consumer.poll(100, 1.0):
        print("reading", flush=True)
"""


def _phase(settings: Settings, worker: WorkerProcess, run: str) -> tuple[float, int]:
    """Send a workload, wait until every decision is logged and offsets are committed."""
    workload = build_workload(run, visitors=100)
    ref = reference_run(workload.events)
    log_topic = settings.topic(DECISIONS_LOG)
    already = sum(end_offsets(settings, log_topic).values())
    started = time.monotonic()
    send_events(settings, list(workload.events))
    wait_until(lambda: sum(end_offsets(settings, log_topic).values()) - already
               >= len(ref.decisions), timeout=CATCH_UP, what=f"{run}: every decision logged")
    took = time.monotonic() - started
    wait_caught_up(worker, [settings.topic(EVENTS)], timeout=CATCH_UP)
    check, _ = check_decisions(settings, ref, workload)
    assert not check.missing and not check.extra and not check.conflicting, run
    return took, len(workload.events)


def test_stalled_and_killed_action_consumers_do_not_slow_the_topology(
        topics: Settings, workers: StartWorker) -> None:
    worker = workers(topics, "w")
    worker.wait_ready()
    run = uuid.uuid4().hex[:4]
    baseline, n = _phase(topics, worker, f"sa{run}")

    stalled_group = f"{topics.topic_prefix}stalled-delivery"
    stalled = action_consumer(topics, stalled_group)
    wait_until(lambda: stalled.poll(1, 0.5), timeout=30, what="the stalled consumer's first read")
    env_prefix = topics.topic_prefix
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, env_prefix, f"{env_prefix}crashing-delivery"],
        stdout=subprocess.PIPE, env={**os.environ, "RTP_KAFKA_BOOTSTRAP": topics.bootstrap})
    try:
        assert reader.stdout is not None
        assert reader.stdout.readline().strip() == b"reading"
        reader.send_signal(signal.SIGKILL)
        assert reader.wait(30) == -signal.SIGKILL
        # The stalled consumer never polls again while the second phase runs.
        with_stall, m = _phase(topics, worker, f"sb{run}")
        actions_topic = topics.topic(ACTIONS)
        stalled_behind = committed_behind(topics, stalled_group, actions_topic)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait(10)
        stalled.close()

    print(f"\nslow consumer: baseline {n} events in {baseline:.2f} s; with a stalled and a "
          f"killed actions consumer {m} events in {with_stall:.2f} s "
          f"(ratio {with_stall / baseline:.2f}); the stalled consumer is {stalled_behind} "
          f"actions behind")
    assert worker.proc.poll() is None, worker.tail()
    assert stalled_behind > 0  # it really stalled while the topology went on

