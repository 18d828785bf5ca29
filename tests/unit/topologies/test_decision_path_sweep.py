"""The decision path's timers: expired visitor states go, a chunk per turn of the loop;
rewards that fell due are resolved (from the deadline index, and by the sweep after a
restart lost the index) and their learning records sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.client.samples import click_event
from pipeline.engine import Engine, EngineOptions, VisitorState
from pipeline.serde import Codec
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
    tables = Tables(tmp_path, "g", [VISITORS, "visitor-profiles"],
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
    path = DecisionPath(Settings(), engine, tables, Outputs("unused:1"),
                        None, PathOptions(sweep_every_s=60.0, sweep_chunk=4),
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


class Recorded:
    """Outputs that keep what was sent (the unit under test is the path, not Kafka)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    def send(self, topic: str, key: bytes, value: bytes) -> None:
        self.sent.append((topic, key, value))


def _served(engine: Engine, visitor: str) -> tuple[VisitorState, list[str]]:
    """A visitor with served decisions pending (pages 20 s apart, the last at T0): those
    that showed an action (a "no action" decision is learned when made, with reward 0,
    and closes silently at the end of its wait)."""
    state = None
    served = []
    for i in range(6):
        result = engine.on_event(state, click_event(visitor, "page_view", T0 - (5 - i) * 20_000,
                                                    event_id=f"{visitor}-{i}"))
        state = result.state
        if (result.decision is not None and result.decision.served
                and result.decision.action.id != "no_action"):
            served.append(result.decision.decision_id)
    assert state is not None and served
    return state, served


def _learned(outputs: Recorded) -> list[dict[str, object]]:
    codec = Codec.default()
    return [codec.decode(value)[1] for topic, _, value in outputs.sent
            if topic == "personalization.learning"]


@pytest.mark.parametrize("via", ["deadlines", "sweep"])
def test_rewards_due_are_resolved_once_and_sent_for_the_learner(tmp_path: Path,
                                                                via: str) -> None:
    engine = Engine(EngineOptions(), learn_inline=False)
    state, served = _served(engine, "buyer")
    key = b"buyer"
    if via == "sweep":  # after a restart: the index is gone, the state only on disk
        stored = PartitionStore.open(tmp_path / "tables" / VISITORS / "0")
        stored.write({key: state.to_bytes()}, 0)
        stored.close()
    tables = Tables(tmp_path, "g", [VISITORS, "visitor-profiles"],
                    LocalOnly())  # type: ignore[arg-type]
    tables.assign([0])
    outputs = Recorded()
    path = DecisionPath(Settings(), engine, tables,
                        outputs,  # type: ignore[arg-type]
                        None, PathOptions(sweep_chunk=100), clock=lambda: T0 / 1000)
    if via == "deadlines":
        path.stage_visitor(0, key, state)
    wait = EngineOptions().rewards.reward_wait_ms
    path.event_clock.advance(0, T0, T0)  # the partition's newest event time
    path.expire_due()
    assert _learned(outputs) == []  # nothing is due yet
    later = T0 + wait
    path.event_clock.advance(0, later, T0)  # the reward wait is in event time
    if via == "deadlines":
        path.expire_due()
    else:
        assert path.sweep_some(0, later)
    records = _learned(outputs)
    rewards = [r["reward"] for r in records if r["reward"] is not None]
    assert sorted(r["decision_id"] for r in rewards) == sorted(served)  # each once, no other
    assert {r["reason"] for r in rewards} == {"expired"}
    changed = [c for c in tables.staging.take() if c.key == key]
    assert changed and changed[-1].value is not None and not changed[-1].value.pending
    tables.staging.done()
    path.event_clock.advance(0, later + wait, T0)
    path.expire_due()
    path.sweep_some(0, later + 1)
    assert len(_learned(outputs)) == len(records)  # nothing resolved twice
    tables.close()
