"""PartitionStore and recovery from a changelog: what a crash can leave, caught up exactly."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from topologies.loop.recovery import apply_changelog
from topologies.loop.store import PartitionStore

keys = st.binary(min_size=0, max_size=4)
values = st.one_of(st.none(), st.binary(max_size=8))
commits = st.lists(st.dictionaries(keys, values, min_size=1, max_size=6), max_size=12)


def _latest(log: list[tuple[int, bytes, bytes | None]]) -> dict[bytes, bytes]:
    out: dict[bytes, bytes | None] = {}
    for _, key, value in log:
        out[key] = value
    return {k: v for k, v in out.items() if v is not None}


@settings(max_examples=60, deadline=None)
@given(commits=commits, crash_after=st.integers(min_value=0, max_value=12),
       chunk=st.integers(min_value=1, max_value=5), reopen=st.booleans())
def test_a_store_behind_its_changelog_catches_up_to_exactly_the_changelog(
        commits: list[dict[bytes, bytes | None]], crash_after: int, chunk: int,
        reopen: bool) -> None:
    """Commits go to the changelog first, then locally; a crash after ``crash_after`` local
    writes leaves the store behind; recovery from its offset gives the changelog's content,
    nothing lost, nothing extra, offsets included."""
    log: list[tuple[int, bytes, bytes | None]] = []
    with tempfile.TemporaryDirectory() as folder:
        store = PartitionStore.open(Path(folder) / "t" / "0")
        for n, changes in enumerate(commits):
            for key, value in changes.items():
                log.append((len(log), key, value))
            if n < crash_after:
                store.write(changes, changelog_offset=len(log) - 1)
        if reopen:
            store.close()
            store = PartitionStore.open(Path(folder) / "t" / "0")
        start = store.changelog_offset + 1
        apply_changelog(store, log[start:], chunk=chunk)
        assert dict(store.items()) == _latest(log)
        assert store.changelog_offset == len(log) - 1
        store.close()


def test_destroy_removes_the_files(tmp_path: Path) -> None:
    store = PartitionStore.open(tmp_path / "t" / "1")
    store.write({b"k": b"v"}, changelog_offset=3)
    store.destroy()
    again = PartitionStore.open(tmp_path / "t" / "1")
    assert (list(again.items()), again.changelog_offset) == ([], -1)
    again.close()


def test_keys_of_any_bytes_never_collide_with_the_offset_bookkeeping(tmp_path: Path) -> None:
    store = PartitionStore.open(tmp_path / "s")
    store.write({b"changelog-offset": b"mine", b"\x00": b"zero"}, changelog_offset=9)
    assert dict(store.items()) == {b"changelog-offset": b"mine", b"\x00": b"zero"}
    assert store.changelog_offset == 9
    store.close()


@settings(max_examples=60, deadline=None)
@given(commits=st.lists(st.dictionaries(keys, values, min_size=1, max_size=40), max_size=6),
       crash_after=st.integers(min_value=0, max_value=40), chunk=st.integers(1, 5))
def test_a_commit_stored_in_parts_catches_up_exactly_after_a_crash_between_parts(
        commits: list[dict[bytes, bytes | None]], crash_after: int, chunk: int) -> None:
    """The decision path stores a commit's states a chunk per slice of a turn: a crash
    between chunks (some of a partition's states stored, not all) still leaves a store that
    its changelog catches up exactly: the parts before the last keep the offset as it was."""
    import topologies.decision_path as path_module
    from tests.unit.topologies.test_decision_path_sweep import LocalOnly
    from topologies.loop.tables import Tables, changelog_topic

    log: list[tuple[int, bytes, bytes | None]] = []
    parts = 0
    with tempfile.TemporaryDirectory() as folder:
        tables = Tables(Path(folder), "g", ["t"], LocalOnly())  # type: ignore[arg-type]
        tables.assign([0])
        original = path_module.CHUNK
        path_module.CHUNK = 2  # several chunks per commit
        try:
            for changes in commits:
                for key, value in changes.items():
                    log.append((len(log), key, value))
                offsets = {(changelog_topic("g", "t"), 0): len(log) - 1}
                for group, part, last in path_module._chunks({("t", 0): changes}):
                    if parts < crash_after:
                        tables.store({group: part}, offsets, moves_offset=last)
                    parts += 1
        finally:
            path_module.CHUNK = original
        tables.close()  # the crash: what was stored stays
        store = PartitionStore.open(Path(folder) / "tables" / "t" / "0")
        apply_changelog(store, log[store.changelog_offset + 1:], chunk=chunk)
        assert dict(store.items()) == _latest(log)
        assert store.changelog_offset == len(log) - 1
        store.close()


@settings(max_examples=60, deadline=None)
@given(commits=commits, reopen_after=st.integers(min_value=0, max_value=12),
       probes=st.lists(keys, max_size=8))
def test_get_answers_as_rocksdb_does_before_and_after_writes_and_reopening(
        commits: list[dict[bytes, bytes | None]], reopen_after: int,
        probes: list[bytes]) -> None:
    """``get`` skips RocksDB while the store is empty: every answer is still the latest
    value written (None: never written or deleted), also after a reopen, and a store that
    held keys is never taken for empty (deletions included)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t" / "0"
        store = PartitionStore.open(path)
        latest: dict[bytes, bytes | None] = {}
        for n, changes in enumerate(commits):
            if n == reopen_after:
                store.close()
                store = PartitionStore.open(path)
            store.write(changes, changelog_offset=n)
            latest.update(changes)
            for key in [*changes, *probes]:
                assert store.get(key) == latest.get(key)
        if any(v is not None for v in latest.values()):
            assert not store.is_empty
        store.close()
        reopened = PartitionStore.open(path)
        assert reopened.is_empty == (not dict(reopened.items()))
        for key in [*latest, *probes]:
            assert reopened.get(key) == latest.get(key)
        reopened.close()
