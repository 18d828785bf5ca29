"""``rtp worker --config FILE`` on a real broker: the file's experiment applies at start;
a file that does not validate stops the worker with the field and line."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
import uuid
from pathlib import Path

from pipeline.client import EventProducer
from pipeline.decide import assign_arm
from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.topics import DECISIONS_LOG, apply_topics, topic_specs
from tests.integration.scenarios import home_visit
from tests.integration.topic_watch import TopicWatch
from tests.integration.worker_process import WorkerProcess


def test_the_config_files_experiment_decides_the_arms(kafka: Settings, tmp_path: Path) -> None:
    settings = dataclasses.replace(kafka, topic_prefix=f"cfg-{uuid.uuid4().hex[:8]}.")
    apply_topics(settings.bootstrap, topic_specs(settings.partitions, 1, settings.topic_prefix))
    salt = f"it-{uuid.uuid4().hex[:6]}"
    config = tmp_path / "rtp.yaml"
    config.write_text(f"objective: conversion\nexperiments:\n  salt: {salt}\n"
                      "  control_share: 0.5\n")
    visitors = [f"cfg-{i}" for i in range(16)]
    # Visitors whose arm the file changes (against the built-in salt and 10% control).
    moved = [v for v in visitors if assign_arm(v, 0.5, salt) != assign_arm(v)]
    assert moved
    worker = WorkerProcess(settings, tmp_path / "data", tmp_path / "worker.log",
                           control_share=None, profiles=False, config=config)
    try:
        worker.wait_ready()
        start = int(time.time() * 1000) - 60_000
        with EventProducer(settings) as producer:
            for v in visitors:
                for event in home_visit(v, start):
                    producer.send_event(event)
        log = TopicWatch(settings, settings.topic(DECISIONS_LOG))
        records = log.wait_for(lambda rs: {r["decision"]["visitor_id"] for r in rs}
                               >= set(visitors), what="a decision for every visitor")
        log.close()
    finally:
        worker.stop()
    arms = {r["decision"]["visitor_id"]: r["decision"]["experiment_arm"] for r in records}
    assert arms == {v: assign_arm(v, 0.5, salt) for v in visitors}
    assert set(arms.values()) == {"control", "personalized"}


def test_a_config_that_does_not_validate_stops_the_worker_naming_field_and_line(
        kafka: Settings, tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("objective: conversion\nexperiments:\n  control_share: 1.5\n")
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "--bootstrap", kafka.bootstrap, "worker",
         "--config", str(config), "--data-dir", str(tmp_path / "data"), "--no-profiles"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert (f"{config}: line 3: field experiments.control_share: must be within [0, 1) "
            "(got 1.5)") in done.stderr
