"""The local broker manager without starting Java: config, port checks, pid-file safety."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.broker import BrokerError, LocalKafka
from pipeline.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_port_in_use_by_someone_else_gives_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        broker = LocalKafka(Settings(kafka_port=port, kafka_controller_port=_free_port(),
                                     cache_dir=tmp_path), echo=lambda _: None)
        with pytest.raises(BrokerError, match=rf"port {port} .* already in use .*RTP_KAFKA_PORT"):
            broker.up(timeout=5)
    assert not broker.pid_file.exists()


def test_config_is_single_node_kraft_with_fast_rebalances(tmp_path: Path) -> None:
    broker = LocalKafka(Settings(kafka_port=19999, kafka_controller_port=19998,
                                 cache_dir=tmp_path), echo=lambda _: None)
    broker._write_config()
    props = dict(line.split("=", 1) for line in broker.config_file.read_text().splitlines())
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"].startswith("PLAINTEXT://127.0.0.1:19999")
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["offsets.topic.replication.factor"] == "1"
    assert str(tmp_path) in props["log.dirs"]
    assert str(broker.log_file) in broker.log_config.read_text()


def test_down_never_signals_a_process_the_pid_file_does_not_prove_is_ours(tmp_path: Path) -> None:
    broker = LocalKafka(Settings(cache_dir=tmp_path), echo=lambda _: None)
    broker.run_dir.mkdir(parents=True)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        # Right pid, wrong start time: a recycled pid must not be killed.
        broker.pid_file.write_text(f"{child.pid} 1\n")
        assert broker.managed_pid() is None
        assert broker.down() is False
        assert child.poll() is None
        assert not broker.pid_file.exists()
    finally:
        child.kill()
        child.wait()


def test_down_stops_the_recorded_process(tmp_path: Path) -> None:
    from pipeline.broker.local import _process_start_ticks

    broker = LocalKafka(Settings(cache_dir=tmp_path), echo=lambda _: None)
    broker.run_dir.mkdir(parents=True)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    broker.pid_file.write_text(f"{child.pid} {_process_start_ticks(child.pid)}\n")
    assert broker.managed_pid() == child.pid
    assert broker.down(timeout=10) is True
    # Stopped (it would sleep for a minute): gone from the process table. Its exit status
    # may already have been collected by down(), which reaps its own children: then
    # Popen.wait() reports 0 instead of -SIGTERM, so the status is not what is checked.
    assert _process_start_ticks(child.pid) is None
    child.wait(timeout=10)
    assert child.returncode in (-signal.SIGTERM, 0)
    assert not os.path.exists(broker.pid_file)


def test_missing_maven_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    broker = LocalKafka(Settings(cache_dir=tmp_path, kafka_version="0.0.0"), echo=lambda _: None)
    with pytest.raises(BrokerError, match="Maven"):
        broker.ensure_jars()
