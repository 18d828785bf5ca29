"""µs per served decision in PendingRewards, the scanning code (before) vs the heap (after).

The engine does ``register`` then ``expire(event time)`` for every served decision, so
that pair is what is timed, on a realistic 61-float context, with default options
(``max_pending`` 10,000, a 10-minute reward wait):

* **full**: 50 decisions/s, above the 17/s at which 10,000 pending fill the wait; every
  registration evicts the oldest (the scanning code: ``min()`` plus a rescan).
* **expiring**: 15 decisions/s, ~9,000 pending; every ``expire`` closes the decision
  whose wait just passed (the scanning code: a scan plus a rescan).
* **restore**: ``from_bytes`` of a full checkpoint (the heap is rebuilt there).

Both implementations start from the same steady state (pending set full or at its
level, 10,000 closed ids remembered), reached by the current code and handed over as a
checkpoint: format 3 is the same before and after.

The scanning code is ``pipeline/feedback/pending.py`` at :data:`BASELINE` (the commit
before the heap), read with ``git show`` into a module of its own and measured in the
same process, rounds interleaved A B B A; the median round is reported. Without git
(or that commit) only the current code is measured.
"""

from __future__ import annotations

import gc
import importlib.util
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from bench.common import ROOT, bench_scale, load_note, scaled
from bench.record import write
from pipeline.feedback import PendingRewards, RewardOptions

#: The last commit of the scanning PendingRewards.
BASELINE = "a55f7b734eafc5e5675f5fb4a5f0069c79ae0582"
T0 = 1_800_000_000_000
CONTEXT = tuple(float(i % 7) / 7.0 for i in range(61))  # the bandit's context is 61 floats


def baseline_module() -> ModuleType | None:
    """``pipeline/feedback/pending.py`` at :data:`BASELINE`, or None without git or commit."""
    try:
        shown = subprocess.run(["git", "show", f"{BASELINE}:pipeline/feedback/pending.py"],
                               cwd=ROOT, capture_output=True, text=True, check=False)
    except OSError:
        return None
    if shown.returncode != 0:
        return None
    name = "bench._pending_rewards_baseline"
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    exec(compile(shown.stdout, f"{BASELINE[:7]}:pipeline/feedback/pending.py", "exec"),
         module.__dict__)
    return module


def decision(i: int, spacing_ms: int) -> dict[str, Any]:
    """The ``i``-th served decision, ``spacing_ms`` after the one before.

    >>> decision(3, 20)["created_at"] - T0, decision(3, 20)["decision_id"]
    (60, 'd3')
    """
    return {"decision_id": f"d{i}", "visitor_id": f"v{i % 5_000}", "action_id": "cta_change",
            "propensity": 0.5, "created_at": T0 + i * spacing_ms}


class _Stream:
    """One implementation's pending set and its position in the decision stream."""

    def __init__(self, cls: Any, spacing_ms: int, start: tuple[bytes, int] | None = None) -> None:
        self.pending = cls(RewardOptions()) if start is None else cls.from_bytes(start[0])
        self.spacing_ms = spacing_ms
        self.next = 0 if start is None else start[1]

    def steady(self) -> tuple[bytes, int]:
        """Run until the pending set and the closed ids are as full as they get; the
        checkpoint and the next decision's number (to start the measured streams from)."""
        options = self.pending.options
        while self.next < options.max_pending + options.closed_memory:
            self.step()
        return self.pending.to_bytes(), self.next

    def step(self) -> int:
        """One served decision as the engine handles it; how many updates it made."""
        d = decision(self.next, self.spacing_ms)
        self.next += 1
        updates = self.pending.register(d, CONTEXT)
        return len(updates) + len(self.pending.expire(d["created_at"]))

    def batch(self, n: int) -> float:
        """µs per decision over the next ``n``."""
        gc.collect()
        start = time.perf_counter()
        for _ in range(n):
            self.step()
        return (time.perf_counter() - start) / n * 1e6


def _abba(make: Callable[[Any], Callable[[], float]], impls: dict[str, Any],
          rounds: int) -> dict[str, float]:
    """Median over ``rounds`` of each implementation's measurement, order A B B A ..."""
    runners = {label: make(cls) for label, cls in impls.items()}
    samples: dict[str, list[float]] = {label: [] for label in impls}
    labels = list(impls)
    for r in range(rounds):
        for label in labels if r % 2 == 0 else labels[::-1]:
            samples[label].append(runners[label]())
    return {label: statistics.median(values) for label, values in samples.items()}


def run() -> list[dict[str, object]]:
    """Measure and record; returns the rows."""
    scale = bench_scale()
    n = int(scaled(400, scale, 50))
    rounds = 8
    impls: dict[str, Any] = {"after (heap)": PendingRewards}
    baseline = baseline_module()
    if baseline is not None:
        impls = {"before (scan)": baseline.PendingRewards, **impls}

    def streaming(spacing_ms: int) -> Callable[[Any], Callable[[], float]]:
        start = _Stream(PendingRewards, spacing_ms).steady()  # format 3, read by both

        def make(cls: Any) -> Callable[[], float]:
            stream = _Stream(cls, spacing_ms, start)
            return lambda: stream.batch(n)
        return make

    def restoring(cls: Any) -> Callable[[], float]:
        data = _Stream(PendingRewards, 20).steady()[0]
        assert len(cls.from_bytes(data)) == RewardOptions().max_pending

        def once() -> float:
            times = []
            for _ in range(5):
                gc.collect()  # the last restore's garbage is not this one's cost
                start = time.perf_counter()
                cls.from_bytes(data)
                times.append(time.perf_counter() - start)
            return statistics.median(times) * 1e6
        return once

    measured = [
        ("full, 50 decisions/s: register (evicts the oldest) + expire", "decision",
         _abba(streaming(20), impls, rounds)),
        ("expiring, 15 decisions/s: register + expire (closes one)", "decision",
         _abba(streaming(67), impls, rounds)),
        ("restore: from_bytes of 10,000 pending", "call", _abba(restoring, impls, rounds)),
    ]
    rows: list[dict[str, object]] = []
    for scenario, per, result in measured:
        before = result.get("before (scan)", float("nan"))
        after = result["after (heap)"]
        rows.append({"scenario": scenario, "per": per, "before_us": before,
                     "after_us": after, "before/after": before / after})
    write("pending_rewards", rows, notes=(
        f"Default RewardOptions (max_pending 10,000, 10 min wait), 61-float contexts. "
        f"before = pipeline/feedback/pending.py at {BASELINE[:7]} (scans), loaded with git "
        f"show into a module of its own; after = this commit (heap). Same process, "
        f"{rounds} rounds interleaved A B B A, median round; {n} decisions a round in the "
        f"streaming rows, the median of 5 calls in the restore row. {load_note()}."
        + ("" if baseline is not None else " Baseline commit not found: before not measured.")
    ))
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
