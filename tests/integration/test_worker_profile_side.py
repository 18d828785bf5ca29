"""The profile side beside a worker: it ends with the worker, and the worker with it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from pipeline.processes import WorkerProcess
from pipeline.settings import Settings


def _children(pid: int) -> list[int]:
    """The worker's profile side: its child running ``rtp profiles`` (the learner beside
    it is another child)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()
            if b"\x00profiles\x00" in Path(f"/proc/{p}/cmdline").read_bytes()]


def test_a_worker_whose_profile_side_dies_stops_with_exit_1(topics: Settings,
                                                             tmp_path: Path) -> None:
    worker = WorkerProcess(topics, tmp_path / "data", tmp_path / "worker.log")
    try:
        worker.wait_ready()
        children = _children(worker.proc.pid)
        assert len(children) == 1, children  # the profile side
        os.kill(children[0], signal.SIGKILL)
        assert worker.proc.wait(60) == 1, worker.tail()
        assert "the profile side exited (-9); stopping" in worker.log_path.read_text()
        assert "final commit written" in worker.log_path.read_text()
    finally:
        worker.stop()


def test_the_profile_side_ends_with_a_killed_worker(topics: Settings, tmp_path: Path) -> None:
    worker = WorkerProcess(topics, tmp_path / "data", tmp_path / "worker.log")
    worker.wait_ready()
    child = _children(worker.proc.pid)[0]
    assert worker.stop(signal.SIGKILL) == -signal.SIGKILL
    deadline = time.monotonic() + 60
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)  # waiting for another process to exit (PR_SET_PDEATHSIG)
    status = Path(f"/proc/{child}/status")
    assert not status.exists() or "zombie" in status.read_text(), "profile side still running"
