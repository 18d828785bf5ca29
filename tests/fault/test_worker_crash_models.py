"""``kill -9`` a worker while new model snapshots keep arriving: a redone decision is the one
made before, model version included.

The rest of the fault suite runs without a learner, so the model never changes and a
decision made again after a restart is trivially the same. Here this test plays the
learner's part on ``personalization.models``: a new snapshot every 0.2 s (each trained on
more rewards), before, during and after the crash. Without the pins
(:mod:`pipeline.learning.pins`) the restarted worker redoes the last owner's uncommitted
records with a newer snapshot, and their decision ids come out a second time with another
``model_version`` (and sometimes another action).

Checked on the decision log and the actions topic, records compared whole:

- every decision id of the workload is there, and no other (both directions, against the
  reference run's ids);
- no decision id with two contents, on either topic; the two topics agree on each;
- the crash really redid decisions (some ids logged twice), and snapshots really changed
  during the run (several model versions decided).
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from pipeline.engine import Engine, EngineOptions, VisitorState
from pipeline.feedback import RewardUpdate
from pipeline.learning import Model, ModelRef
from pipeline.learning.commit_mark import mark_part
from pipeline.learning.pins import Schedule, parse_schedule
from pipeline.processes import WorkerProcess, wait_caught_up
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import ACTIONS, DECISIONS_LOG, EVENTS, MODELS
from tests.fault.checks import flush_and_wait
from tests.fault.conftest import StartWorker
from tests.fault.kafka_state import decoded, end_offsets, read_all, send_events, wait_until
from tests.fault.workload import build_workload, reference_run


class SnapshotPublisher(threading.Thread):
    """Publishes a newer model every ``every_s`` (versions 1, 2, ...: 5 rewards each)."""

    def __init__(self, settings: Settings, every_s: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.topic = settings.topic(MODELS)
        self.every_s = every_s
        self.producer = Producer({"bootstrap.servers": settings.bootstrap, "linger.ms": 0})
        engine = Engine(EngineOptions())
        self.model = Model.new(engine.options)
        self.actions = [a for a in engine.catalog.ids if a != engine.catalog.no_action.id]
        self.versions: list[int] = []
        self.stopping = threading.Event()
        self.rng = random.Random(7)

    def run(self) -> None:
        n = 0
        while not self.stopping.wait(self.every_s):
            for _ in range(5):
                n += 1
                context = tuple(self.rng.random() for _ in range(self.model.bandit.dimension))
                reward = 1.0 if self.rng.random() < 0.5 else 0.0
                self.model.bandit.apply(RewardUpdate(
                    f"fake-{n}", self.rng.choice(self.actions), context, reward, reward,
                    True, "clicked", 0.5, n))
                self.model.version += 1
            self.producer.produce(self.topic, key=b"model", value=self.model.to_bytes())
            self.producer.flush(10)
            self.versions.append(self.model.version)

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)


class PacedSender(threading.Thread):
    """Sends ``events`` 50 at a time, one batch every 0.1 s; while held, one batch per
    :meth:`step` instead, so the worker still has work when the freezes catch it, however
    slowly the freezes' reads run (on a busy machine a free-running sender finished before
    20 freezes were done, and no freeze found anything to redo)."""

    def __init__(self, settings: Settings, events: list[dict[str, Any]], batch: int = 50,
                 every_s: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.batches = [events[i:i + batch] for i in range(0, len(events), batch)]
        self.every_s = every_s
        self.sent = 0
        self.free = threading.Event()
        self.free.set()
        self.permits = threading.Semaphore(0)

    def run(self) -> None:
        for batch in self.batches:
            if not self.free.is_set():
                self.permits.acquire()
            send_events(self.settings, batch)
            self.sent += 1
            time.sleep(self.every_s)  # the traffic's pace, not a wait for a condition

    def hold(self) -> None:
        """From now on, send a batch only when :meth:`step` allows it."""
        self.free.clear()

    def step(self) -> None:
        """Let one more batch go (while held)."""
        self.permits.release()

    def release(self) -> None:
        """Send the rest freely again."""
        self.free.set()
        self.permits.release()

    @property
    def done(self) -> bool:
        return self.sent == len(self.batches)


def _kill_with_work_to_redo(settings: Settings, worker: WorkerProcess,
                            sender: PacedSender) -> int:
    """Freeze the worker (SIGSTOP) again and again; at each freeze, every decision its
    successor would redo (logged for an event past the committed offset and past the
    offset its visitor's stored state holds) must have been made with the model the
    commit's mark names for its event (by the event's timestamp: the mark may schedule a
    newer model from a switch time on). After enough freezes, once it is caught with such
    decisions,
    SIGKILL it; how many decisions were logged by then. (A decision past the committed
    offset whose state is already on the changelog is not redone: a background commit
    writes the states before it commits the offsets.)

    The check at each freeze is what catches records decided with the old model after a
    commit that schedules the new one for them was sealed (the loop holds them until the
    commit is in): their redo would use the new model. A single crash lands in that window
    only by chance; the freezes look at it many times. The sender is held meanwhile: one
    batch more after each freeze."""
    events = settings.topic(EVENTS)
    codec = Codec.default()
    sender.hold()
    for freezes in range(1, 201):
        assert not sender.done, (
            f"every event was sent and {freezes - 1} freezes never caught the worker with "
            "5 decisions to redo")
        os.kill(worker.proc.pid, signal.SIGSTOP)
        offset_of = {str(codec.decode(m.value())[1]["event_id"]):
                     (m.partition(), m.offset(), m.timestamp()[1])
                     for m in read_all(settings, events)}
        committed = _committed(settings, worker.group, events)
        logs = decoded(settings, settings.topic(DECISIONS_LOG))
        stored = _stored_offsets(settings, worker.changelog("visitors"))
        redo = [(at, r) for r in logs
                if (at := offset_of.get(str(r["decision"]["trigger_event_id"])))
                and at[1] >= committed.get(at[0], (0, None))[0]
                and at[1] > stored.get(str(r["decision"]["visitor_id"]), -1)]
        for (partition, _, stamped), record in redo:
            schedule = committed.get(partition, (0, None))[1]
            named = None if schedule is None else schedule.pick(stamped)[1]
            assert named is None or int(record["model_version"]) == named, (
                f"decision {record['decision']['decision_id']} (partition {partition}, to be "
                f"redone) was made with model {record['model_version']} but the commit "
                f"names model {named}: its redo would differ")
        if len(redo) >= 5 and freezes >= 20:
            worker.stop(signal.SIGKILL)
            sender.release()
            return len(logs)
        os.kill(worker.proc.pid, signal.SIGCONT)
        sender.step()
        time.sleep(0.05)  # let it run on (and commit) before it is frozen again
    raise AssertionError("the worker was never caught with decisions to redo")


def _stored_offsets(settings: Settings, changelog: str) -> dict[str, int]:
    """The event offset each visitor's newest state on the changelog holds (-1: deleted)."""
    out: dict[str, int] = {}
    for message in read_all(settings, changelog):
        visitor = (message.key() or b"").decode()
        value = message.value()
        out[visitor] = -1 if value is None else VisitorState.from_bytes(value).source_offset
    return out


def _committed(settings: Settings, group: str, topic: str,
               ) -> dict[int, tuple[int, Schedule[ModelRef, int] | None]]:
    """Committed offset and the model versions its mark schedules (None: no mark), by
    partition."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap, "group.id": group,
                         "enable.auto.commit": False})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        out = {}
        for tp in consumer.committed([TopicPartition(topic, p) for p in parts], timeout=10):
            before, after, at_ms = parse_schedule(mark_part(tp.metadata, "rtp-model"),
                                                  ModelRef.from_mark)
            schedule = None if before is None else Schedule(
                (before, before.version),
                None if after is None else (after, after.version), at_ms)
            out[tp.partition] = (max(tp.offset, 0), schedule)
        return out
    finally:
        consumer.close()


def _contents(records: list[dict[str, Any]], id_of: Any) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for record in records:
        out.setdefault(id_of(record), set()).add(json.dumps(record, sort_keys=True, default=str))
    return out


def test_kill_9_while_models_change_redoes_each_decision_with_its_first_model(
        topics: Settings, workers: StartWorker, tmp_path: Path) -> None:
    workload = build_workload(f"km{uuid.uuid4().hex[:4]}", visitors=300)
    ref = reference_run(workload.events, workload.flush)
    publisher = SnapshotPublisher(topics)
    publisher.start()
    try:
        data_dir = tmp_path / "data"
        first = workers(topics, "first", data_dir=data_dir)
        first.wait_ready()
        wait_until(lambda: len(publisher.versions) >= 3, timeout=30, what="snapshots")
        # Paced, then held to the freezes' pace, so the worker is mid-stream, not done,
        # when it is killed.
        sender = PacedSender(topics, list(workload.events))
        sender.start()
        log_topic = topics.topic(DECISIONS_LOG)
        changelog = first.changelog("visitors")
        wait_until(lambda: sum(end_offsets(topics, changelog).values()) > 0, timeout=120,
                   what="a first commit")
        wait_until(lambda: sum(end_offsets(topics, log_topic).values()) >= len(ref.decisions) // 3,
                   timeout=120, what="a third of the decisions")
        logged = _kill_with_work_to_redo(topics, first, sender)
        assert logged < len(ref.decisions), "the worker had finished before it was killed"

        sender.join(120)
        second = workers(topics, "second", data_dir=data_dir)
        second.wait_ready()
        wait_caught_up(second, [topics.topic(EVENTS)], timeout=180)
        flush_and_wait(topics, workload, ref, second)
    finally:
        publisher.stop()

    mine = f"{workload.run}-"
    logs = [r for r in decoded(topics, topics.topic(DECISIONS_LOG))
            if str(r["decision"]["trigger_event_id"]).startswith(mine)]
    actions = [r for r in decoded(topics, topics.topic(ACTIONS))
               if str(r["trigger_event_id"]).startswith(mine)]
    wanted = {str(r["decision"]["decision_id"]) for r in ref.decisions.values()}
    log_contents = _contents(logs, lambda r: str(r["decision"]["decision_id"]))
    action_contents = _contents(actions, lambda r: str(r["decision_id"]))

    assert set(log_contents) == wanted, (sorted(wanted - set(log_contents))[:5],
                                         sorted(set(log_contents) - wanted)[:5])
    two_logged = sorted(d for d, c in log_contents.items() if len(c) > 1)
    two_served = sorted(d for d, c in action_contents.items() if len(c) > 1)
    assert not two_logged, f"{len(two_logged)} decision ids logged with two contents, e.g. " \
        f"{two_logged[0]} with model versions " \
        f"{sorted(json.loads(c)['model_version'] for c in log_contents[two_logged[0]])}"
    assert not two_served, f"{len(two_served)} decision ids served with two contents"
    served = {str(r["decision"]["decision_id"]): json.dumps(r["decision"], sort_keys=True,
                                                            default=str)
              for r in logs if r["served"]}
    assert {d: next(iter(c)) for d, c in action_contents.items()} == {
        d: served[d] for d in action_contents}
    assert set(action_contents) <= set(served)
    redone = len(logs) - len(log_contents)
    versions = {int(r["model_version"]) for r in logs}
    assert redone > 0, "no decision was made twice: the crash left nothing to redo"
    assert len(versions) >= 3, f"snapshots did not change the model during the run: {versions}"
    assert versions <= {0, *publisher.versions}
