"""``rtp demo --stay`` as a user runs it: the summary as soon as the run is done, URLs that
answer (the collector on its own port, with the write key printed), and SIGTERM stops the
worker and the web tier it started."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pipeline.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc for children")


def _children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{pid}$", text, re.M):
            found.append(int(status.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return not re.search(r"^State:\s+Z", state, re.M)


def _status(url: str, body: bytes | None = None, key: str | None = None) -> int:
    request = urllib.request.Request(url, data=body)
    if key is not None:
        request.add_header("Authorization",
                           "Basic " + base64.b64encode(f"{key}:".encode()).decode())
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _visitor(url: str, key: str) -> dict[str, str]:
    """A visitor id and its token from the collector, as the tracker gets them."""
    request = urllib.request.Request(url, data=json.dumps({"writeKey": key}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return dict(json.loads(answer.read()))


def test_demo_stay_prints_the_summary_then_stops_its_children_on_sigterm(
        kafka: Settings, tmp_path: Path) -> None:
    env = {**os.environ, "RTP_KAFKA_BOOTSTRAP": kafka.bootstrap, "RTP_CACHE_DIR": str(tmp_path),
           "PYTHONPATH": str(PROJECT_ROOT), "PYTHONUNBUFFERED": "1"}
    demo = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "demo", "--stay", "--seconds", "5",
         "--speed", "10"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    children: list[int] = []
    try:
        assert demo.stdout is not None
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.startswith("still serving"):
                break
        out = "\n".join(lines)
        assert lines and lines[-1].startswith("still serving"), out
        # The summary came before the wait, while everything still runs.
        assert "== rtp demo summary ==" in out and "events:" in out
        children += _children(demo.pid)
        assert len(children) >= 2 and all(_alive(p) for p in children)  # worker + web tier

        store = re.search(r"^storefront:\s+(\S+)$", out, re.M)
        api = re.search(r"^delivery API:\s+(\S+)\?visitor=<id>&token=<token>$", out, re.M)
        ids = re.search(r"^visitor ids:\s+(\S+/v1/visitor)\s", out, re.M)
        collector = re.search(r"^collector:\s+(\S+/v1/batch)\s+\(.*write key (\S+),", out, re.M)
        assert store and api and ids and collector, out
        assert _status(store.group(1)) == 200
        assert _status(api.group(1) + "?visitor=demo-stay-test") == 401  # no token
        issued = _visitor(ids.group(1), collector.group(2))
        assert _status(f"{api.group(1)}?visitor={issued['visitor']}&token={issued['token']}") \
            == 200
        call = {"type": "page", "anonymousId": "demo-stay-test", "messageId": "stay-1",
                "properties": {"url": "https://shop.example/"}}
        url, key = collector.group(1), collector.group(2)
        # a browser's write key names a visitor only with that visitor's token
        assert _status(url, json.dumps({"batch": [call]}).encode(), key) == 401
        batch = json.dumps({"batch": [{**call, "anonymousId": issued["visitor"],
                                       "context": {"visitorToken": issued["token"]}}]})
        assert _status(url, batch.encode(), key) == 200
        assert _status(url, batch.encode(), key + "-wrong") == 401

        demo.send_signal(signal.SIGTERM)
        assert demo.wait(60) == 0
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.2)  # the children were stopped before the demo exited
        assert not [p for p in children if _alive(p)]
        rest = demo.stdout.read() + (demo.stderr.read() if demo.stderr else "")
        # librdkafka's own log lines (%<level>|<time>|<facility>|...) never reach the output
        assert not re.search(r"^%\d\|", out + "\n" + rest, re.M), rest
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(30)
        # A failed run must not leave them behind (orphans are no longer the demo's children).
        for pid in {*children, *_children(demo.pid)}:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
