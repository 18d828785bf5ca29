"""``rtp worker`` refuses to start on inputs that are not co-partitioned."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipeline.settings import Settings
from pipeline.topics.admin import apply_topics
from pipeline.topics.definitions import TopicSpec


def test_a_profile_view_topic_with_other_partitions_is_refused(topics: Settings,
                                                               tmp_path: Path) -> None:
    views = TopicSpec(topics.topic("rtp.internal.visitor-profiles"), topics.partitions + 1,
                      1, "visitor id", "", {"cleanup.policy": "delete"})
    apply_topics(topics.bootstrap, [views])
    env = {"RTP_TOPIC_PREFIX": topics.topic_prefix, "RTP_KAFKA_BOOTSTRAP": topics.bootstrap,
           "RTP_PARTITIONS": str(topics.partitions), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "worker", "--no-profiles",
                           "--data-dir", str(tmp_path / "data")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "must have one partition count" in done.stderr
    assert f"'{views.name}': {topics.partitions + 1}" in done.stderr


def test_a_worker_on_a_new_prefix_creates_the_topics_it_needs(kafka: Settings,
                                                             tmp_path: Path) -> None:
    import dataclasses
    import uuid

    from pipeline.processes import WorkerProcess
    from pipeline.topics import EVENTS
    from pipeline.topics.admin import describe_topics

    fresh = dataclasses.replace(kafka, topic_prefix=f"new-{uuid.uuid4().hex[:8]}.")
    worker = WorkerProcess(fresh, tmp_path / "data", tmp_path / "worker.log")
    try:
        worker.wait_ready()
        counts = describe_topics(fresh.bootstrap)
        assert counts[fresh.topic(EVENTS)] == fresh.partitions
        assert counts[worker.changelog("visitors")] == fresh.partitions
    finally:
        worker.stop()
