"""``rtp config publish`` on a real broker: a running worker switches to the published
config without a restart; decisions before the switch carry the startup config (version 0,
its control share and arms, the built-in catalog), decisions after it the published
version's (its experiment and its inline action catalog)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from pipeline.client import EventProducer
from pipeline.config import load_config
from pipeline.config.catalog import builtin_catalog
from pipeline.decide import assign_arm
from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.topics import DECISIONS_LOG, apply_topics, topic_specs
from tests.integration.scenarios import home_visit
from tests.integration.topic_watch import TopicWatch
from tests.integration.worker_process import WorkerProcess


def _publish(settings: Settings, path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RTP_TOPIC_PREFIX": settings.topic_prefix,
           "RTP_KAFKA_BOOTSTRAP": settings.bootstrap}
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "config", "publish", str(path)],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)


def _send(settings: Settings, visitors: list[str]) -> None:
    start = int(time.time() * 1000) - 60_000
    with EventProducer(settings) as producer:
        for v in visitors:
            for event in home_visit(v, start):
                producer.send_event(event)


def _decided(log: TopicWatch, visitors: list[str]) -> dict[str, tuple[str, float, int]]:
    """(arm, control share, config version) of each visitor's decision, once all are in."""
    return {r["decision"]["visitor_id"]: (r["decision"]["experiment_arm"], r["control_share"],
                                          r["config_version"])
            for r in _records(log, visitors)}


def _records(log: TopicWatch, visitors: list[str]) -> list[Any]:
    """The decision logs of ``visitors``, once each has one."""
    wanted = set(visitors)
    records: list[Any] = log.wait_for(
        lambda rs: {r["decision"]["visitor_id"] for r in rs} >= wanted,
        what=f"a decision for each of {len(visitors)} visitors")
    return [r for r in records if r["decision"]["visitor_id"] in wanted]


def _catalogs(records: list[Any]) -> tuple[set[str], set[str], set[str]]:
    """The catalog versions decided with, the actions eligible and the actions decided."""
    return ({r["decision"]["policy_version"] for r in records},
            {e["action_id"] for r in records for e in r["eligible"]},
            {r["decision"]["action_id"] for r in records})


#: The published catalog: one action, eligible on every page (and the do-nothing arm).
LIVE_CATALOG = """\
catalog:
  version: 5
  actions:
    - id: no_action
      slot: none
    - id: live_banner
      slot: hero
      ttl_seconds: 60
      payload: {headline: "Published live"}
"""


def _in_use(worker: WorkerProcess, version: int) -> bool:
    return any(r.get("event") == "config version in use" and r.get("version") == version
               for r in worker.log_records())


def test_a_published_config_switches_a_running_worker(kafka: Settings, tmp_path: Path) -> None:
    settings = dataclasses.replace(kafka, topic_prefix=f"cfgpub-{uuid.uuid4().hex[:8]}.")
    apply_topics(settings.bootstrap, topic_specs(settings.partitions, 1, settings.topic_prefix))
    salt = f"live-{uuid.uuid4().hex[:6]}"
    before = [f"before-{i}" for i in range(12)]
    after = [f"after-{i}" for i in range(12)]
    # The new experiment moves some of the second group's visitors to the other arm.
    assert any(assign_arm(v, 0.5, salt) != assign_arm(v) for v in after)
    worker = WorkerProcess(settings, tmp_path / "data", tmp_path / "worker.log",
                           control_share=None, profiles=False, learner=False)
    log = TopicWatch(settings, settings.topic(DECISIONS_LOG))
    try:
        worker.wait_ready()
        _send(settings, before)
        first_records = _records(log, before)
        first = _decided(log, before)

        config = tmp_path / "rtp.yaml"
        config.write_text(f"objective: conversion\nexperiments:\n  salt: {salt}\n"
                          "  control_share: 0.5\n" + LIVE_CATALOG)
        published = _publish(settings, config)
        assert published.returncode == 0, published.stderr
        version = int(published.stdout.split("published config version ")[1].split()[0])
        assert version >= 1
        deadline = time.monotonic() + 60
        while not _in_use(worker, version):  # every partition of the worker moved
            assert time.monotonic() < deadline, worker.tail()
            time.sleep(0.2)  # polling the log of another process
        _send(settings, after)
        second_records = _records(log, after)
        second = _decided(log, after)
    finally:
        log.close()
        worker.stop()
    assert first == {v: (assign_arm(v), 0.1, 0) for v in before}
    assert second == {v: (assign_arm(v, 0.5, salt), 0.5, version) for v in after}
    # The catalog switched with the rest: before, the built-in one (and actions of it other
    # than the published one's); after, only the published catalog's actions, its version.
    builtin = builtin_catalog().catalog
    live = load_config(config, env={}).catalog.catalog
    used, eligible, decided = _catalogs(first_records)
    assert used == {f"catalog-v{builtin.version}-{builtin.fingerprint[:12]}"}
    assert "live_banner" not in eligible | decided and eligible - {"no_action"}
    used, eligible, decided = _catalogs(second_records)
    assert used == {f"catalog-v5-{live.fingerprint[:12]}"}
    assert eligible == {"no_action", "live_banner"}
    assert decided <= {"no_action", "live_banner"}


def test_publish_refuses_an_invalid_file_and_a_consent_mode_change(
        kafka: Settings, tmp_path: Path) -> None:
    settings = dataclasses.replace(kafka, topic_prefix=f"cfgpub-{uuid.uuid4().hex[:8]}.")
    bad = tmp_path / "bad.yaml"
    bad.write_text("experiments:\n  control_share: 1.5\n")
    refused = _publish(settings, bad)
    assert (refused.returncode, refused.stdout) == (2, "")
    assert "line 2: field experiments.control_share: must be within [0, 1)" in refused.stderr
    good = tmp_path / "good.yaml"
    good.write_text("consent:\n  mode: opt-out\n")
    assert _publish(settings, good).stdout.startswith("published config version 1 ")
    opt_in = tmp_path / "opt-in.yaml"
    opt_in.write_text("consent:\n  mode: opt-in\n")
    refused = _publish(settings, opt_in)
    assert (refused.returncode, refused.stdout) == (2, "")
    assert "consent.mode: cannot change live" in refused.stderr
    assert _publish(settings, good).stdout.startswith("published config version 2 ")
