"""One partition of one table in a local RocksDB (rocksdict), with the changelog offset it holds.

Values are raw bytes. Every write is one atomic batch that also records the offset
of the last changelog record it reflects, so after a crash the store knows exactly
where to resume reading its changelog (:mod:`topologies.loop.recovery`).

>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> store = PartitionStore.open(Path(folder) / "visitors" / "0")
>>> store.changelog_offset
-1
>>> store.write({b"v1": b"state", b"v2": None}, changelog_offset=41)
>>> store.get(b"v1"), store.get(b"v2"), store.changelog_offset
(b'state', None, 41)
>>> store.close(); store = PartitionStore.open(Path(folder) / "visitors" / "0")
>>> list(store.items()), store.changelog_offset
([(b'v1', b'state')], 41)
>>> store.close()
"""

from __future__ import annotations

import shutil
import struct
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rocksdict import Options, Rdict, WriteBatch

__all__ = ["PartitionStore", "StoreOptions"]

_META = "rtp-meta"
_OFFSET_KEY = b"changelog-offset"
_WRITTEN_KEY = b"written-ms"
_OFFSET = struct.Struct("<q")


@dataclass(frozen=True)
class StoreOptions:
    """RocksDB settings of a partition store (the defaults suit visitor states of ~1 KB).

    >>> StoreOptions().to_rocksdict().__class__.__name__
    'Options'
    """

    #: Memtable size, bytes: writes batch per commit, so a small one flushes often.
    write_buffer_size: int = 16 * 1024 * 1024
    max_open_files: int = 256

    def to_rocksdict(self) -> Options:
        """The rocksdict options object (raw bytes keys and values)."""
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        options.create_missing_column_families(True)
        options.set_write_buffer_size(self.write_buffer_size)
        options.set_max_open_files(self.max_open_files)
        return options


class PartitionStore:
    """Raw-bytes key-value store of one table partition, plus its changelog offset."""

    def __init__(self, path: Path, db: Rdict, options: Options) -> None:
        self.path = path
        self._db = db
        self._options = options
        self._meta: Any = db.get_column_family(_META)
        self._meta_handle: Any = db.get_column_family_handle(_META)
        raw = self._meta.get(_OFFSET_KEY)
        self._offset = _OFFSET.unpack(raw)[0] if raw is not None else -1
        raw = self._meta.get(_WRITTEN_KEY)
        self._written_ms = _OFFSET.unpack(raw)[0] if raw is not None else -1
        #: Whether the store holds no key at all (every write is :meth:`write`'s: one that
        #: puts a key clears it): a read of an empty store needs no call into RocksDB. A
        #: worker reads the profile-views table at every event, and it stays empty when no
        #: profile side runs.
        self._empty = next(iter(db.keys()), None) is None

    @classmethod
    def open(cls, path: Path, options: StoreOptions | None = None) -> PartitionStore:
        """Open (or create) the store in folder ``path``."""
        path.mkdir(parents=True, exist_ok=True)
        opts = (options or StoreOptions()).to_rocksdict()
        db = Rdict(str(path), opts, column_families={_META: opts})
        return cls(path, db, opts)

    @property
    def changelog_offset(self) -> int:
        """Offset of the last changelog record this store reflects (-1: none)."""
        return self._offset

    @property
    def written_ms(self) -> int:
        """Wall-clock ms of the last write (-1: never written).

        A store idle for longer than its changelog keeps tombstones
        (``delete.retention.ms``) may have missed deletions: it is rebuilt, not caught up.
        """
        return self._written_ms

    def get(self, key: bytes) -> bytes | None:
        """The stored value of ``key``, or None.

        >>> import tempfile
        >>> store = PartitionStore.open(Path(tempfile.mkdtemp()))
        >>> store.get(b"a"), store.is_empty
        (None, True)
        >>> store.write({b"a": b"1"}, changelog_offset=0)
        >>> store.get(b"a"), store.is_empty
        (b'1', False)
        >>> store.close()
        """
        if self._empty:
            return None
        value: bytes | None = self._db.get(key)
        return value

    @property
    def is_empty(self) -> bool:
        """Whether no key was ever stored here (since the store was opened empty); a
        deletion never makes a store empty again (reads then just ask RocksDB)."""
        return self._empty

    def items(self, after: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        """Every key and value in key order (not the store's own bookkeeping); ``after``:
        only the keys above it.

        >>> import tempfile
        >>> store = PartitionStore.open(Path(tempfile.mkdtemp()))
        >>> store.write({b"a": b"1", b"b": b"2", b"c": b"3"}, changelog_offset=0)
        >>> [k for k, _ in store.items(after=b"a")]
        [b'b', b'c']
        >>> store.close()
        """
        if after is None:
            yield from self._db.items()
            return
        items: Iterator[tuple[Any, Any]] = self._db.items(from_key=after)  # raw mode: bytes
        for key, value in items:
            if key != after:
                yield key, value

    def write(self, changes: Mapping[bytes, bytes | None], changelog_offset: int,
              now_ms: int | None = None) -> None:
        """Apply ``changes`` (None: delete) and record ``changelog_offset`` (and the time
        of the write, wall clock unless ``now_ms``), atomically."""
        batch = WriteBatch(raw_mode=True)
        puts = False
        for key, value in changes.items():
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
                puts = True
        written = int(time.time() * 1000) if now_ms is None else now_ms
        batch.put(_OFFSET_KEY, _OFFSET.pack(changelog_offset), self._meta_handle)
        batch.put(_WRITTEN_KEY, _OFFSET.pack(written), self._meta_handle)
        self._db.write(batch)
        if puts:
            self._empty = False
        self._offset, self._written_ms = changelog_offset, written

    def flush(self) -> None:
        """Write the memtable to SST files (for measuring; RocksDB does it by itself)."""
        self._db.flush()

    def close(self) -> None:
        """Close the database (the files stay)."""
        del self._meta, self._meta_handle
        self._db.close()

    def destroy(self) -> None:
        """Close and delete the files (the changelog no longer matches them)."""
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)
