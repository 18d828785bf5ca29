"""OpenBLAS's kernels are pinned before numpy loads, in a fresh process as the CLI starts."""

from __future__ import annotations

import subprocess
import sys

from pipeline.blas import CORETYPE, cpu_flags


def test_a_fresh_process_importing_pipeline_pins_the_avx2_kernels_where_the_cpu_has_them() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", "import os, pipeline, numpy; "
                               "print(os.environ.get('OPENBLAS_CORETYPE', ''))"],
        env=env, capture_output=True, text=True, check=True).stdout.strip()
    expected = CORETYPE if {"avx2", "fma"} <= cpu_flags() else ""
    assert out == expected


def test_a_coretype_set_by_the_operator_wins() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import os, pipeline; print(os.environ['OPENBLAS_CORETYPE'])"],
        env={"PATH": "/usr/bin:/bin", "OPENBLAS_CORETYPE": "Zen"}, capture_output=True,
        text=True, check=True).stdout.strip()
    assert out == "Zen"
