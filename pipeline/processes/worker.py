"""Run a personalization worker (``rtp worker``) as a child process, wait until it is ready.

Used by ``rtp demo`` and by the integration, fault and benchmark suites.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from confluent_kafka import ConsumerGroupState, KafkaException
from confluent_kafka.admin import AdminClient

from pipeline.kafka_log import kafka_config
from pipeline.settings import Settings

if TYPE_CHECKING:
    from pipeline.decide.story import StoryOverride

__all__ = ["APP_ID", "WorkerProcess", "wait_caught_up"]

APP_ID = "rtp-personalize"
#: The profile side's tables (topologies.profiles).
PROFILE_TABLES = ("profiles", "claims", "device_claims", "claims_erased")


class WorkerProcess:
    """``rtp worker`` under the settings' topic prefix, with its own RocksDB folder."""

    def __init__(self, settings: Settings, data_dir: Path, log_path: Path,
                 app_id: str = APP_ID, commit_every: float = 0.5,
                 sweep_every: float = 60.0, control_share: float | None = 0.10,
                 profiles: bool = True, learner: bool = True,
                 config: Path | None = None, story: StoryOverride | None = None,
                 background_commits: bool = True, python_gc: bool = False,
                 timers_idle_after: float | None = None) -> None:
        self.settings = settings
        #: Whether the worker runs its profile side beside itself (``--no-profiles`` if not).
        self.profiles = profiles
        self.group = f"{settings.topic_prefix}{app_id}"
        self.log_path = log_path
        env = {**os.environ, "RTP_TOPIC_PREFIX": settings.topic_prefix,
               "RTP_KAFKA_BOOTSTRAP": settings.bootstrap, "RTP_LOG_FORMAT": "json",
               "RTP_PARTITIONS": str(settings.partitions)}
        self._log = open(log_path, "ab")  # noqa: SIM115  # closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "worker", "--app-id", app_id,
             "--data-dir", str(data_dir), "--commit-every", str(commit_every),
             "--sweep-every", str(sweep_every),
             *([] if control_share is None else ["--control-share", str(control_share)]),
             *([] if config is None else ["--config", str(config)]),
             # test only: scripted story visitors (rtp demo --story, the story tests)
             *([] if story is None else [f"--story-override={story.flag()}"]),
             *([] if profiles else ["--no-profiles"]), *(["--learner"] if learner else []),
             *([] if background_commits else ["--wait-on-commits"]),
             *(["--python-gc"] if python_gc else []),
             *([] if timers_idle_after is None
               else ["--timers-idle-after", str(timers_idle_after)])],
            env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def changelog(self, table: str) -> str:
        """The changelog topic of ``table`` (``profiles``, ``claims``, ``device_claims`` and
        ``claims_erased`` are the profile side's, a Faust app)."""
        owner = f"{self.group}-profiles" if table in PROFILE_TABLES else self.group
        return f"{owner}-{table}-changelog"

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Until the worker's consumer group (and its profile side's, when it runs one) is
        stable with partitions assigned."""
        admin = AdminClient(kafka_config({"bootstrap.servers": self.settings.bootstrap}))
        deadline = time.monotonic() + timeout
        waiting = [self.group, *([f"{self.group}-profiles"] if self.profiles else [])]
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited ({self.proc.returncode}): {self.tail()}")
            try:
                description = admin.describe_consumer_groups(waiting[:1])[waiting[0]].result(10)
            except (KafkaException, TimeoutError):
                # NOT_COORDINATOR, or no answer in 10 s, while a fresh broker loads its
                # offsets topic: ask again until the deadline.
                description = None
            if description is not None and description.state == ConsumerGroupState.STABLE and any(
                    m.assignment.topic_partitions for m in description.members):
                waiting.pop(0)
                if not waiting:
                    return
                continue
            time.sleep(0.2)  # polling a child process for readiness
        raise TimeoutError(f"worker not ready within {timeout} s: {self.tail()}")

    def log_records(self) -> list[dict[str, Any]]:
        """The worker's JSON log lines, parsed (other lines are skipped)."""
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out

    def tail(self, lines: int = 30) -> str:
        """The end of the worker's log."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Stop the worker (SIGTERM: graceful; SIGKILL: a crash)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self._log.close()
        return int(self.proc.returncode)


def wait_caught_up(worker: WorkerProcess, topics: list[str], timeout: float = 60.0) -> None:
    """Until the worker's group has committed every message currently in ``topics``."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(kafka_config({"bootstrap.servers": worker.settings.bootstrap,
                                      "group.id": worker.group, "enable.auto.commit": False}))
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            behind = 0
            for topic in topics:
                meta = consumer.list_topics(topic, timeout=10).topics[topic]
                parts = [TopicPartition(topic, p) for p in meta.partitions]
                committed = consumer.committed(parts, timeout=10)
                for tp in committed:
                    _, high = consumer.get_watermark_offsets(tp, timeout=10)
                    behind += max(0, high - max(tp.offset, 0))
            if behind == 0:
                return
            time.sleep(0.2)  # polling committed offsets of another process
        raise TimeoutError(f"worker still behind on {topics} after {timeout} s")
    finally:
        consumer.close()
