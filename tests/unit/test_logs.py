"""Every log line goes through structlog: rtp's own, Faust/aiokafka's stdlib lines and
librdkafka's, JSON in production and readable on a terminal."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
import structlog

from pipeline.logs import configure_logging
from pipeline.settings import PROJECT_ROOT


@contextlib.contextmanager
def _stderr() -> Iterator[io.StringIO]:
    # In the test body: pytest swaps sys.stderr between a fixture's setup and the call.
    # Whatever logging was configured before is restored after: later tests (doctests
    # using structlog's capture_logs among them) must not see these tests' levels.
    err = io.StringIO()
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    kafka_level = logging.getLogger("librdkafka").level
    try:
        with contextlib.redirect_stderr(err):
            yield err
    finally:
        structlog.configure(**saved)
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        logging.getLogger("librdkafka").setLevel(kafka_level)


def _lines(err: io.StringIO) -> list[str]:
    return err.getvalue().splitlines()


def test_json_renders_structlog_and_stdlib_lines_alike() -> None:
    with _stderr() as captured:
        configure_logging("json", "info")
        structlog.get_logger("rtp.x").info("worker starting", group="g")
        logging.getLogger("faust.worker").info("Starting %s", "profiles")
        logging.getLogger("aiokafka.consumer.group_coordinator").debug("below the level")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("aiokafka").exception("fetch failed")
    lines = [json.loads(line) for line in _lines(captured)]
    assert [(r["event"], r["level"]) for r in lines] == [
        ("worker starting", "info"), ("Starting profiles", "info"), ("fetch failed", "error")]
    assert lines[0]["group"] == "g"
    assert lines[1]["logger"] == "faust.worker" and "timestamp" in lines[1]
    assert "RuntimeError: boom" in lines[2]["exception"]


def test_console_is_readable_not_json() -> None:
    with _stderr() as captured:
        configure_logging("console", "info")
        logging.getLogger("faust.worker").warning("slow agent")
    (line,) = _lines(captured)
    assert "slow agent" in line and "faust.worker" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_librdkafka_chatter_shows_at_debug_only() -> None:
    with _stderr() as captured:
        configure_logging("json", "info")
        kafka = logging.getLogger("librdkafka")
        kafka.info("BGQUEUE [rdkafka#producer-2] purging 1 unserved events")
        kafka.error("FAIL [rdkafka#consumer-1] connection refused")
        configure_logging("json", "debug")
        kafka.info("BGQUEUE [rdkafka#producer-3] purging")
    events = [json.loads(line)["event"] for line in _lines(captured)]
    assert events == ["FAIL [rdkafka#consumer-1] connection refused",
                      "BGQUEUE [rdkafka#producer-3] purging"]


def test_a_real_client_logs_through_structlog_never_raw_on_stderr() -> None:
    # librdkafka writes to file descriptor 2 itself unless a logger is configured: run a
    # client against a port nothing listens on in a child process and read its stderr.
    script = """
import time
from confluent_kafka import Consumer
from pipeline.kafka_log import kafka_config
from pipeline.logs import configure_logging
configure_logging("json", "info")
consumer = Consumer(kafka_config({"bootstrap.servers": "127.0.0.1:1", "group.id": "g",
                                  "reconnect.backoff.max.ms": 200}))
consumer.subscribe(["t"])
deadline = time.monotonic() + 3
while time.monotonic() < deadline:
    consumer.poll(0.2)
consumer.close()
"""
    err = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=60, env={"PYTHONPATH": str(PROJECT_ROOT)}).stderr
    lines = err.splitlines()
    records = [json.loads(line) for line in lines]  # every line is JSON (none raw: %3|...)
    kafka = [r for r in records if r.get("logger") == "librdkafka"]
    assert kafka, err
    assert all(r["level"] in {"warning", "error", "critical"} for r in kafka)
    assert any("127.0.0.1:1" in r["event"] for r in kafka)
