"""``rtp worker``'s own /metrics on the real broker: the counts equal what is on the topics."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipeline.client import EventProducer
from pipeline.decide import assign_arm
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import DECISIONS_LOG, EVENTS, OUTCOMES, PROFILES, SIGNALS
from tests.e2e.webtier import free_port
from tests.integration.kafka_reader import read_topic, total_messages
from tests.integration.scenarios import browser, rage_clicker
from tests.integration.worker_process import WorkerProcess, wait_caught_up


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _lag(metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> dict[str, float]:
    return {dict(labels)["topic"]: v for (name, labels), v in metrics.items()
            if name == "rtp_worker_lag"}


def test_the_worker_serves_its_metrics(topics: Settings, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("RTP_WORKER_METRICS_PORT", str(port))
    worker = WorkerProcess(topics, tmp_path / "data", tmp_path / "worker.log", learner=False)
    try:
        worker.wait_ready()
        run = uuid.uuid4().hex[:6]
        start = int(time.time() * 1000) - 10 * 60 * 1000
        ids = [f"m-{run}-{i}" for i in range(40)]
        visitors = ([v for v in ids if assign_arm(v) == "control"][:3]
                    + [v for v in ids if assign_arm(v) == "personalized"][:6])
        events = [e for i, v in enumerate(visitors)
                  for e in (rage_clicker if i % 2 else browser)(v, start + i * 1000)]
        bad = [(topics.topic(EVENTS), b"\x00 not avro")] * 3 + [(topics.topic(OUTCOMES), b"x")]
        with EventProducer(topics) as producer:
            for event in events:
                producer.send_event(event)
            for topic, value in bad:
                producer.produce_raw(topic, value, b"bad")
        wait_caught_up(worker, [topics.topic(EVENTS), topics.topic(OUTCOMES)], timeout=120)
        inputs = {topics.topic(t) for t in (EVENTS, OUTCOMES, PROFILES,
                                            "rtp.internal.visitor-profiles")}
        # The lag comes with librdkafka's statistics (every 2 s): wait for a report made
        # after the catch-up, which must say 0 on every input.
        deadline = time.monotonic() + 30
        while True:
            metrics = _scrape(port)
            lag = _lag(metrics)
            if (set(lag) == inputs and set(lag.values()) == {0.0}) or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        assert worker.stop() == 0, worker.tail()

    codec = Codec.default()
    n_logs = total_messages(topics, topics.topic(DECISIONS_LOG))
    logs = [codec.decode(m.value(), ("DecisionLog",))[1]
            for m in read_topic(topics, topics.topic(DECISIONS_LOG), n_logs)]
    arms = Counter(log["decision"]["experiment_arm"] for log in logs)
    assert set(arms) == {"control", "personalized"}
    letters: Counter[tuple[str, str]] = Counter()
    for source in (EVENTS, OUTCOMES, PROFILES):
        dlq = topics.topic(source) + ".dlq"
        for m in read_topic(topics, dlq, total_messages(topics, dlq), timeout=5):
            letter = codec.decode(m.value(), ("DeadLetter",))[1]
            letters[(letter["source_topic"], letter["error_class"])] += 1
    by_action = Counter((log["decision"]["action_id"], log["decision"]["experiment_arm"])
                        for log in logs)
    n_signals = total_messages(topics, topics.topic(SIGNALS))
    rules = Counter(codec.decode(m.value(), ("StruggleSignal",))[1]["rule"]
                    for m in read_topic(topics, topics.topic(SIGNALS), n_signals))
    assert rules, "the rage clickers raised no signal: nothing to compare"
    sent = {e["event_id"] for e in events}
    triggered = {log["decision"]["trigger_event_id"] for log in logs} & sent

    assert metrics[("rtp_worker_events_total", ())] == len(events) + 3
    assert {labels[0][1]: v for (name, labels), v in metrics.items()
            if name == "rtp_worker_decisions_total"} == dict(arms)
    assert {(dict(labels)["topic"], dict(labels)["reason"]): v
            for (name, labels), v in metrics.items()
            if name == "rtp_worker_dead_letters_total"} == dict(letters)
    assert {(dict(labels)["action"], dict(labels)["arm"]): v
            for (name, labels), v in metrics.items()
            if name == "rtp_worker_action_decisions_total"} == dict(by_action)
    assert {dict(labels)["rule"]: v for (name, labels), v in metrics.items()
            if name == "rtp_worker_signals_total"} == dict(rules)
    assert metrics[("rtp_worker_event_to_action_seconds_count", ())] == len(triggered)
    assert set(lag) == inputs
    assert set(lag.values()) == {0.0}
