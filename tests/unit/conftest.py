"""Unit tests touch no broker: a tripwire listens where ``RTP_KAFKA_BOOTSTRAP`` points.

Every unit test runs with ``RTP_KAFKA_BOOTSTRAP`` set to a local port on which this conftest
accepts TCP connections (it speaks no Kafka: each connection is counted and closed). Code
that reads its settings from the environment (``rtp`` commands run in-process, the
processes they start) and opens a Kafka connection -- a client, or the "does a broker
answer?" probe of ``rtp report``/``rtp evaluate --erasures auto`` -- connects there, and the
test fails at teardown: a unit test must not depend on whether the shared broker answers
(pass ``--erasures none``, or an explicit ``Settings(kafka_port=1)`` where "no broker" is the
point). Settings built in a test from their defaults (``Settings()``) do not read the
environment and are not watched.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest


class Tripwire:
    """A TCP listener on 127.0.0.1 that counts the connections made to it."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._server.getsockname()[1]}"
        self._lock = threading.Lock()
        self._count = 0
        self._thread = threading.Thread(target=self._accept, name="kafka-tripwire", daemon=True)
        self._thread.start()

    @property
    def connections(self) -> int:
        with self._lock:
            return self._count

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:  # closed
                return
            with self._lock:
                self._count += 1
            conn.close()

    def close(self) -> None:
        self._server.close()
        self._thread.join(5)


@pytest.fixture(scope="session")
def kafka_tripwire() -> Iterator[Tripwire]:
    tripwire = Tripwire()
    yield tripwire
    tripwire.close()


@pytest.fixture(autouse=True)
def no_kafka_connection(kafka_tripwire: Tripwire,
                        monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point ``RTP_KAFKA_BOOTSTRAP`` at the tripwire; fail the test if it was connected to."""
    monkeypatch.setenv("RTP_KAFKA_BOOTSTRAP", kafka_tripwire.address)
    before = kafka_tripwire.connections
    yield
    opened = kafka_tripwire.connections - before
    if opened:
        pytest.fail(f"this unit test opened {opened} connection(s) to the Kafka bootstrap "
                    f"(RTP_KAFKA_BOOTSTRAP={kafka_tripwire.address}, a tripwire): unit tests "
                    "must not touch a broker (rtp report/evaluate: pass --erasures none)",
                    pytrace=False)
