"""Run the web tier (delivery service + collector + storefront) as a child process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from pipeline.settings import Settings

__all__ = ["WebProcess", "free_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WebProcess:
    """``rtp delivery --with-collector`` under the settings' topic prefix."""

    def __init__(self, settings: Settings, log_path: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "ab")  # noqa: SIM115  # closed in stop()
        env = {**os.environ, "RTP_TOPIC_PREFIX": settings.topic_prefix,
               "RTP_KAFKA_BOOTSTRAP": settings.bootstrap, "RTP_LOG_FORMAT": "json"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "delivery", "--with-collector",
             "--http-port", str(self.port)],
            env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until ``/readyz`` answers 200 (caught up with the actions topic)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the web tier exited ({self.proc.returncode})")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)  # polling a child process for readiness
        raise TimeoutError(f"the web tier was not ready within {timeout} s")

    def stop(self, timeout: float = 20.0) -> int:
        """Graceful stop (SIGTERM), then kill."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self._log.close()
        return int(self.proc.returncode)
