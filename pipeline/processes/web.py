"""Run the web tier (delivery service + collector + storefront) as a child process."""

from __future__ import annotations

import os
import secrets
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
    """``rtp delivery --with-collector`` under the settings' topic prefix: delivery and the
    storefront on :attr:`url`, the collector on :attr:`collector_url` (both free ports, so
    that runs side by side do not collide), with the write key :attr:`write_key`;
    ``consent_banner=False`` adds ``--no-consent-banner`` (the storefront then tracks a
    first-time visitor's first page without asking first)."""

    def __init__(self, settings: Settings, log_path: Path, port: int | None = None,
                 collector_port: int | None = None, write_key: str | None = None,
                 consent_banner: bool = True) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.collector_port = collector_port or free_port()
        self.collector_url = f"http://127.0.0.1:{self.collector_port}"
        #: What the storefront sends with its events, and what ``curl -u KEY:`` needs.
        # Hex: a urlsafe key may start with "-", which a command line reads as an option.
        self.write_key = write_key or f"wk-{secrets.token_hex(8)}"
        self._log = open(log_path, "ab")  # noqa: SIM115  # closed in stop()
        env = {**os.environ, "RTP_TOPIC_PREFIX": settings.topic_prefix,
               "RTP_KAFKA_BOOTSTRAP": settings.bootstrap, "RTP_LOG_FORMAT": "json"}
        if settings.visitor_token_keys:  # the caller mints visitor tokens too (rtp demo --story)
            env["RTP_VISITOR_TOKEN_KEYS"] = settings.visitor_token_keys
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "delivery", "--with-collector",
             "--http-port", str(self.port), "--collector-url", self.collector_url,
             f"--write-key={self.write_key}",
             *([] if consent_banner else ["--no-consent-banner"])],
            env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until delivery's ``/readyz`` (caught up with the actions topic) and the
        collector's answer 200."""
        deadline = time.monotonic() + timeout
        waiting = [f"{self.url}/readyz", f"{self.collector_url}/readyz"]
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the web tier exited ({self.proc.returncode})")
            try:
                with urllib.request.urlopen(waiting[0], timeout=2) as answer:
                    if answer.status == 200:
                        waiting.pop(0)
                        if not waiting:
                            return
                        continue
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)  # polling a child process for readiness
        raise TimeoutError(f"the web tier was not ready within {timeout} s")

    def describe(self) -> list[str]:
        """Where to point a browser or ``curl``: each line names a URL that answers.

        >>> class Fake(WebProcess):
        ...     def __init__(self) -> None:
        ...         self.url, self.collector_url = "http://h:1", "http://h:2"
        ...         self.write_key = "k"
        >>> print("\\n".join(Fake().describe()))
        storefront:   http://h:1/shop/
        delivery API: http://h:1/v1/decisions?visitor=<id>&token=<token>
        visitor ids:  http://h:2/v1/visitor  (POST, write key: a visitor id and its token)
        collector:    http://h:2/v1/batch  (Segment batch API; write key k, e.g. curl -u k: ...; \
each call names its visitor with the visitor's token as context.visitorToken)
        """
        return [f"storefront:   {self.url}/shop/",
                f"delivery API: {self.url}/v1/decisions?visitor=<id>&token=<token>",
                f"visitor ids:  {self.collector_url}/v1/visitor  (POST, write key: a visitor "
                f"id and its token)",
                f"collector:    {self.collector_url}/v1/batch  (Segment batch API; write key "
                f"{self.write_key}, e.g. curl -u {self.write_key}: ...; each call names its "
                "visitor with the visitor's token as context.visitorToken)"]

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
