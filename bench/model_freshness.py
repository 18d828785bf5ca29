"""From a reward to a worker deciding with it: learning through the real pipeline.

One ``rtp worker --learner`` (:class:`pipeline.processes.WorkerProcess`, the learner
beside it as in the demo) under a fresh topic prefix. Home-page views of new visitors
of the personalized arm make served decisions; then, once a second, a ``clicked``
outcome for one of them is produced (time ``t0``). Per click, from the topics and the
worker's log afterwards:

- ``to_learning``: t0 → its learning record on ``personalization.learning`` (broker
  timestamp): the worker joined the outcome in the visitor's state;
- ``to_snapshot``: t0 → the first snapshot on ``personalization.models`` whose version
  includes that record (broker timestamp): the learner folded and published it;
- ``to_in_use``: t0 → the worker logged ``model snapshot in use`` with that version or a
  newer one (its log timestamp): from then on every partition it owns decides with the
  reward (a partition's next commit schedules a new snapshot for the records stamped from
  its seal time + 0.5 s on, and the log line comes once that commit is in and that time
  has passed: up to ``--commit-every`` + 0.5 s after the snapshot arrived; see
  ``pipeline/learning/pins.py``).

The goal (issue 10): ``to_in_use`` p99 ≤ 2 s. Clicks: ``CLICKS`` (times
``RTP_BENCH_SCALE``, at least 5).
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import BenchError, bench_scale, kafka_prefix, latency_summary, load_note, scaled
from bench.record import write

__all__ = ["CLICKS", "run"]

CLICKS = 30


def _messages(settings: Any, topic: str) -> list[Any]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": settings.bootstrap, "group.id": "freshness",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
        consumer.assign([TopicPartition(topic, 0, 0)])
        out: list[Any] = []
        deadline = time.monotonic() + 60
        while len(out) < high and time.monotonic() < deadline:
            message = consumer.poll(1)
            if message is not None and message.error() is None:
                out.append(message)
        return out
    finally:
        consumer.close()


def _served_decisions(settings: Any, visitors: set[str], timeout: float = 60) -> list[Any]:
    from pipeline.serde import Codec
    from pipeline.topics import DECISIONS_LOG
    from tests.fault.kafka_state import read_all

    codec = Codec.default()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = [codec.decode(m.value())[1] for m in read_all(settings,
                                                             settings.topic(DECISIONS_LOG))]
        mine = [r["decision"] for r in logs if r["decision"]["visitor_id"] in visitors]
        if len(mine) >= len(visitors):
            return [d for d in mine if d["experiment_arm"] == "personalized"]
        time.sleep(0.5)  # waiting for the worker's decisions
    raise BenchError("the worker did not decide on every visitor within 60 s")


def run() -> list[dict[str, Any]]:
    """Measure and record; returns the rows."""
    from pipeline.client import EventProducer, click_event
    from pipeline.decide import assign_arm
    from pipeline.learning import Model
    from pipeline.processes import WorkerProcess
    from pipeline.serde import Codec
    from pipeline.topics import LEARNING, MODELS

    clicks = int(scaled(CLICKS, bench_scale(), 5))
    codec = Codec.default()
    with kafka_prefix("freshness") as settings, tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "worker.log"
        worker = WorkerProcess(settings, Path(tmp) / "data", log_path, control_share=0.0)
        try:
            worker.wait_ready()
            now = int(time.time() * 1000)
            visitors = {f"fresh-{i}" for i in range(clicks)}
            assert all(assign_arm(v, 0.0) == "personalized" for v in visitors)
            with EventProducer(settings) as producer:
                for n, visitor in enumerate(sorted(visitors)):
                    producer.send_event(click_event(visitor, "page_view", now + n,
                                                    page_type="home", product_id=None,
                                                    url="https://shop.example/"))
            decisions = _served_decisions(settings, visitors)
            sent: dict[str, float] = {}
            with EventProducer(settings) as producer:
                for decision in decisions[:clicks]:
                    sent[str(decision["decision_id"])] = time.time()
                    producer.send_outcome({
                        "outcome_id": f"{decision['decision_id']}-c",
                        "decision_id": decision["decision_id"],
                        "visitor_id": decision["visitor_id"], "kind": "clicked",
                        "value": 0.0, "event_time": int(decision["created_at"]) + 1000})
                    producer.flush()
                    time.sleep(1.0)
            time.sleep(3.0)  # the last click's snapshot
            learning = _messages(settings, settings.topic(LEARNING))
            models = [(Model.version_of(m.value()), m.timestamp()[1] / 1000)
                      for m in _messages(settings, settings.topic(MODELS))]
            in_use = [(r["version"], datetime.fromisoformat(
                          r["timestamp"].replace("Z", "+00:00")).timestamp())
                      for r in worker.log_records() if r.get("event") == "model snapshot in use"]
        finally:
            worker.stop()
    legs: dict[str, list[float]] = {"to_learning": [], "to_snapshot": [], "to_in_use": []}
    ids: set[str] = set()
    for message in learning:
        record = codec.decode(message.value())[1]
        ids.add(str(record["record_id"]))
        reward = record["reward"]
        if reward is None or reward["reason"] != "clicked":
            continue
        t0 = sent.get(str(reward["decision_id"]))
        if t0 is None:
            continue
        needed = len(ids)  # the learner keeps the first of an id: versions count ids
        legs["to_learning"].append(1000 * (message.timestamp()[1] / 1000 - t0))
        snapshot = next((t for v, t in models if v >= needed), None)
        used = next((t for v, t in in_use if v >= needed), None)
        if snapshot is None or used is None:
            raise BenchError(f"the reward of {reward['decision_id']} never reached the worker")
        legs["to_snapshot"].append(1000 * (snapshot - t0))
        legs["to_in_use"].append(1000 * (used - t0))
    if len(legs["to_in_use"]) != len(sent):
        raise BenchError(f"{len(legs['to_in_use'])} of {len(sent)} clicks found")
    rows = [{"leg": leg, **latency_summary(values)}
            for leg, values in legs.items()]
    write("model_freshness", rows, notes=(
        "Reward (a click outcome produced) → learning record → model snapshot → worker "
        "deciding with it, ms; learner snapshots every 1,000 records or 1 s (defaults). "
        "Goal: to_in_use p99 ≤ 2,000 ms. " + load_note()))
    return rows
