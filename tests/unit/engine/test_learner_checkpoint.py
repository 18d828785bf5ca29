"""The learner checkpoint: format 3 round trips, format 2 (zlib, JSON parts) is still read,
damaged bytes raise LearnerStateError."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.engine import EngineOptions, Learner, LearnerStateError
from tests.unit.feedback.test_feedback_pending_format import V1_FIXTURE as REWARDS_V1
from tests.unit.intent.test_intent_pending_labels_format import V1_FIXTURE as LABELS_V1

OPTIONS = EngineOptions()
T0 = 1_800_000_000_000


def _learner() -> Learner:
    """A learner with pending rewards and labels, and a bandit that has learned."""
    learner = Learner.new(OPTIONS)
    dimension = learner.decider.featurizer.dimension
    for i in range(30):
        context = tuple(float((i + j) % 3) - 0.5 for j in range(dimension))
        learner.rewards.register({"decision_id": f"d{i}", "visitor_id": f"v{i % 4}",
                                  "action_id": "no_action", "propensity": 0.5,
                                  "created_at": T0 + i}, context)
        learner.labels.record(f"s{i % 7}", {"page_views": float(i), "cart_value": 0.1 * i},
                              {"device": "mobile"})
    for i in range(0, 30, 3):
        update = learner.rewards.on_outcome({"decision_id": f"d{i}", "kind": "clicked",
                                             "event_time": T0 + 100})
        assert update is not None
        learner.reward([update])
    return learner


def _parts(learner: Learner) -> list[bytes]:
    return [learner.decider.bandit.to_bytes(), learner.rewards.to_bytes(),
            learner.labels.to_bytes()]


def test_format_3_round_trips() -> None:
    learner = _learner()
    data = learner.to_bytes()
    assert data[:5] == b"rtpL\x03" and Learner.updates_in(data) == learner.updates == 10
    restored = Learner.from_bytes(data, OPTIONS)
    assert restored.updates == learner.updates
    assert _parts(restored) == _parts(learner)
    features = {"page_views": 3.0, "cart_value": 20.0}
    assert restored.intent.predict(features, {}) == learner.intent.predict(features, {})


def _format_2(updates: int, parts: list[bytes]) -> bytes:
    """A checkpoint as format 2 wrote it: zlib body; JSON rewards and labels inside."""
    header = struct.pack("<4sBQIIII", b"rtpL", 2, updates, *(len(p) for p in parts))
    return header + zlib.compress(b"".join(parts), 1)


def test_format_2_is_still_read() -> None:
    learner = _learner()
    parts = [learner.intent.to_bytes(), learner.decider.bandit.to_bytes(), REWARDS_V1,
             LABELS_V1]
    restored = Learner.from_bytes(_format_2(7, parts), OPTIONS)
    assert restored.updates == 7 and Learner.updates_in(_format_2(7, parts)) == 7
    assert restored.decider.bandit.to_bytes() == learner.decider.bandit.to_bytes()
    assert restored.rewards.get("d1") is not None and len(restored.rewards) == 2
    assert restored.labels.max_sessions == 5 and len(restored.labels) == 2
    again = Learner.from_bytes(restored.to_bytes(), OPTIONS)
    assert _parts(again) == _parts(restored)


def test_format_2_with_a_damaged_body_is_refused() -> None:
    learner = _learner()
    data = _format_2(1, [learner.intent.to_bytes(), learner.decider.bandit.to_bytes(),
                         learner.rewards.to_bytes(), learner.labels.to_bytes()])
    with pytest.raises(LearnerStateError, match="corrupt"):
        Learner.from_bytes(data[:-3], OPTIONS)


def _with_crc(header: bytes, stored: bytes) -> bytes:
    return header[:-4] + struct.pack("<I", zlib.crc32(stored)) + stored


HEADER = 33  # magic, version, updates, four part sizes, CRC-32


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda d: b"", "not a learner checkpoint"),
        (lambda d: b"rtpX" + d[4:], "not a learner checkpoint"),
        (lambda d: d[:4] + b"\x01" + d[5:], "version 1 is not 3"),
        (lambda d: d[:4] + b"\x04" + d[5:], "version 4 is not 3"),
        (lambda d: d[:HEADER - 1], "truncated"),
        (lambda d: d[:-1], "CRC-32"),
        (lambda d: d[:HEADER] + b"\x00" + d[HEADER + 1:], "CRC-32"),
        (lambda d: d + b"\x00", "CRC-32"),
        (lambda d: _with_crc(d[:HEADER], b"not zstd"), "corrupt"),
        (lambda d: _with_crc(d[:13] + struct.pack("<I", 1) + d[17:HEADER], d[HEADER:]),
         "are not its body"),
    ],
)
def test_damaged_checkpoints_are_refused_with_a_reason(
    damage: Callable[[bytes], bytes], reason: str
) -> None:
    data = _learner().to_bytes()
    with pytest.raises(LearnerStateError, match=reason):
        Learner.from_bytes(damage(data), OPTIONS)


_CHECKPOINT = _learner().to_bytes()


@settings(max_examples=60, deadline=None)
@given(position=st.integers(0, 1 << 20), flip=st.integers(1, 255), cut=st.booleans())
def test_any_damaged_byte_outside_the_update_counter_is_refused(
    position: int, flip: int, cut: bool
) -> None:
    data = _CHECKPOINT
    position %= len(data)
    damaged = (data[:position] if cut
               else data[:position] + bytes([data[position] ^ flip]) + data[position + 1:])
    if not cut and 5 <= position < 13:  # the update counter: only orders checkpoints
        assert Learner.from_bytes(damaged, OPTIONS).updates == Learner.updates_in(damaged)
    else:
        with pytest.raises(LearnerStateError):
            Learner.from_bytes(damaged, OPTIONS)
