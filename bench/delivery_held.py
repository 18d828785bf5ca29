"""Delivery while same-page requests are held (issue 13), as ``make bench`` runs it.

Each offered load of :data:`OFFERED_RPS` runs on the floor (a bare aiohttp app) and on the
delivery server, both carrying :data:`HELD` held requests (``wait_ms`` 1 s); the rows go
to bench/results/delivery_held. See :mod:`bench.delivery` for what is measured::

    python -m bench delivery_held
    python -m bench.delivery --rates 4000 --held 2000 --no-record   # one load, not recorded
"""

from __future__ import annotations

from typing import Any

from bench.delivery import run_held

#: The issue's loads: the goal is stated at 4,000 req/s.
OFFERED_RPS = (2000, 4000)
#: Same-page requests held at once.
HELD = 2000


def run() -> list[dict[str, Any]]:
    """Measure and record bench/results/delivery_held; returns the rows."""
    return run_held(OFFERED_RPS, HELD)
