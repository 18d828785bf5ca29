"""bench/interpreters.py: finding the other interpreter and summarising runs."""

from __future__ import annotations

import doctest
import os
import sys
from pathlib import Path

import pytest

import bench.interpreters as interpreters


def test_doctests() -> None:
    result = doctest.testmod(interpreters)
    assert result.attempted > 0 and result.failed == 0


def test_a_given_interpreter_is_used_as_given() -> None:
    assert interpreters.other_interpreter("/opt/py/bin/python3") == Path("/opt/py/bin/python3")


def test_the_found_interpreter_is_never_this_one() -> None:
    found = interpreters.other_interpreter(None)
    if found is not None:
        assert interpreters.describe(found)["interpreter"] != \
            interpreters.describe(sys.executable)["interpreter"]


def test_a_virtual_environment_resolves_to_its_base_interpreter() -> None:
    # The suite runs from .venv: its python is a link, the base interpreter a real file.
    real = interpreters.describe(sys.executable)["interpreter"]
    assert os.path.isfile(real) and not os.path.islink(real)
    assert Path(real).name.startswith("python")


def test_summaries_are_medians_per_event() -> None:
    runs = [{"events": 1000, "span_s": span, "worker_cpu_s": cpu, "engine_cpu_s": 0.05,
             "outputs": 300} for span, cpu in ((0.1, 0.09), (0.2, 0.3), (0.125, 0.1))]
    row = interpreters.summarize("x", runs)
    assert row["drain_per_s_median"] == 8000.0
    assert row["drain_per_s_each"] == "10,000 / 5,000 / 8,000"
    assert row["worker_cpu_us_median"] == 100.0 and row["engine_cpu_us_median"] == 50.0
    assert row["outputs_each"] == "300 / 300 / 300" and row["runs"] == 3


def test_an_unmeasured_worker_cpu_is_left_out_not_zero() -> None:
    runs = [{"events": 1000, "span_s": 0.1, "worker_cpu_s": None, "engine_cpu_s": 0.05,
             "outputs": 1}]
    assert interpreters.summarize("x", runs)["worker_cpu_us_median"] is None


@pytest.mark.parametrize("minor", ["3.11", "3.12"])
def test_candidates_are_system_interpreters_of_the_same_version(minor: str) -> None:
    assert [p.name for p in interpreters.candidates(minor)] == [f"python{minor}"] * 2
