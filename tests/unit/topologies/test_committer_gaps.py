"""The committer keeps faust-streaming from counting offset jumps in its inputs as
acknowledged "compaction gaps" (a stand-in consumer; the fault suite runs the real one)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

from faust.types import TP

from pipeline.engine import Engine, EngineOptions
from pipeline.engine.commits import CommitPolicy
from topologies.committer import Committer


class _Consumer:
    def __init__(self) -> None:
        self._gap: dict[TP, list[tuple[int, int]]] = defaultdict(list)

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        self._gap[tp].append((offset_from, offset_to))


async def _no_positions(_: list[TP]) -> dict[TP, int]:
    return {}


def _committer(consumer: _Consumer) -> Committer:
    app: Any = SimpleNamespace(consumer=consumer)
    options = EngineOptions()
    return Committer(app, {}, Engine(options), options, CommitPolicy(), "events",
                     clock=lambda: 0.0, worker_id="w", partitions=4,
                     input_topics={"events", "outcomes"}, group_positions=_no_positions)


def test_gaps_in_inputs_are_ignored_and_others_kept() -> None:
    consumer = _Consumer()
    consumer._gap[TP("events", 0)].append((3, 9))  # recorded before the guard
    committer = _committer(consumer)
    committer._ignore_gaps_in_inputs()
    committer._ignore_gaps_in_inputs()  # idempotent: wraps once

    async def jumps() -> None:
        await consumer._add_gap(TP("events", 1), 10, 20)
        await consumer._add_gap(TP("outcomes", 0), 5, 6)
        await consumer._add_gap(TP("profiles.updates", 2), 7, 8)

    asyncio.run(jumps())
    assert dict(consumer._gap) == {TP("profiles.updates", 2): [(7, 8)]}
