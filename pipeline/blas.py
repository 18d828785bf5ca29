"""The same floats on every x86-64 host: pin OpenBLAS's kernels before numpy loads it.

numpy's OpenBLAS picks its kernels by the CPU it finds (a build with every kernel): on a
host with AVX-512 a dot product or a matrix-vector product sums in another order than on
an AVX2 host, so LinUCB's scores, the probabilities and tie-breaks built on them, and so
the DecisionLog's bytes, differ in their last bits from one host to another. A decision
redone after a crash on another host would then not be the one logged the first time, and
a replay would not reproduce a recorded run. Where the CPU has AVX2 and FMA, OpenBLAS is
told (``OPENBLAS_CORETYPE``, its documented override) to use its AVX2 ("Haswell") kernels on
every host; a value already in the environment wins (``OPENBLAS_CORETYPE=`` empty: let
OpenBLAS choose). The bandit's products are 61 wide: the wider kernels gain nothing there.

This must run before numpy is first imported: :mod:`pipeline` calls it on import.
"""

from __future__ import annotations

import os
import platform
from collections.abc import MutableMapping
from pathlib import Path

#: OpenBLAS's name for its AVX2 + FMA kernels.
CORETYPE = "Haswell"
_NEEDS = ("avx2", "fma")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags as Linux lists them (empty where it does not).

    >>> "sse2" in cpu_flags() or not cpu_flags()
    True
    """
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def pin_openblas_kernels(environ: MutableMapping[str, str] | None = None,
                         flags: frozenset[str] | None = None,
                         machine: str | None = None) -> str | None:
    """Set ``OPENBLAS_CORETYPE`` to the AVX2 kernels where the CPU has them and nothing
    chose before; returns the value in force (None: OpenBLAS chooses).

    >>> pin_openblas_kernels({}, frozenset({"avx2", "fma", "avx512f"}), "x86_64")
    'Haswell'
    >>> pin_openblas_kernels({"OPENBLAS_CORETYPE": "Zen"}, frozenset({"avx2", "fma"}), "x86_64")
    'Zen'
    >>> print(pin_openblas_kernels({}, frozenset({"sse2"}), "x86_64"))
    None
    >>> print(pin_openblas_kernels({}, frozenset(), "aarch64"))
    None
    """
    env = os.environ if environ is None else environ
    if "OPENBLAS_CORETYPE" in env:
        return env["OPENBLAS_CORETYPE"] or None
    arch = platform.machine() if machine is None else machine
    if arch.lower() not in ("x86_64", "amd64"):
        return None
    if not set(_NEEDS) <= (cpu_flags() if flags is None else flags):
        return None
    env["OPENBLAS_CORETYPE"] = CORETYPE
    return CORETYPE
