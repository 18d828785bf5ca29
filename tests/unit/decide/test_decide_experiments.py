"""Experiment arms: sticky, deterministic, the right share."""

from __future__ import annotations

import pytest

from pipeline.decide import DecideOptionsError, assign_arm


def test_share_within_tolerance_over_10k_ids() -> None:
    arms = [assign_arm(f"visitor-{i}") for i in range(10_000)]
    assert arms.count("control") / len(arms) == pytest.approx(0.10, abs=0.015)
    quarter = [assign_arm(f"visitor-{i}", control_share=0.25) for i in range(10_000)]
    assert quarter.count("control") / len(quarter) == pytest.approx(0.25, abs=0.02)


def test_sticky_and_deterministic() -> None:
    first = [assign_arm(f"v{i}") for i in range(500)]
    assert [assign_arm(f"v{i}") for i in range(500)] == first


def test_growing_the_control_share_only_moves_visitors_into_control() -> None:
    for i in range(2000):
        if assign_arm(f"v{i}", 0.10) == "control":
            assert assign_arm(f"v{i}", 0.20) == "control"


def test_salt_reshuffles() -> None:
    a = [assign_arm(f"v{i}", 0.5, salt="exp-1") for i in range(400)]
    b = [assign_arm(f"v{i}", 0.5, salt="exp-2") for i in range(400)]
    assert a != b


def test_share_out_of_range_is_refused() -> None:
    with pytest.raises(DecideOptionsError, match="control_share"):
        assign_arm("v", 1.5)
