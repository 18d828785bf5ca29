"""A real single-node Apache Kafka (KRaft, broker+controller) that the project starts itself.

The broker's jars are resolved from Maven Central with ``mvn`` (``deploy/kafka/pom.xml``)
into ``<cache>/kafka/<version>/libs``; each port gets its own run folder
(``<cache>/kafka/run-<port>``) with config, formatted storage, logs and a pid
file. ``down`` stops exactly the process recorded there (pid + its start time,
so a recycled pid is never signalled), never a process found by name.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from pipeline.settings import PROJECT_ROOT, Settings

__all__ = ["BrokerError", "BrokerStatus", "LocalKafka", "broker_reachable"]


class BrokerError(RuntimeError):
    """The local broker could not be fetched, started or stopped; the message says why."""


@dataclass(frozen=True)
class BrokerStatus:
    """What ``rtp kafka status`` reports."""

    bootstrap: str
    reachable: bool
    pid: int | None
    managed: bool
    log_file: Path

    def describe(self) -> str:
        """A line for humans.

        >>> BrokerStatus("127.0.0.1:9092", False, None, False, Path("/x.log")).describe()
        'Kafka at 127.0.0.1:9092: not reachable; not started by rtp'
        """
        state = "reachable" if self.reachable else "not reachable"
        owner = f"started by rtp (pid {self.pid})" if self.managed else "not started by rtp"
        return f"Kafka at {self.bootstrap}: {state}; {owner}"


def broker_reachable(bootstrap: str, timeout: float = 3.0) -> bool:
    """True when a Kafka metadata request to ``bootstrap`` succeeds within ``timeout``."""
    config: dict[str, Any] = {"bootstrap.servers": bootstrap,
                              "socket.timeout.ms": int(timeout * 1000),
                              "log_level": 0, "logger": _silent_logger()}
    admin = AdminClient(config)
    try:
        admin.list_topics(timeout=timeout)
    except KafkaException:
        return False
    return True


def _silent_logger() -> object:
    import logging

    logger = logging.getLogger("rtp.kafka.probe")
    logger.setLevel(logging.CRITICAL)
    return logger


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _process_start_ticks(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat: the start time that tells a recycled pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    if len(fields) <= 19 or fields[0] == "Z":  # a zombie has exited already
        return None
    return fields[19]


class LocalKafka:
    """Fetch, configure, start, probe and stop the project's local broker."""

    def __init__(self, settings: Settings, echo: Callable[[str], None] = print) -> None:
        self.settings = settings
        self.echo = echo
        root = settings.cache_dir / "kafka"
        self.libs = root / settings.kafka_version / "libs"
        self.run_dir = root / f"run-{settings.kafka_port}"
        self.data_dir = self.run_dir / "data"
        self.config_file = self.run_dir / "server.properties"
        self.log_config = self.run_dir / "log4j2.properties"
        self.log_file = self.run_dir / "broker.log"
        self.stdout_file = self.run_dir / "stdout.log"
        self.pid_file = self.run_dir / "kafka.pid"

    @property
    def bootstrap(self) -> str:
        """``host:port`` of the local broker's client listener."""
        return f"{self.settings.kafka_host}:{self.settings.kafka_port}"

    # -- jars -------------------------------------------------------------------------------

    def ensure_jars(self) -> Path:
        """Resolve the broker jars from Maven Central once; later calls reuse the cache."""
        marker = self.libs / f"kafka_2.13-{self.settings.kafka_version}.jar"
        if marker.exists():
            return self.libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError("Maven (mvn) is not on PATH: install Maven and Java 17 "
                              "to run the local broker, or set RTP_KAFKA_BOOTSTRAP")
        pom = PROJECT_ROOT / "deploy" / "kafka" / "pom.xml"
        self.echo(f"resolving Apache Kafka {self.settings.kafka_version} from Maven Central "
                  f"into {self.libs} ...")
        partial = self.libs.with_name("libs.partial")
        shutil.rmtree(partial, ignore_errors=True)
        cmd = [mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies",
               f"-Dkafka.version={self.settings.kafka_version}",
               f"-DoutputDirectory={partial}", "-DincludeScope=runtime"]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            raise BrokerError(f"mvn could not resolve org.apache.kafka:kafka_2.13:"
                              f"{self.settings.kafka_version}:\n{tail}")
        shutil.rmtree(self.libs, ignore_errors=True)
        partial.rename(self.libs)
        return self.libs

    # -- config -----------------------------------------------------------------------------

    def _write_config(self) -> None:
        s = self.settings
        self.run_dir.mkdir(parents=True, exist_ok=True)
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{s.kafka_host}:{s.kafka_controller_port}",
            "listeners": (f"PLAINTEXT://{s.kafka_host}:{s.kafka_port},"
                          f"CONTROLLER://{s.kafka_host}:{s.kafka_controller_port}"),
            "advertised.listeners": f"PLAINTEXT://{s.kafka_host}:{s.kafka_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": str(s.partitions),
            # Single node: every internal topic has one replica.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            # Fast tests: no wait for more members before the first rebalance.
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "true",
            "log.retention.check.interval.ms": "60000",
            "log.segment.bytes": str(64 * 1024 * 1024),
        }
        self.config_file.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        self.log_config.write_text(
            "rootLogger.level=INFO\n"
            "rootLogger.appenderRef.file.ref=FILE\n"
            "appender.file.type=File\n"
            "appender.file.name=FILE\n"
            f"appender.file.fileName={self.log_file}\n"
            "appender.file.layout.type=PatternLayout\n"
            "appender.file.layout.pattern=[%d] %p %m (%c)%n\n"
            "logger.kafka.name=kafka\nlogger.kafka.level=INFO\n"
            "logger.state.name=state.change.logger\nlogger.state.level=WARN\n"
        )

    def _java(self) -> str:
        java_home = os.environ.get("JAVA_HOME")
        java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
        if not java or not Path(java).exists():
            raise BrokerError("Java 17+ is needed to run the local broker (java not found)")
        return java

    def _java_cmd(self, main: str, *args: str, heap: str | None = None) -> list[str]:
        cmd = [self._java()]
        if heap:
            cmd += [f"-Xms{heap}", f"-Xmx{heap}"]
        cmd += ["-XX:+UseG1GC", "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.log_config}",
                "-cp", str(self.libs / "*"), main, *args]
        return cmd

    def _format_storage(self) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        result = subprocess.run(
            # "--cluster-id=ID": a base64 id may start with "-", which would read as a flag.
            self._java_cmd("kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                           "-c", str(self.config_file)),
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise BrokerError(f"formatting Kafka storage failed:\n{result.stdout}{result.stderr}")

    # -- process ----------------------------------------------------------------------------

    def managed_pid(self) -> int | None:
        """The pid this project started, if that very process is still alive."""
        try:
            pid_text, ticks = self.pid_file.read_text().split()
            pid = int(pid_text)
        except (OSError, ValueError):
            return None
        return pid if _process_start_ticks(pid) == ticks else None

    def status(self) -> BrokerStatus:
        """Whether the broker answers and whether rtp started it."""
        pid = self.managed_pid()
        return BrokerStatus(self.bootstrap, broker_reachable(self.bootstrap), pid,
                            pid is not None, self.log_file)

    def up(self, timeout: float = 90.0) -> BrokerStatus:
        """Start the broker (harmless if rtp already runs it) and wait until it answers."""
        pid = self.managed_pid()
        if pid is not None:
            self.echo(f"Kafka already running (pid {pid}) at {self.bootstrap}")
            self._await_ready(pid, timeout)
            return self.status()
        host, port = self.settings.kafka_host, self.settings.kafka_port
        for p, what in ((port, "client"), (self.settings.kafka_controller_port, "controller")):
            if _port_in_use(host, p):
                hint = (" A Kafka broker answers there: use it with "
                        f"RTP_KAFKA_BOOTSTRAP={host}:{p}," if what == "client"
                        and broker_reachable(f"{host}:{p}") else "")
                raise BrokerError(
                    f"port {p} on {host} ({what} listener) is already in use by a process rtp "
                    f"did not start.{hint} Stop that process or choose another port with "
                    f"RTP_KAFKA_PORT / RTP_KAFKA_CONTROLLER_PORT."
                )
        self.ensure_jars()
        self._write_config()
        self._format_storage()
        cmd = self._java_cmd("kafka.Kafka", str(self.config_file), heap=self.settings.kafka_heap)
        with open(self.stdout_file, "ab") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        ticks = _process_start_ticks(proc.pid)
        self.pid_file.write_text(f"{proc.pid} {ticks}\n")
        self.echo(f"started Kafka {self.settings.kafka_version} (pid {proc.pid}); "
                  f"logs in {self.log_file}")
        self._await_ready(proc.pid, timeout)
        self.echo(f"Kafka is ready at {self.bootstrap}")
        return self.status()

    def _await_ready(self, pid: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _process_start_ticks(pid) is None:
                raise BrokerError(f"the broker exited during start-up; last log lines:\n"
                                  f"{self._log_tail()}")
            if broker_reachable(self.bootstrap, timeout=2.0):
                return
            time.sleep(0.5)  # polling a child process's readiness; not in a test
        raise BrokerError(f"the broker did not answer within {timeout:.0f} s; "
                          f"last log lines:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 20) -> str:
        chunks = []
        for path in (self.stdout_file, self.log_file):
            if path.exists():
                chunks.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(chunks[-lines:]) or "(no log output)"

    def down(self, timeout: float = 30.0) -> bool:
        """Stop the broker rtp started; returns False when there was none."""
        pid = self.managed_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _process_start_ticks(pid) is not None:
            _reap(pid)
            time.sleep(0.2)  # waiting for a controlled shutdown of the JVM
        if _process_start_ticks(pid) is not None:
            os.kill(pid, signal.SIGKILL)
            _reap(pid)
        self.pid_file.unlink(missing_ok=True)
        return True

    def wipe(self) -> None:
        """Delete the run folder (data, config, logs) of a stopped broker."""
        if self.managed_pid() is not None:
            raise BrokerError("stop the broker before wiping its data (rtp kafka down)")
        shutil.rmtree(self.run_dir, ignore_errors=True)


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
