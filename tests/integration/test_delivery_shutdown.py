"""``rtp delivery --with-collector`` as a process: serves, then stops cleanly on SIGTERM.

The command runs through its own module's parser (``pipeline.commands.delivery``),
exactly what ``rtp delivery`` runs once registered on the CLI.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from pipeline.serde import Codec
from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.topics import EVENTS
from pipeline.web.visitor_token import VisitorTokens
from tests.integration.kafka_reader import read_topic

#: The web tier's visitor token key (the test mints the stream's token with it).
TOKEN_KEY = "shutdown-token-key-0123456789"

RUN_COMMAND = """
import argparse, sys
from pipeline.commands import delivery
from pipeline.settings import Settings
parser = argparse.ArgumentParser()
delivery.register(parser.add_subparsers(dest="command"), lambda p: None)
args = parser.parse_args(sys.argv[1:])
sys.exit(args.handler(args, Settings.from_env()))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the service exited"
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)  # polling another process's readiness
    raise AssertionError(f"{url} not ready within {timeout} s")


def test_sigterm_ends_streams_flushes_events_and_exits_zero(topics: Settings,
                                                            tmp_path: Path) -> None:
    dport, cport = free_port(), free_port()
    env = {**os.environ, "RTP_TOPIC_PREFIX": topics.topic_prefix,
           "RTP_KAFKA_BOOTSTRAP": topics.bootstrap, "RTP_DELIVERY_WRITE_KEY": "k-shutdown",
           "RTP_VISITOR_TOKEN_KEYS": TOKEN_KEY,
           "PYTHONPATH": str(PROJECT_ROOT)}
    log = (tmp_path / "service.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_COMMAND, "delivery", "--with-collector", "--http-port",
         str(dport), "--collector-url", f"http://127.0.0.1:{cport}"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{dport}/readyz", process)
        wait_for(f"http://127.0.0.1:{cport}/healthz", process)
        config = urllib.request.urlopen(f"http://127.0.0.1:{dport}/shop/config.js").read()
        assert b'"writeKey": "k-shutdown"' in config
        token = VisitorTokens((TOKEN_KEY,)).issue("v-sd")
        stream = urllib.request.urlopen(
            f"http://127.0.0.1:{dport}/v1/stream?visitor=v-sd&token={token}", timeout=30)
        assert stream.readline().startswith(b"retry:")
        event = {"type": "page", "anonymousId": "v-sd", "messageId": "sd-1",
                 "properties": {"url": "https://shop.example/"},
                 "context": {"visitorToken": token}}  # the collector requires it too
        request = urllib.request.Request(
            f"http://127.0.0.1:{cport}/v1/page", data=json.dumps(event).encode(),
            headers={"Authorization": "Basic " + base64.b64encode(b"k-shutdown:").decode()})
        assert urllib.request.urlopen(request).status == 200

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        rest = stream.read()  # the open stream was ended by the server, not cut
        assert rest.endswith(b"\n\n")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        log.close()
    (message,) = read_topic(topics, topics.topic(EVENTS), 1, timeout=30)
    assert Codec.default().decode(message.value())[1]["event_id"] == "sd-1"
    output = (tmp_path / "service.log").read_text()
    assert "storefront: http://127.0.0.1" in output and "web tier: stopping" in output
