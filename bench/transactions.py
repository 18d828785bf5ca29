"""What one content per decision id would cost with Kafka transactions, at short commits.

Issue 10 asks to choose between Kafka transactions (outputs, state changelogs and input
offsets committed atomically; consumers read_committed; outputs visible only at each
commit, so the commit interval must be short) and deterministic re-decisions with
first-wins consumers. This benchmark measures the first option's price on this broker.

A producer sends ``RATE`` records/s (about the outputs of 1,000 decided events/s:
decision, log, signal) to a 4-partition topic for ``SECONDS`` (times
``RTP_BENCH_SCALE``, at least 3 s), in one of two modes, for several commit intervals:

* **transactions**: a stable ``transactional.id``; every interval
  ``send_offsets_to_transaction`` (input offsets of a consumer group, as the worker
  would commit them) then ``commit_transaction`` and ``begin_transaction``;
* **flush** (today's worker): idempotent producer; every interval ``flush()``, then a
  synchronous offset commit of the same consumer group.

Reported per run: the commit call's p50/p99/max (the pause it puts on the event path),
and the visibility latency: from the produce call to the record being read by a
``read_committed`` consumer (``pipeline.client.batches.read_ready``), p50/p99.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from bench.common import bench_scale, kafka_prefix, latency_summary, load_note, read_ready, scaled
from bench.record import write

__all__ = ["INTERVALS_MS", "RATE", "run"]

RATE = 3_000
SECONDS = 6.0
INTERVALS_MS = (10, 20, 50, 100, 2000)
_TOPIC = "txn-bench.out"
_INPUT = "txn-bench.in"


class _Reader(threading.Thread):
    """read_committed consumer: when each record (value = its id) became readable."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        from confluent_kafka import OFFSET_END, Consumer, TopicPartition

        self.seen: dict[bytes, float] = {}
        self.stopping = threading.Event()
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"r-{uuid.uuid4()}",
                                  "isolation.level": "read_committed",
                                  "enable.auto.commit": False, "fetch.wait.max.ms": 5})
        parts = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
        self.consumer.assign([TopicPartition(topic, p, OFFSET_END) for p in parts])
        self.ready = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            batch = read_ready(self.consumer, 1000, 0.05)
            self.ready.set()
            now = time.perf_counter()
            for msg in batch:
                if msg.error() is None and msg.value() is not None:
                    self.seen.setdefault(msg.value(), now)

    def close(self) -> None:
        self.stopping.set()
        self.join(10)
        self.consumer.close()


def _group_consumer(bootstrap: str, group: str, topic: str) -> Any:
    """A consumer that joined ``group`` (its metadata and offsets are what gets committed)."""
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    deadline = time.monotonic() + 30
    while not consumer.assignment() and time.monotonic() < deadline:
        consumer.poll(0.1)
    return consumer


def _one(bootstrap: str, prefix: str, mode: str, interval_ms: int,
         seconds: float) -> dict[str, Any]:
    from confluent_kafka import Producer, TopicPartition

    topic, source = prefix + _TOPIC, prefix + _INPUT
    config: dict[str, Any] = {"bootstrap.servers": bootstrap, "linger.ms": 1,
                              "compression.type": "lz4", "enable.idempotence": True,
                              "acks": "all"}
    if mode == "transactions":
        config["transactional.id"] = f"{prefix}txn-{interval_ms}"
    producer = Producer(config)
    group = f"{prefix}g-{mode}-{interval_ms}"
    consumer = _group_consumer(bootstrap, group, source)
    offsets = [TopicPartition(source, tp.partition, 0) for tp in consumer.assignment()]
    reader = _Reader(bootstrap, topic)
    reader.start()
    reader.ready.wait(10)
    if mode == "transactions":
        producer.init_transactions(30)
        producer.begin_transaction()
    sent: dict[bytes, float] = {}
    pauses: list[float] = []
    start = time.perf_counter()
    next_commit = start + interval_ms / 1000
    count = int(RATE * seconds)
    for i in range(count):
        due = start + i / RATE
        while True:
            now = time.perf_counter()
            if now >= next_commit:
                t0 = time.perf_counter()
                if mode == "transactions":
                    producer.send_offsets_to_transaction(
                        offsets, consumer.consumer_group_metadata(), 30)
                    producer.commit_transaction(30)
                    producer.begin_transaction()
                else:
                    producer.flush(30)
                    consumer.commit(offsets=offsets, asynchronous=False)
                pauses.append((time.perf_counter() - t0) * 1000)
                next_commit = time.perf_counter() + interval_ms / 1000
                continue
            if now >= due:
                break
            time.sleep(min(due, next_commit) - now)  # pacing the open-loop schedule
        key = f"{i}".encode()
        value = f"{mode}-{interval_ms}-{i}".encode()
        sent[value] = time.perf_counter()
        producer.produce(topic, value, key)
        producer.poll(0)
    if mode == "transactions":
        producer.commit_transaction(30)
    producer.flush(30)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len([v for v in sent if v in reader.seen]) < count:
        time.sleep(0.1)  # waiting for the reader thread to see the last records
    reader.close()
    consumer.close()
    visible = [(reader.seen[v] - at) * 1000 for v, at in sent.items() if v in reader.seen]
    summary = latency_summary(visible)
    pause = latency_summary(pauses)
    return {"mode": mode, "commit_every_ms": interval_ms, "records": count,
            "seen": summary["n"], "commit_p50_ms": pause["p50_ms"],
            "commit_p99_ms": pause["p99_ms"], "commit_max_ms": pause["max_ms"],
            "commits": len(pauses), "visible_p50_ms": summary["p50_ms"],
            "visible_p99_ms": summary["p99_ms"]}


def run() -> list[dict[str, Any]]:
    """Measure and record; returns the rows."""
    scale = bench_scale()
    seconds = scaled(SECONDS, scale, 3.0)
    before = load_note()
    rows: list[dict[str, Any]] = []
    with kafka_prefix("transactions") as settings:
        from pipeline.topics.admin import apply_topics
        from pipeline.topics.definitions import TopicSpec

        apply_topics(settings.bootstrap, [
            TopicSpec(settings.topic(name), 4, 1, "", "", {"cleanup.policy": "delete"})
            for name in (_TOPIC, _INPUT)])
        for interval in INTERVALS_MS:
            for mode in ("flush", "transactions"):
                rows.append(_one(settings.bootstrap, settings.topic_prefix, mode, interval,
                                 seconds))
                print(f"   {rows[-1]}", flush=True)
    notes = "\n".join([
        f"{RATE:,} records/s for {seconds:.0f} s per run (open loop), 4 partitions, linger "
        "1 ms, lz4, acks=all, idempotent. commit_* is the time of the commit call (for "
        "transactions: send_offsets_to_transaction + commit_transaction + "
        "begin_transaction; for flush: flush + a synchronous offset commit): the pause a "
        "commit puts on a single-threaded loop. visible_* is produce call → read by a "
        "read_committed consumer.",
        "",
        f"Shared 2-core machine, broker on the same cores: {before} before, {load_note()} "
        f"after. Scale {scale} (RTP_BENCH_SCALE).",
    ])
    write("transactions", rows, notes)
    return rows
