"""Run every benchmark in one go (``make bench``); each writes bench/results/<name>.{json,md}.

``python -m bench [name ...]`` runs only the named ones. ``RTP_BENCH_SCALE=0.2``
scales sizes and durations down. A benchmark that fails is reported and the
others still run; the exit status is then 1.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time
import traceback

#: In running order; each only where its module exists.
BENCHMARKS = ("serde", "rate_limits", "pending_rewards", "bandit", "throughput", "interpreters",
              "decision_path",
              "scaling", "latency", "transactions", "model_freshness", "delivery", "delivery_held",
              "paint", "state_size", "state_codec", "decision_quality", "pipeline_quality")


def available() -> list[str]:
    """The benchmarks present in this checkout."""
    return [name for name in BENCHMARKS if importlib.util.find_spec(f"bench.{name}") is not None]


def main(argv: list[str] | None = None) -> int:
    names = list(argv if argv is not None else sys.argv[1:]) or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {available()}", file=sys.stderr)
        return 2
    failed: list[str] = []
    for name in names:
        print(f"== bench {name}", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{name}")
            for row in module.run():
                print("  ", row, flush=True)
        except Exception:  # one broken benchmark must not hide the others' results
            traceback.print_exc()
            failed.append(name)
        print(f"   ({time.perf_counter() - started:.0f} s)", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
