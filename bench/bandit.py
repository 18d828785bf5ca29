"""µs per LinUCB update and per decision (``choose``), right after an update and without.

The bandit is the decider's: the featurizer's dimension (61), 5 eligible arms trained on
2,000 updates first, context vectors from the featurizer (seeded random sessions). Each
round does ``2000 * RTP_BENCH_SCALE`` (at least 500) iterations of "update one arm, then
choose among the 5" (update and choose timed apart), then as many chooses with nothing
learned in between; best of 5 rounds.

The reference row is what every decision after an update paid before ``A^-1`` was kept up
to date by Sherman-Morrison: ``np.linalg.inv(A)`` and ``A^-1 b`` for the updated arm,
measured in the same run on a trained arm's ``A``.
"""

from __future__ import annotations

import random
import time
from typing import Any

import numpy as np

from bench.common import bench_scale, load_note, scaled
from bench.record import write
from pipeline.decide import Featurizer, LinUCB
from pipeline.decide.vocabulary import INTENT_CLASSES, SIGNAL_RULES

ARMS = ("no_action", "cta_change", "comparison_guide", "free_express_shipping",
        "hero_by_traffic_source")
TRAIN = 2000
ROUNDS = 5


def contexts(featurizer: Featurizer, count: int, seed: int = 1) -> list[np.ndarray]:
    """Context vectors like the decider's: some numbers set, one-hots, a few signal flags.

    >>> vectors = contexts(Featurizer(), 3)
    >>> len(vectors), vectors[0].shape, float(vectors[0][0])
    (3, (61,), 1.0)
    """
    rng = random.Random(seed)
    options = featurizer.options
    out = []
    for _ in range(count):
        numeric = {name: rng.expovariate(4.0 / cap) for name, cap in options.numeric_caps
                   if rng.random() < 0.6}
        categorical = {feature: rng.choice([*vocabulary, "unknown"])
                       for feature, vocabulary in options.categorical_vocabulary
                       if rng.random() < 0.9}
        signals = frozenset(rule for rule in SIGNAL_RULES if rng.random() < 0.15)
        out.append(featurizer.transform(numeric, categorical, signals, rng.random(),
                                        rng.choice(INTENT_CLASSES)))
    return out


def _round(featurizer: Featurizer, vectors: list[np.ndarray], rewards: list[float],
           n: int) -> dict[str, float]:
    """One round: µs per update, per choose right after it, per choose with nothing new."""
    bandit = LinUCB(featurizer.dimension, fingerprint=featurizer.fingerprint)
    for i in range(TRAIN):
        bandit.update(vectors[i], ARMS[i % len(ARMS)], rewards[i])
    bandit.choose(vectors[0], ARMS, "warm-up")
    clock = time.perf_counter
    updating = choosing = 0.0
    for i in range(n):
        started = clock()
        bandit.update(vectors[TRAIN + i % TRAIN], ARMS[i % len(ARMS)], rewards[i % TRAIN])
        updated = clock()
        bandit.choose(vectors[i % TRAIN], ARMS, f"after-{i}")
        choosing += clock() - updated
        updating += updated - started
    started = clock()
    for i in range(n):
        bandit.choose(vectors[i % TRAIN], ARMS, f"idle-{i}")
    idle = clock() - started
    reference = _fresh_inverse_us(bandit, vectors[:n])
    return {"update": updating / n * 1e6, "after": choosing / n * 1e6, "idle": idle / n * 1e6,
            "reference": reference}


def _fresh_inverse_us(bandit: LinUCB, vectors: list[np.ndarray]) -> float:
    """µs for ``inv(A)`` and ``A^-1 b``, ``A`` a trained arm's (``ridge * I`` plus the outer
    products of ``vectors``): what ``LinUCB`` computed afresh before."""
    d = bandit.dimension
    a = np.eye(d) * bandit.options.ridge
    b = np.zeros(d)
    for x in vectors:
        a += np.outer(x, x)
        b += 0.3 * x
    n = max(100, len(vectors) // 4)
    started = time.perf_counter()
    for _ in range(n):
        np.linalg.inv(a) @ b
    return (time.perf_counter() - started) / n * 1e6


def run() -> list[dict[str, Any]]:
    """Measure and record; returns the rows."""
    featurizer = Featurizer()
    n = int(scaled(2000, bench_scale(), 500))
    vectors = contexts(featurizer, 2 * TRAIN)
    rng = random.Random(2)
    rewards = [float(rng.random() < 0.3) for _ in range(TRAIN)]
    best: dict[str, float] = {}
    for _ in range(ROUNDS):
        for key, value in _round(featurizer, vectors, rewards, n).items():
            best[key] = min(best.get(key, float("inf")), value)
    rows: list[dict[str, Any]] = [
        {"operation": "update (A, b; A^-1 by Sherman-Morrison)", "us_per_call": best["update"]},
        {"operation": "choose among 5 arms, right after an update of one",
         "us_per_call": best["after"]},
        {"operation": "choose among 5 arms, nothing learned since", "us_per_call": best["idle"]},
        {"operation": "reference: inv(A) + A^-1 b of one arm (paid by every choose after an "
                      "update before Sherman-Morrison)", "us_per_call": best["reference"]},
    ]
    write("bandit", rows, notes=(
        f"Dimension {featurizer.dimension}, 5 arms trained on {TRAIN} updates, {n} iterations "
        f"per round, best of {ROUNDS}; {load_note()}. Absolute µs vary with machine load."))
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
