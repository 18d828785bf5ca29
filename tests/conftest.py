"""Fixtures shared by every test folder."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipeline  # noqa: F401  (first: it pins OpenBLAS's kernels before numpy loads)
from tests.datasets import obd_sample_or_fail


@pytest.fixture(scope="session")
def obd_dir() -> Path:
    """The Open Bandit Dataset sample (``random/``, ``bts/``), downloaded once if missing."""
    return obd_sample_or_fail()
