"""A commit's states are encoded a slice per turn of the loop, yet each exactly as it was
when the commit was sealed: a record about to change a sealed state that is not encoded
yet gets it encoded first (the real RocksDB stores, no Kafka)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.topologies.test_decision_path_sweep import LocalOnly
from topologies.loop.tables import Tables


def _encode(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True).encode()


def _tables(tmp_path: Path) -> Tables:
    tables = Tables(tmp_path, "g", ["visitors"], LocalOnly())  # type: ignore[arg-type]
    tables.assign([0, 1])
    return tables


def test_a_sealed_state_changed_before_its_slice_is_written_as_it_was_sealed(
        tmp_path: Path) -> None:
    tables = _tables(tmp_path)
    states = {f"v{i}".encode(): {"n": i} for i in range(5)}
    for key, state in states.items():
        tables.stage("visitors", int(key[1:]) % 2, key, state)
    tables.seal(tables.staging.take(), _encode)
    assert not tables.encode_some(0.0)  # one slice: not all encoded
    for key in states:  # records change every state after the seal (as the engine does)
        staged, state = tables.get("visitors", int(key[1:]) % 2, key)
        assert staged
        state["n"] += 100
        tables.stage("visitors", int(key[1:]) % 2, key, state)
    assert tables.encode_some(0.0)  # the reads encoded the rest first
    encoded = tables.take_encoded()
    assert {k: v for values in encoded.values() for k, v in values.items()} == {
        f"v{i}".encode(): _encode({"n": i}) for i in range(5)}
    assert set(encoded) == {("visitors", 0), ("visitors", 1)}
    # The changes after the seal go with the next commit.
    assert {c.key: c.value for c in tables.staging.take()} == {
        f"v{i}".encode(): {"n": i + 100} for i in range(5)}
    tables.close()


def test_scans_and_item_reads_encode_a_sealed_state_before_handing_it_out(
        tmp_path: Path) -> None:
    tables = _tables(tmp_path)
    tables.stage("visitors", 0, b"a", {"n": 1})
    tables.seal(tables.staging.take(), _encode)
    [(_, _, state)] = list(tables.items("visitors", 0))
    state["n"] = 2
    assert tables.encode_some(0.0) and tables.take_encoded() == {
        ("visitors", 0): {b"a": _encode({"n": 1})}}
    tables.close()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.booleans()), max_size=40),
       st.integers(0, 9))
def test_whatever_is_read_and_changed_between_slices_the_commit_writes_the_sealed_values(
        tmp_path_factory: Any, touches: list[tuple[int, bool]], sliced: int) -> None:
    tables = _tables(tmp_path_factory.mktemp("t"))
    for i in range(10):
        tables.stage("visitors", i % 2, f"v{i}".encode(), {"n": i})
    sealed = {f"v{i}".encode(): _encode({"n": i}) for i in range(10)}
    tables.seal(tables.staging.take(), _encode)
    for step, (i, delete) in enumerate(touches):
        if step == sliced:
            tables.encode_some(0.0)
        key = f"v{i}".encode()
        _, state = tables.get("visitors", i % 2, key)
        if delete:
            tables.stage("visitors", i % 2, key, None)
        elif state is not None:
            state["n"] += 1000
            tables.stage("visitors", i % 2, key, state)
    while not tables.encode_some(0.0):
        pass
    encoded = tables.take_encoded()
    assert {k: v for values in encoded.values() for k, v in values.items()} == sealed
    tables.close()
