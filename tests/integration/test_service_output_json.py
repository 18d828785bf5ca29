"""With JSON logs (production), what a web service prints is JSON lines only, on stdout and
stderr alike: where it listens and that it stops are log events, not plain text a log
pipeline cannot parse. Run as an operator would: ``rtp collector`` / ``rtp console`` as
processes on the real broker, stopped with SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.settings import PROJECT_ROOT, Settings
from tests.e2e.webtier import free_port
from tests.integration.test_delivery_shutdown import wait_for


@pytest.mark.parametrize("command, started, stopped", [
    ("collector", "collector: http://127.0.0.1:{port}/v1/batch", "collector: stopping"),
    ("console", "console: http://127.0.0.1:{port}/console/", None),
])
def test_every_line_a_service_prints_is_json(topics: Settings, tmp_path: Path, command: str,
                                             started: str, stopped: str | None) -> None:
    port = free_port()
    env = {**os.environ, "RTP_TOPIC_PREFIX": topics.topic_prefix,
           "RTP_KAFKA_BOOTSTRAP": topics.bootstrap, "RTP_LOG_FORMAT": "json",
           "RTP_COLLECTOR_WRITE_KEYS": "k-json-lines", "RTP_CONSOLE_KEY": "k" * 12,
           "RTP_CACHE_DIR": str(tmp_path), "PYTHONPATH": str(PROJECT_ROOT)}
    out, err = (tmp_path / "out.log").open("wb"), (tmp_path / "err.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", command, "--http-port", str(port)],
        env=env, stdout=out, stderr=err)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", process)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        out.close()
        err.close()
    lines = [line for name in ("out.log", "err.log")
             for line in (tmp_path / name).read_text().splitlines() if line.strip()]
    plain = []
    events = []
    for line in lines:
        try:
            events.append(json.loads(line)["event"])
        except (ValueError, KeyError, TypeError):
            plain.append(line)
    assert plain == [], plain
    # Nothing lost: the lines a person needs are there, as log events.
    assert started.format(port=port) in " ".join(events), events
    if stopped is not None:
        assert stopped in events
