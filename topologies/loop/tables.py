"""The worker's tables: one local store per (table, partition) it owns, changes staged
in memory until a commit writes them to the changelogs first, then locally.

Reads see staged changes first (:class:`~pipeline.engine.staging.Staging`), so a record
sees what the records before it changed though nothing is written yet. Values are staged
as objects and encoded once per commit, not once per record: as they are when the commit
is sealed (:meth:`Tables.seal`), a slice per turn of the loop (:meth:`Tables.encode_some`),
and a sealed value a record is about to read (and change) first, so the commit never
holds the event path for the encoding of thousands of states at once.
"""

from __future__ import annotations

import itertools
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from pipeline.engine.staging import Change, Staging
from topologies.loop.outputs import Outputs
from topologies.loop.recovery import ChangelogReader
from topologies.loop.store import PartitionStore, StoreOptions

__all__ = ["Tables", "changelog_topic"]


def changelog_topic(group: str, table: str) -> str:
    """The compacted topic that holds ``table``'s changes (Faust's naming, kept).

    >>> changelog_topic("rtp-personalize", "visitors")
    'rtp-personalize-visitors-changelog'
    """
    return f"{group}-{table}-changelog"


class Tables:
    """Stores of the assigned partitions of each table, and the changes not yet committed."""

    def __init__(self, data_dir: Path, group: str, names: Iterable[str],
                 reader: ChangelogReader, options: StoreOptions | None = None) -> None:
        self.data_dir = data_dir
        self.group = group
        self.names = tuple(names)
        self.reader = reader
        self.options = options or StoreOptions()
        self.staging: Staging[Any] = Staging()
        self._stores: dict[tuple[str, int], PartitionStore] = {}
        #: The sealed changes not encoded yet, and how to encode them.
        self._sealed: dict[tuple[str, bytes], tuple[int, Any]] = {}
        self._encode: Callable[[Any], bytes] | None = None
        #: The sealed changes encoded so far, per (table, partition).
        self._encoded: dict[tuple[str, int], dict[bytes, bytes | None]] = {}

    def _path(self, table: str, partition: int) -> Path:
        return self.data_dir / "tables" / table / str(partition)

    # -- partitions -----------------------------------------------------------------------

    @property
    def partitions(self) -> set[int]:
        """Partitions whose stores are open (assigned)."""
        return {p for _, p in self._stores}

    def assign(self, partitions: Iterable[int]) -> None:
        """Open each table's store of ``partitions`` and bring it up to date."""
        for partition in partitions:
            for table in self.names:
                if (table, partition) in self._stores:
                    continue
                store = PartitionStore.open(self._path(table, partition), self.options)
                try:
                    store = self.reader.catch_up(store, changelog_topic(self.group, table),
                                                 partition, self.options)
                except BaseException:
                    store.close()
                    raise
                self._stores[table, partition] = store

    def revoke(self, partitions: Iterable[int]) -> None:
        """Close the stores of ``partitions`` (their files stay for a later assignment)."""
        for partition in partitions:
            for table in self.names:
                store = self._stores.pop((table, partition), None)
                if store is not None:
                    store.close()

    def close(self) -> None:
        """Close every store."""
        self.revoke(sorted(self.partitions))

    def prune(self) -> list[int]:
        """Delete the folders of partitions not open now (after a full assignment): a
        store left on disk while others change the changelog could later catch up from
        an offset whose deletions compaction has removed since. Returns them."""
        pruned: set[int] = set()
        for table in self.names:
            for partition in self.local_partitions(table):
                if (table, partition) not in self._stores:
                    shutil.rmtree(self._path(table, partition), ignore_errors=True)
                    pruned.add(partition)
        return sorted(pruned)

    def local_partitions(self, table: str) -> list[int]:
        """Partitions of ``table`` with a folder here (assigned now or before)."""
        folder = self.data_dir / "tables" / table
        if not folder.exists():
            return []
        return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())

    def read_local(self, table: str, partition: int) -> list[tuple[bytes, bytes]]:
        """Every stored item of a partition, assigned or not (its folder as it is)."""
        store = self._stores.get((table, partition))
        if store is not None:
            return list(store.items())
        if partition not in self.local_partitions(table):
            return []
        other = PartitionStore.open(self._path(table, partition), self.options)
        try:
            return list(other.items())
        finally:
            other.close()

    # -- reads and staged writes ----------------------------------------------------------

    def get(self, table: str, partition: int, key: bytes) -> tuple[bool, Any]:
        """(staged?, value): a staged object, else the stored bytes (None: absent)."""
        staged, value = self.staged(table, key)
        return (True, value) if staged else (False, self.stored(table, partition, key))

    def staged(self, table: str, key: bytes) -> tuple[bool, Any]:
        """(staged?, value) of :meth:`get` without the store's read: for a caller that
        keeps the latest values itself (the decision path's state cache) and reads the
        store (:meth:`stored`) only when it has none."""
        staged, value = self.staging.get(table, key)
        if staged:
            self._encode_before_change(table, key)
        return staged, value

    def stored(self, table: str, partition: int, key: bytes) -> bytes | None:
        """The stored bytes of ``key`` (None: absent), staged changes not looked at: what
        :meth:`get` answers for a key that :meth:`staged` says is not staged."""
        store = self._stores.get((table, partition))
        return store.get(key) if store is not None else None

    def stage(self, table: str, partition: int, key: bytes, value: Any) -> None:
        """Change ``key`` (None: delete it) at the next commit."""
        self.staging.put(table, key, partition, value)

    def items(self, table: str, partition: int) -> Iterator[tuple[bytes, bool, Any]]:
        """(key, staged?, value) of every key of a partition, staged over stored; staged
        deletions are left out."""
        staged = {c.key: c.value for c in self.staging.in_partition(table, partition)}
        for key in staged:
            self._encode_before_change(table, key)
        for key, value in staged.items():
            if value is not None:
                yield key, True, value
        store = self._stores.get((table, partition))
        if store is not None:
            for key, value in store.items():
                if key not in staged:
                    yield key, False, value

    def scan(self, table: str, partition: int, after: bytes | None,
             limit: int) -> list[tuple[bytes, bool, Any]]:
        """Up to ``limit`` stored keys of a partition above ``after``, in key order, each with
        its latest value (staged over stored): (key, staged?, value). Fewer than ``limit``:
        the partition is done. Keys staged but never stored yet are not visited."""
        store = self._stores.get((table, partition))
        if store is None:
            return []
        out = []
        for key, value in itertools.islice(store.items(after), limit):
            staged, latest = self.staging.get(table, key)
            if staged:
                self._encode_before_change(table, key)
            out.append((key, True, latest) if staged else (key, False, value))
        return out

    def drop_uncommitted(self) -> None:
        """Forget every staged change (the records are applied again by their owner)."""
        self.staging.clear()
        self._sealed, self._encoded = {}, {}

    # -- the commit -----------------------------------------------------------------------

    def write(self, changes: list[Change[Any]], outputs: Outputs, encode: Callable[[Any], bytes],
              timeout_s: float) -> None:
        """Write ``changes``: to their changelogs, acknowledged, then to the local stores
        with the changelog offsets they reflect (waits; see :meth:`encode` for the steps)."""
        encoded = self.encode(changes, encode)
        if not encoded:
            return
        self.send(encoded, outputs)
        outputs.flush(timeout_s)
        self.store(encoded, outputs.take_offsets())

    def encode(self, changes: list[Change[Any]],
               encode: Callable[[Any], bytes]) -> dict[tuple[str, int], dict[bytes, bytes | None]]:
        """The commit's first step at once: ``changes`` as bytes per (table, partition), as
        they are now. Then :meth:`send` them, and once the broker acknowledged them,
        :meth:`store` them."""
        self.seal(changes, encode)
        self.encode_some(float("inf"))
        return self.take_encoded()

    def seal(self, changes: list[Change[Any]], encode: Callable[[Any], bytes]) -> None:
        """The commit's first step begun: ``changes`` are to be encoded as they are now (a
        staged object changes on with later records): :meth:`encode_some` encodes a slice;
        a read that hands a sealed object out (to be changed) encodes it first."""
        self.seal_staged({(c.table, c.key): (c.partition, c.value) for c in changes}, encode)

    def seal_staged(self, staged: dict[tuple[str, bytes], tuple[int, Any]],
                    encode: Callable[[Any], bytes]) -> None:
        """:meth:`seal` of the changes as :meth:`Staging.take_staged` hands them over
        ((table, key) -> (partition, value); not changed by the caller afterwards)."""
        if self._sealed:
            raise RuntimeError("the changes sealed before are not all encoded")
        self._sealed = dict(staged)
        self._encode = encode
        self._encoded = {}

    def encode_some(self, budget_s: float) -> bool:
        """Encode sealed changes for about ``budget_s`` (at least one); True when all are."""
        deadline = time.perf_counter() + budget_s
        sealed = self._sealed
        while sealed:
            (table, key), (partition, value) = sealed.popitem()
            self._encode_one(table, key, partition, value)
            if time.perf_counter() >= deadline:
                break
        return not sealed

    def take_encoded(self) -> dict[tuple[str, int], dict[bytes, bytes | None]]:
        """The sealed changes, encoded (after :meth:`encode_some` said all are)."""
        encoded, self._encoded = self._encoded, {}
        return encoded

    def _encode_before_change(self, table: str, key: bytes) -> None:
        if self._sealed:
            change = self._sealed.pop((table, key), None)
            if change is not None:
                self._encode_one(table, key, *change)

    def _encode_one(self, table: str, key: bytes, partition: int, value: Any) -> None:
        if (table, partition) not in self._stores:
            return  # not ours (revoked meanwhile): its owner writes that key
        assert self._encode is not None
        encoded = None if value is None else self._encode(value)
        self._encoded.setdefault((table, partition), {})[key] = encoded

    def send(self, encoded: dict[tuple[str, int], dict[bytes, bytes | None]],
             outputs: Outputs) -> None:
        """Produce encoded changes to their changelogs (never waits)."""
        for (table, partition), values in encoded.items():
            topic = changelog_topic(self.group, table)
            for key, value in values.items():
                outputs.send(topic, key, value, partition=partition, track_offset=True)

    def store(self, encoded: dict[tuple[str, int], dict[bytes, bytes | None]],
              offsets: dict[tuple[str, int], int], moves_offset: bool = True) -> None:
        """Write acknowledged changes locally, with the changelog offsets they reflect
        (``offsets``: :meth:`Outputs.take_offsets` once every change sent is acknowledged).

        A partition's changes may be stored in several parts (a slice of the loop's turn
        each): every part but the last keeps the store's changelog offset as it was
        (``moves_offset`` False), so a crash between parts catches the store up from there,
        which writes every part's changes again from the changelog; the last part moves it.
        """
        for (table, partition), values in encoded.items():
            store = self._stores.get((table, partition))
            offset = offsets.get((changelog_topic(self.group, table), partition))
            if store is not None and offset is not None:
                store.write(values, offset if moves_offset else store.changelog_offset)
