"""The decision path's sweep: expired visitor states go, a chunk per turn of the loop."""

from __future__ import annotations

from pathlib import Path

from pipeline.client.samples import click_event
from pipeline.engine import Engine, EngineOptions
from pipeline.settings import Settings
from topologies.decision_path import VISITORS, DecisionPath, PathOptions
from topologies.loop.outputs import Outputs
from topologies.loop.store import PartitionStore
from topologies.loop.tables import Tables

T0 = 1_800_000_000_000
HOUR = 3_600_000


class LocalOnly:
    """A changelog reader with nothing to read (the stores are what the test wrote)."""

    def catch_up(self, store: PartitionStore, topic: str, partition: int,
                 options: object = None) -> PartitionStore:
        return store


def test_a_sweep_deletes_exactly_the_expired_states_a_chunk_per_turn(tmp_path: Path) -> None:
    engine = Engine(EngineOptions())
    tables = Tables(tmp_path, "g", [VISITORS, "visitor-profiles", "learners"],
                    LocalOnly())  # type: ignore[arg-type]
    # 11 visitors seen 3 h before "now" (expired) and 6 seen a minute before (alive).
    old = {f"old{i:02d}".encode(): engine.on_event(None, click_event(f"old{i}", "page_view",
                                                                      T0 - 3 * HOUR)).state
           for i in range(11)}
    new = {f"new{i:02d}".encode(): engine.on_event(None, click_event(f"new{i}", "page_view",
                                                                      T0 - 60_000)).state
           for i in range(6)}
    stored = PartitionStore.open(tmp_path / "tables" / VISITORS / "0")
    stored.write({k: s.to_bytes() for k, s in {**old, **new}.items() if s is not None}, 0)
    stored.close()
    tables.assign([0])
    path = DecisionPath(Settings(), engine, EngineOptions(), tables, Outputs("unused:1"),
                        "w", PathOptions(sweep_every_s=60.0, sweep_chunk=4),
                        clock=lambda: T0 / 1000)
    turns = 0
    while True:
        turns += 1
        if path.sweep_some(0, T0):
            break
    assert turns == 5  # 17 states, 4 a turn
    deleted = {c.key for c in tables.staging.take() if c.value is None}
    assert deleted == set(old)  # all the expired ones, none of the others
    tables.close()
