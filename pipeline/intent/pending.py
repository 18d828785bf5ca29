"""Delayed labels: remember what the model saw at prediction time until the session ends.

Whether a session converts is known only when it ends, so the features of each prediction
are kept per session and released, labelled, when the session closes. Learning from the
features *as they were when predicting* (not the final ones) is what makes the model useful
early in a session.

>>> pending = PendingLabels()
>>> pending.record("s1", {"page_views": 1.0}, {"sector": "travel"})
>>> pending.record("s1", {"page_views": 4.0}, {"sector": "travel"})
>>> [(e.numeric["page_views"], e.converted) for e in pending.release("s1", converted=True)]
[(4.0, True)]
>>> pending.release("s1", converted=True)
[]
"""

from __future__ import annotations

import itertools
import json
import struct
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import numpy as np

from pipeline.intent.errors import PendingLabelsError

__all__ = ["LabeledExample", "PendingLabels", "Snapshot"]

# Format 2 (binary; format 1 was JSON and is still read). Every string (session ids,
# feature names, categorical values) is stored once in a table. Snapshots with the same
# feature names (in practice all of them) share a "layout" and snapshots with the same
# categorical values share a "row", so a snapshot stores its numeric values, a layout
# index and a row index. All little-endian:
#   header: magic, format, max_per_session, max_sessions, then the counts of strings,
#           layouts, layout names, rows, row values, sessions, snapshots, numeric values
#   numeric values float64 | uint32 words: string lengths (code points); per layout
#   (numeric names, categorical names); layout names (string indices); row lengths; row
#   values (string indices); per session (id's string index, snapshots); per snapshot
#   (layout index, row index) | the strings' UTF-8 text
_MAGIC = b"rtpS"
_FORMAT = 2
_HEADER = struct.Struct("<4sBxxxQQIIIIIIII")
_Key = TypeVar("_Key", str, tuple[str, ...])
_Items = TypeVar("_Items", str, list[str], list[int])
#: Distinct layouts / rows of categorical values interned at most (then started afresh).
_MAX_INTERNED = 100_000


class _Table(dict[_Key, int]):
    """A table being built: looking a key up adds it if new (its index is its position)."""

    def __missing__(self, key: _Key) -> int:
        index = self[key] = len(self)
        return index


@dataclass(frozen=True)
class Snapshot:
    """Session features as the model saw them.

    >>> Snapshot({"page_views": 1.0}, {}).numeric
    {'page_views': 1.0}
    """

    numeric: dict[str, float]
    categorical: dict[str, str]


class _Encoded(NamedTuple):
    """A snapshot's part of the binary format: interned layout and row, packed numbers."""

    layout: tuple[tuple[str, ...], tuple[str, ...]]
    row: tuple[str, ...]
    packed: bytes


@dataclass(frozen=True)
class LabeledExample:
    """A snapshot with its label, ready for :meth:`IntentModel.learn`.

    >>> LabeledExample({}, {}, converted=False).converted
    False
    """

    numeric: dict[str, float]
    categorical: dict[str, str]
    converted: bool


class PendingLabels:
    """Snapshots per session, bounded in both directions.

    Parameters
    ----------
    max_per_session
        Snapshots kept per session, the most recent ones (1: only the last, so a long
        session does not outweigh a short one).
    max_sessions
        Sessions tracked at once; recording a new one beyond it forgets the least recently
        recorded session (its label can no longer be learned).

    >>> pending = PendingLabels(max_per_session=2, max_sessions=1)
    >>> for views in (1.0, 2.0, 3.0):
    ...     pending.record("a", {"page_views": views}, {})
    >>> pending.record("b", {"page_views": 1.0}, {})
    >>> "a" in pending, len(pending)
    (False, 1)
    """

    def __init__(self, max_per_session: int = 1, max_sessions: int = 10_000) -> None:
        if max_per_session < 1 or max_sessions < 1:
            raise PendingLabelsError("max_per_session and max_sessions must be >= 1")
        self.max_per_session = max_per_session
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, deque[Snapshot]] = OrderedDict()
        #: Interned layouts (with their packer) and rows of categorical values, see _encoded.
        self._layouts: dict[tuple[tuple[str, ...], tuple[str, ...]],
                            tuple[tuple[tuple[str, ...], tuple[str, ...]], struct.Struct]] = {}
        self._rows: dict[tuple[str, ...], tuple[str, ...]] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._sessions

    def record(
        self, session_id: str, numeric: Mapping[str, float], categorical: Mapping[str, str]
    ) -> None:
        """Remember the features of a prediction made in ``session_id``.

        >>> pending = PendingLabels()
        >>> pending.record("s", {"clicks": 2.0}, {"device": "mobile"})
        >>> len(pending)
        1
        """
        snapshots = self._sessions.get(session_id)
        if snapshots is None:
            snapshots = deque(maxlen=self.max_per_session)
            self._sessions[session_id] = snapshots
        else:
            self._sessions.move_to_end(session_id)
        snapshots.append(
            Snapshot(
                {k: float(v) for k, v in numeric.items()},
                {k: str(v) for k, v in categorical.items()},
            )
        )
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)

    def release(self, session_id: str, converted: bool) -> list[LabeledExample]:
        """The session ended (or converted): its snapshots, labelled, and forget them.

        >>> pending = PendingLabels()
        >>> pending.record("s", {"clicks": 1.0}, {})
        >>> pending.release("s", converted=False)[0].converted
        False
        >>> pending.release("unknown", converted=True)
        []
        """
        snapshots = self._sessions.pop(session_id, None)
        if not snapshots:
            return []
        return [LabeledExample(s.numeric, s.categorical, bool(converted)) for s in snapshots]

    def discard(self, session_id: str) -> bool:
        """Forget a session without learning from it (opt-out, erasure); True if it was known.

        >>> pending = PendingLabels()
        >>> pending.record("s", {}, {})
        >>> pending.discard("s"), pending.discard("s")
        (True, False)
        """
        return self._sessions.pop(session_id, None) is not None

    def to_bytes(self) -> bytes:
        """Compact binary (format 2), oldest session first; floats are kept bit for bit.

        It runs at every worker commit over every pending session, so each snapshot's part
        (its layout, its row of categorical values, its packed numbers) is worked out once
        and kept (:meth:`_encoded`); the tables are then built from those parts.

        >>> pending = PendingLabels(max_per_session=2)
        >>> pending.record("s", {"clicks": 1.0}, {"device": "tablet"})
        >>> restored = PendingLabels.from_bytes(pending.to_bytes())
        >>> restored.max_per_session, restored.release("s", True)[0].categorical
        (2, {'device': 'tablet'})
        """
        strings: _Table[str] = _Table()
        layout_index: dict[int, int] = {}
        layouts: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        row_index: dict[int, int] = {}
        rows: list[tuple[str, ...]] = []
        sessions: list[int] = []
        snapshot_words: list[int] = []
        numeric: list[bytes] = []
        encoded = self._encoded
        for session_id, snapshots in self._sessions.items():
            sessions += (strings[session_id], len(snapshots))
            for snapshot in snapshots:
                layout, row, packed = encoded(snapshot)
                at = layout_index.get(id(layout))
                if at is None:
                    at = layout_index[id(layout)] = len(layouts)
                    layouts.append(layout)
                row_at = row_index.get(id(row))
                if row_at is None:
                    row_at = row_index[id(row)] = len(rows)
                    rows.append(row)
                snapshot_words += (at, row_at)
                numeric.append(packed)
        layout_sizes = [len(n) for names in layouts for n in names]
        layout_names = [strings[name] for names in layouts for name in (*names[0], *names[1])]
        row_values = [strings[value] for row in rows for value in row]
        words = [len(text) for text in strings]  # every string is known by now
        for part in (layout_sizes, layout_names, [len(row) for row in rows], row_values,
                     sessions, snapshot_words):
            words += part
        packed_numeric = b"".join(numeric)
        return b"".join((
            _HEADER.pack(_MAGIC, _FORMAT, self.max_per_session, self.max_sessions, len(strings),
                         len(layouts), len(layout_names), len(rows), len(row_values),
                         len(self._sessions), len(snapshot_words) // 2,
                         len(packed_numeric) // 8),
            packed_numeric,
            np.array(words, dtype="<u4").tobytes(),
            "".join(strings).encode("utf-8", "surrogatepass"),
        ))

    def _encoded(self, snapshot: Snapshot) -> _Encoded:
        """(layout, row, packed numbers) of ``snapshot``, worked out once per snapshot.

        Equal layouts and rows are one shared tuple (interned here), so that the encoder
        tells them apart by identity instead of hashing tuples of dozens of names. The
        interned rows are forgotten beyond ``_MAX_INTERNED`` (many distinct categorical
        values): the bytes then repeat equal rows, which read back the same.
        """
        done: _Encoded | None = snapshot.__dict__.get("_encoded")
        if done is not None:
            return done
        names = (tuple(snapshot.numeric), tuple(snapshot.categorical))
        layout = self._layouts.get(names)
        if layout is None:
            if len(self._layouts) >= _MAX_INTERNED:
                self._layouts.clear()
            layout = self._layouts[names] = (names, struct.Struct(f"<{len(names[0])}d"))
        values = tuple(snapshot.categorical.values())
        if len(self._rows) >= _MAX_INTERNED:
            self._rows.clear()
        row = self._rows.setdefault(values, values)
        done = _Encoded(layout[0], row, layout[1].pack(*snapshot.numeric.values()))
        object.__setattr__(snapshot, "_encoded", done)  # a cache, not a field: eq/repr ignore it
        return done

    @classmethod
    def from_bytes(cls, data: bytes) -> PendingLabels:
        """Inverse of :meth:`to_bytes` (format 2; format 1, JSON, is read too).

        Raises :class:`PendingLabelsError` on bad input.

        >>> PendingLabels.from_bytes(b"{}")
        Traceback (most recent call last):
        ...
        pipeline.intent.errors.PendingLabelsError: cannot decode pending labels: 'v'
        """
        try:
            if data[:len(_MAGIC)] == _MAGIC:
                return cls._from_binary(data)
            return cls._from_json(data)
        except PendingLabelsError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError,
                struct.error) as error:
            raise PendingLabelsError(f"cannot decode pending labels: {error}") from error

    @classmethod
    def _from_json(cls, data: bytes) -> PendingLabels:
        body = json.loads(data)
        if body["v"] != 1:
            raise PendingLabelsError(f"unsupported pending labels version {body['v']!r}")
        pending = cls(int(body["max_per_session"]), int(body["max_sessions"]))
        for session_id, snapshots in body["sessions"]:
            for numeric, categorical in snapshots:
                pending.record(str(session_id), numeric, categorical)
        return pending

    @classmethod
    def _from_binary(cls, data: bytes) -> PendingLabels:
        if len(data) < _HEADER.size:
            raise ValueError(f"{len(data)} bytes is shorter than the header")
        (_, version, per_session, max_sessions, n_strings, n_layouts, n_names, n_rows,
         n_row_values, n_sessions, n_snapshots, n_numeric) = _HEADER.unpack_from(data)
        if version != _FORMAT:
            raise PendingLabelsError(f"unsupported pending labels version {version}")
        pending = cls(per_session, max_sessions)
        if n_sessions > max_sessions:
            raise ValueError(f"{n_sessions} sessions is more than max_sessions {max_sessions}")
        counts = [n_strings, 2 * n_layouts, n_names, n_rows, n_row_values, 2 * n_sessions,
                  2 * n_snapshots]
        words_at = _HEADER.size + 8 * n_numeric
        text_at = words_at + 4 * sum(counts)
        if len(data) < text_at:
            raise ValueError(f"{len(data)} bytes is too short for its header")
        words = np.frombuffer(data, dtype="<u4", count=sum(counts), offset=words_at).tolist()
        (string_lengths, layout_sizes, layout_names, row_lengths, row_values, sessions,
         snapshot_words) = _cut(words, counts)
        text = data[text_at:].decode("utf-8", "surrogatepass")
        if sum(string_lengths) != len(text):
            raise ValueError("string lengths do not add up to the stored text")
        strings = _cut(text, string_lengths)
        if sum(layout_sizes) != n_names or sum(row_lengths) != n_row_values:
            raise ValueError("layout sizes or row lengths do not add up to the stored strings")
        names = _cut([strings[i] for i in layout_names], layout_sizes)
        layouts = [(numeric_names, categorical_names, struct.Struct(f"<{len(numeric_names)}d"))
                   for numeric_names, categorical_names in zip(names[::2], names[1::2],
                                                               strict=True)]
        rows = _cut([strings[i] for i in row_values], row_lengths)
        offset = _HEADER.size
        snapshot = 0
        for session, count in zip(sessions[::2], sessions[1::2], strict=True):
            if not 1 <= count <= per_session:
                raise ValueError(f"a session with {count} snapshots (1..{per_session} allowed)")
            snapshots: deque[Snapshot] = deque(maxlen=per_session)
            for at in range(2 * snapshot, 2 * (snapshot + count), 2):
                numeric_names, categorical_names, packer = layouts[snapshot_words[at]]
                values = packer.unpack_from(data, offset)
                offset += packer.size
                snapshots.append(Snapshot(
                    dict(zip(numeric_names, values, strict=True)),
                    dict(zip(categorical_names, rows[snapshot_words[at + 1]], strict=True))))
            snapshot += count
            pending._sessions[strings[session]] = snapshots
        if (snapshot, offset, len(pending._sessions)) != (n_snapshots, words_at, n_sessions):
            raise ValueError("sessions and snapshots do not add up to the stored values")
        return pending


def _cut(items: _Items, lengths: list[int]) -> list[_Items]:
    """``items`` cut in consecutive pieces of ``lengths`` (a short last piece if it runs out)."""
    bounds = itertools.accumulate(lengths, initial=0)
    return [items[a:b] for a, b in itertools.pairwise(bounds)]
