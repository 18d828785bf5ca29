"""``make help`` prints what the targets do, with the port in effect (no shell syntax)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from pipeline.settings import PROJECT_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _help(**env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k != "RTP_KAFKA_PORT"}
    out = subprocess.run(["make", "-s", "-C", str(PROJECT_ROOT), "help"], env={**clean, **env},
                         capture_output=True, text=True, check=True, timeout=30).stdout
    return out.splitlines()


def test_help_prints_the_default_port_and_no_shell_syntax() -> None:
    lines = _help()
    kafka_up = next(line for line in lines if line.split()[:2] == ["make", "kafka-up"])
    assert kafka_up.endswith("on 127.0.0.1:9092")
    assert not [line for line in lines if "$" in line or "{" in line]
    assert {"help", "setup", "test", "lint", "bench", "demo"} <= {
        line.split()[1] for line in lines}


def test_help_prints_the_port_rtp_kafka_port_sets() -> None:
    kafka_up = next(line for line in _help(RTP_KAFKA_PORT="19092") if "kafka-up" in line)
    assert kafka_up.endswith("on 127.0.0.1:19092")
