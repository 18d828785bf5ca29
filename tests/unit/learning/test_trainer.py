"""The learner's fold: exactly once, in order, resumable from any checkpoint."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.engine import EngineOptions
from pipeline.learning import Model, ModelFormatError, Trainer, TrainerCheckpoint
from tests.learning_stream import learning_stream

OPTIONS = EngineOptions()


@functools.cache
def _stream() -> tuple[dict[str, Any], ...]:
    return tuple(learning_stream(minutes=5))


def _fold(records: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> Trainer:
    trainer = Trainer(Model.new(OPTIONS))
    for offset, record in enumerate(records):
        trainer.apply(record, offset)
    return trainer


def _same_model(a: Model, b: Model) -> None:
    """Equal in content: versions, every arm's matrices, the intent model's predictions."""
    assert a.version == b.version
    assert a.bandit.arms == b.bandit.arms
    assert a.bandit.to_bytes() == b.bandit.to_bytes()
    assert (a.intent.n_learned, a.intent.n_positive) == (b.intent.n_learned, b.intent.n_positive)
    for record in _stream()[:50]:
        if record["label"] is not None:
            features = record["label"]["numeric"], record["label"]["categorical"]
            assert a.intent.predict(*features) == b.intent.predict(*features)


def test_the_stream_holds_both_kinds_of_record_and_every_reward_reason() -> None:
    records = _stream()
    rewards = [r["reward"] for r in records if r["reward"] is not None]
    labels = [r["label"] for r in records if r["label"] is not None]
    assert rewards and labels
    assert {"expired", "clicked"} <= {r["reason"] for r in rewards}
    assert len({r["record_id"] for r in records}) == len(records)  # ids are unique


def test_every_record_is_applied_once_and_the_model_learns() -> None:
    records = _stream()
    trainer = _fold(records)
    assert trainer.model.version == len(records) and trainer.duplicates == 0
    assert trainer.position == len(records)
    rewards = sum(r["reward"] is not None and r["reward"]["new_observation"] for r in records)
    observed = sum(trainer.model.bandit.observations(a) for a in trainer.model.bandit.arms)
    assert observed == rewards
    assert trainer.model.intent.n_learned == sum(r["label"] is not None for r in records)


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_a_learner_resumed_from_any_checkpoint_ends_with_the_uninterrupted_model(
        data: st.DataObject) -> None:
    records = list(_stream())
    # Workers that redo work emit records again: duplicates anywhere after their first.
    for _ in range(data.draw(st.integers(0, 5))):
        i = data.draw(st.integers(0, len(records) - 1))
        j = data.draw(st.integers(i, len(records)))
        records.insert(j, records[i])
    cut = data.draw(st.integers(0, len(records)))
    whole = _fold(records)
    first = _fold(records[:cut])
    saved = first.checkpoint().to_bytes()
    resumed = Trainer.resume(TrainerCheckpoint.from_bytes(saved, OPTIONS))
    assert resumed.position == cut
    for offset in range(resumed.position, len(records)):
        resumed.apply(records[offset], offset)
    _same_model(resumed.model, whole.model)
    assert whole.model.version == len(_stream())  # duplicates did not count


def test_a_duplicate_changes_nothing() -> None:
    records = list(_stream()[:200])
    once = _fold(records)
    twice = _fold(records + records)
    _same_model(once.model, twice.model)
    assert twice.duplicates == len(records)


def test_a_damaged_snapshot_is_refused_with_a_reason() -> None:
    data = _fold(_stream()[:100]).model.to_bytes()
    with pytest.raises(ModelFormatError, match="CRC"):
        Model.from_bytes(data[:-1] + bytes([data[-1] ^ 1]), OPTIONS)
    with pytest.raises(ModelFormatError, match="not a model"):
        Model.from_bytes(b"rtpL" + data[4:], OPTIONS)
    assert Model.version_of(data) == 100
    restored = Model.from_bytes(data, OPTIONS)
    assert np.array_equal(np.frombuffer(restored.bandit.to_bytes(), np.uint8),
                          np.frombuffer(_fold(_stream()[:100]).model.bandit.to_bytes(), np.uint8))
