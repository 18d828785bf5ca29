"""Intent checkpoints: round trips, resume, and refusing mismatches."""

from __future__ import annotations

from pathlib import Path

import pytest
import river

from pipeline.intent import (
    CHECKPOINT_SCHEMA_VERSION,
    CheckpointError,
    CheckpointMismatch,
    CheckpointState,
    IntentCutoffs,
    IntentModel,
    IntentOptions,
    build_river_model,
    encode_checkpoint,
    load_checkpoint,
    save_checkpoint,
)


def _trained(options: IntentOptions | None = None) -> IntentModel:
    model = IntentModel(options)
    for i in range(40):
        model.learn({"cart_value": float(i % 2) * 50}, {"device": "mobile"}, converted=bool(i % 2))
    return model


def _foreign(options: IntentOptions, **versions: object) -> bytes:
    return encode_checkpoint(
        CheckpointState(
            model=build_river_model(options),
            options=options.signature(),
            **versions,  # type: ignore[arg-type]
        )
    )


def test_round_trip_predicts_the_same(tmp_path: Path) -> None:
    model = _trained()
    path = save_checkpoint(model, tmp_path / "intent.ckpt")
    loaded = load_checkpoint(path)
    x = ({"cart_value": 50.0}, {"device": "mobile"})
    assert loaded.predict(*x) == model.predict(*x)
    assert (loaded.n_learned, loaded.n_positive) == (40, 20)
    assert IntentModel.from_bytes(model.to_bytes()).predict(*x) == model.predict(*x)


def test_loaded_model_keeps_learning_where_it_stopped(tmp_path: Path) -> None:
    model = _trained()
    save_checkpoint(model, tmp_path / "intent.ckpt")
    resumed = IntentModel.from_checkpoint_or_new(tmp_path / "intent.ckpt", IntentOptions())
    resumed.learn({"cart_value": 50.0}, {}, converted=True)
    model.learn({"cart_value": 50.0}, {}, converted=True)
    assert resumed.n_learned == 41
    assert resumed.predict({"cart_value": 50.0}, {}) == model.predict({"cart_value": 50.0}, {})


def test_fresh_model_when_there_is_no_checkpoint(tmp_path: Path) -> None:
    model = IntentModel.from_checkpoint_or_new(tmp_path / "none.ckpt", IntentOptions(model="arf"))
    assert model.n_learned == 0 and model.options.model == "arf"


def test_other_river_version_is_refused_naming_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "old.ckpt"
    path.write_bytes(_foreign(IntentOptions(), river_version="0.19.0"))
    with pytest.raises(CheckpointMismatch) as caught:
        IntentModel.from_checkpoint_or_new(path, IntentOptions())
    message = str(caught.value)
    assert str(path) in message
    assert "river 0.19.0" in message and f"river {river.__version__}" in message


def test_other_checkpoint_schema_is_refused_naming_both_versions() -> None:
    data = _foreign(IntentOptions(), schema_version=CHECKPOINT_SCHEMA_VERSION + 1)
    with pytest.raises(CheckpointMismatch) as caught:
        IntentModel.from_bytes(data)
    message = str(caught.value)
    assert f"checkpoint schema {CHECKPOINT_SCHEMA_VERSION + 1}" in message
    assert (
        f"runs river {river.__version__} and checkpoint schema {CHECKPOINT_SCHEMA_VERSION}:"
        in message
    )


def test_other_learning_options_are_refused_but_cutoffs_may_change() -> None:
    data = _trained(IntentOptions(learning_rate=0.05)).to_bytes()
    with pytest.raises(CheckpointMismatch, match=r"learning_rate 0.05 != 0.2"):
        IntentModel.from_bytes(data, IntentOptions(learning_rate=0.2))
    relaxed = IntentOptions(cutoffs=IntentCutoffs(high_intent=0.9, researching=0.5))
    assert IntentModel.from_bytes(data, relaxed).options.cutoffs.high_intent == 0.9


def test_stored_options_are_restored_without_requested_options() -> None:
    options = IntentOptions(
        model="arf", arf_models=2, seed=5, cutoffs=IntentCutoffs(high_intent=0.6, researching=0.2)
    )
    assert IntentModel.from_bytes(IntentModel(options).to_bytes()).options == options


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "bad magic"),
        (b"garbage bytes", "bad magic"),
        (b"rtp-intent-checkpoint\n\x00", "truncated"),
        (b"rtp-intent-checkpoint\n\x00\x00\x00\x10{}", "truncated"),
        (b"rtp-intent-checkpoint\n\x00\x00\x00\x02{}", "unreadable header"),
    ],
)
def test_corrupt_checkpoints_raise_checkpoint_error(data: bytes, reason: str) -> None:
    with pytest.raises(CheckpointError, match=reason):
        IntentModel.from_bytes(data)


def test_corrupt_model_body_raises_checkpoint_error() -> None:
    data = _trained().to_bytes()
    with pytest.raises(CheckpointError, match="corrupt model body"):
        IntentModel.from_bytes(data[:-20])


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "intent.ckpt"
    save_checkpoint(_trained(), path)
    save_checkpoint(IntentModel(), path)
    assert [p.name for p in tmp_path.iterdir()] == ["intent.ckpt"]
    assert load_checkpoint(path).n_learned == 0
