"""``kill -9`` the learner mid-stream: its restart applies every record exactly once.

Real learning records (the simulator's visitors through a worker's engine) go to
``personalization.learning`` in chunks, some of them twice (a worker redoing the seconds
after its last commit emits the same records again). The learner (``rtp learner``,
a process) is killed with SIGKILL while it folds them, restarted, and left to finish.
Its final model must equal, exactly, the model of one uninterrupted fold of the same
topic: the same version (records applied), the same bandit matrices byte for byte, the
same intent model. And the kill must have cost something: the restart went on from a
checkpoint older than the newest model it had published (it redid work).

Checked to fail: with the restart reading on from the topic's end instead of the
checkpoint's position, and with duplicates applied (no first-wins ids).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka import Producer

from pipeline.engine import EngineOptions
from pipeline.learning import Model, Trainer, TrainerCheckpoint
from pipeline.serde import Codec
from pipeline.settings import Settings
from pipeline.topics import LEARNER_CHECKPOINTS, LEARNING, MODELS
from tests.fault.kafka_state import read_all, wait_until
from tests.learning_stream import learning_stream
from tests.unit.learning.test_trainer import _same_model

OPTIONS = EngineOptions()


def _learner(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RTP_TOPIC_PREFIX": settings.topic_prefix,
           "RTP_KAFKA_BOOTSTRAP": settings.bootstrap, "RTP_LOG_FORMAT": "json"}
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "learner", "--snapshot-every", "0.05",
             "--snapshot-every-updates", "50", "--checkpoint-every", "2"],
            env=env, stdout=out, stderr=subprocess.STDOUT)


def _checkpointed(settings: Settings) -> int:
    """The model version of the learner's newest checkpoint (-1: none)."""
    messages = read_all(settings, settings.topic(LEARNER_CHECKPOINTS))
    if not messages:
        return -1
    return TrainerCheckpoint.from_bytes(messages[-1].value() or b"", OPTIONS).model.version


def _versions(settings: Settings) -> list[int]:
    return [Model.version_of(m.value() or b"") for m in read_all(settings, settings.topic(MODELS))]


def test_a_killed_learner_resumes_and_ends_with_the_uninterrupted_model(
        topics: Settings, tmp_path: Path) -> None:
    codec = Codec.default()
    records = learning_stream(minutes=10, seed=11)
    stream = list(records)
    for i in range(0, len(records), 97):  # redone work: the same records again, later
        stream.insert(min(len(stream), i + 40), records[i])
    producer = Producer({"bootstrap.servers": topics.bootstrap, "enable.idempotence": True})
    topic = topics.topic(LEARNING)
    chunks = [stream[i:i + 40] for i in range(0, len(stream), 40)]
    log = tmp_path / "learner.log"
    learner = _learner(topics, log)
    killed = False
    published_before_kill = -1
    try:
        for n, chunk in enumerate(chunks):
            for record in chunk:
                producer.produce(topic, key=str(record["visitor_id"]).encode(),
                                 value=codec.encode("LearningRecord", record))
            producer.flush(10)
            time.sleep(0.05)
            if n == len(chunks) // 2:  # the learner starts slowly on a busy machine
                wait_until(lambda: _checkpointed(topics) > 0, 120, "a learner checkpoint")
            # From mid-stream on: freeze it, and kill it if its newest snapshot is ahead of
            # its newest checkpoint (a restart must then redo work); else let it go on.
            if n >= len(chunks) // 2 and not killed:
                learner.send_signal(signal.SIGSTOP)
                time.sleep(0.5)  # requests already sent settle on the broker
                published = max(_versions(topics), default=-1)
                if published > _checkpointed(topics) >= 0:
                    learner.send_signal(signal.SIGKILL)
                    learner.wait(10)
                    killed, published_before_kill = True, published
                    learner = _learner(topics, log)
                else:
                    learner.send_signal(signal.SIGCONT)
        assert killed, "the learner was never ahead of its checkpoint: nothing to redo"
        reference = Trainer(Model.new(OPTIONS))
        for offset, message in enumerate(read_all(topics, topic)):
            reference.apply(codec.decode(message.value())[1], offset)
        wanted = reference.model.version
        assert wanted == len(records)  # every duplicate is one of the records
        wait_until(lambda: max(_versions(topics), default=-1) == wanted, 120,
                   f"the learner to publish version {wanted}")
    finally:
        if learner.poll() is None:
            learner.send_signal(signal.SIGTERM)
            learner.wait(30)
    final = Model.from_bytes(read_all(topics, topics.topic(MODELS))[-1].value() or b"", OPTIONS)
    _same_model(final, reference.model)
    restored = [json.loads(line) for line in log.read_text().splitlines()
                if '"learner restored"' in line]
    assert len(restored) == 1, log.read_text()[-2000:]
    # The restart redid work: it went on from a checkpoint older than what it had published.
    assert restored[0]["version"] < published_before_kill, (restored, published_before_kill)
