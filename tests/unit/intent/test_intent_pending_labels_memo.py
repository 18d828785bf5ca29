"""PendingLabels.to_bytes keeps each snapshot's encoded part: the bytes are those of the
encoder without the memo (kept here as the reference), also when snapshots are encoded,
released and recorded again between calls, and the result reads back equal."""

from __future__ import annotations

import itertools
import struct
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.intent import PendingLabels
from pipeline.intent.pending import _FORMAT, _HEADER, _MAGIC
from tests.unit.intent.test_intent_pending_labels_format import _snapshots


def reference_to_bytes(pending: PendingLabels) -> bytes:
    """The format-2 encoder as it was before the memo (no state kept between calls)."""
    strings: dict[str, int] = {}
    rows: dict[tuple[str, ...], int] = {}

    def index(table: dict[Any, int], key: Any) -> int:
        return table.setdefault(key, len(table))

    layouts: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[int, struct.Struct]] = {}
    sessions: list[int] = []
    snapshot_words: list[int] = []
    numeric: list[bytes] = []
    for session_id, snapshots in pending._sessions.items():
        sessions += (index(strings, session_id), len(snapshots))
        for snapshot in snapshots:
            names = (tuple(snapshot.numeric), tuple(snapshot.categorical))
            layout = layouts.get(names)
            if layout is None:
                layout = layouts[names] = (len(layouts), struct.Struct(f"<{len(names[0])}d"))
            snapshot_words += (layout[0], index(rows, tuple(snapshot.categorical.values())))
            numeric.append(layout[1].pack(*snapshot.numeric.values()))
    layout_sizes = [len(n) for names in layouts for n in names]
    layout_names = [index(strings, name) for names in layouts for name in (*names[0], *names[1])]
    row_values = [index(strings, value) for row in rows for value in row]
    words = [len(text) for text in strings]
    for part in (layout_sizes, layout_names, [len(row) for row in rows], row_values,
                 sessions, snapshot_words):
        words += part
    packed = b"".join(numeric)
    return b"".join((
        _HEADER.pack(_MAGIC, _FORMAT, pending.max_per_session, pending.max_sessions,
                     len(strings), len(layouts), len(layout_names), len(rows), len(row_values),
                     len(pending._sessions), len(snapshot_words) // 2, len(packed) // 8),
        packed, np.array(words, dtype="<u4").tobytes(),
        "".join(strings).encode("utf-8", "surrogatepass")))


_sessions = st.sampled_from(["a", "b", "c", "d"])
_steps = st.lists(st.one_of(
    st.tuples(st.just("record"), _sessions, _snapshots),
    st.tuples(st.just("release"), _sessions, st.booleans()),
    st.tuples(st.just("encode"), st.none(), st.none()),
), max_size=30)


@settings(max_examples=200, deadline=None)
@given(steps=_steps, per_session=st.integers(1, 3), max_sessions=st.integers(1, 4))
def test_the_memo_changes_no_byte(steps: list[Any], per_session: int, max_sessions: int) -> None:
    pending = PendingLabels(max_per_session=per_session, max_sessions=max_sessions)
    for kind, session, arg in itertools.chain(steps, [("encode", None, None)]):
        if kind == "record":
            pending.record(session, *arg)
        elif kind == "release":
            pending.release(session, arg)
        else:
            data = pending.to_bytes()
            assert data == reference_to_bytes(pending)
            assert PendingLabels.from_bytes(data).to_bytes() == data


def test_a_snapshot_is_encoded_once() -> None:
    pending = PendingLabels()
    pending.record("s", {"clicks": 1.0}, {"device": "mobile"})
    pending.to_bytes()
    snapshot = pending._sessions["s"][0]
    first = snapshot.__dict__["_encoded"]
    pending.to_bytes()
    assert snapshot.__dict__["_encoded"] is first
