"""``rtp kafka``: status answers by exit code; starting twice is harmless."""

from __future__ import annotations

import pytest

from pipeline.broker import BrokerError, LocalKafka
from pipeline.cli import main
from pipeline.settings import Settings


def test_status_exit_code_says_whether_a_broker_answers(kafka: Settings) -> None:
    assert main(["--bootstrap", kafka.bootstrap, "kafka", "status", "--quiet"]) == 0
    assert main(["--bootstrap", "127.0.0.1:1", "kafka", "status", "--quiet"]) == 1


def test_up_against_a_running_broker_is_harmless_or_explains_itself(kafka: Settings) -> None:
    if not kafka.uses_local_broker:
        pytest.skip("an external broker (RTP_KAFKA_BOOTSTRAP) is not ours to start")
    broker = LocalKafka(kafka, echo=lambda _: None)
    if broker.managed_pid() is not None:
        pid = broker.managed_pid()
        assert broker.up(timeout=30).reachable
        assert broker.managed_pid() == pid  # same process, nothing new started
    else:
        with pytest.raises(BrokerError, match="A Kafka broker answers there"):
            broker.up(timeout=30)
