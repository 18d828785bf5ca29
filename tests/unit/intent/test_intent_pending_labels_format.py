"""Pending labels checkpoint: binary format 2 is exact, JSON format 1 is still read, bad bytes
raise PendingLabelsError and nothing else."""

from __future__ import annotations

import contextlib
import json
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.intent import PendingLabels, PendingLabelsError

# Written by the JSON format-1 code (rtp before format 2).
V1_FIXTURE = (
    b'{"v":1,"max_per_session":2,"max_sessions":5,"sessions":[["s1",[[{"page_views":1.0,'
    b'"cart_value":0.1},{"device":"mobile"}],[{"page_views":2.0,"cart_value":-0.0},'
    b'{"device":"mobile"}]]],["s2",[[{"page_views":1e-310},{"device":"desktop",'
    b'"sector":"travel"}]]]]}'
)

_chars = st.one_of(st.characters(), st.sampled_from(["\ud800", "\udfff", "é", "\x00", "😀"]))
_texts = st.text(_chars, max_size=6)
_names = st.one_of(st.sampled_from(["page_views", "cart_value", "device", "sector"]), _texts)
_floats = st.floats(allow_nan=False)  # -0.0, subnormals and infinities included
_snapshots = st.tuples(
    st.dictionaries(_names, _floats, max_size=5),
    st.dictionaries(_names, st.one_of(st.sampled_from(["mobile", "travel"]), _texts), max_size=4),
)
_records = st.lists(st.tuples(st.one_of(st.sampled_from(["a", "b", "c"]), _texts), _snapshots),
                    max_size=20)


def _build(records: list[Any], per_session: int, sessions: int) -> PendingLabels:
    pending = PendingLabels(max_per_session=per_session, max_sessions=sessions)
    for session_id, (numeric, categorical) in records:
        pending.record(session_id, numeric, categorical)
    return pending


def _exact(pending: PendingLabels, session_ids: list[str]) -> list[Any]:
    """What each session would release, in order, floats as bit patterns (so -0.0 != 0.0)."""
    view = []
    for session_id in dict.fromkeys(session_ids):
        view.append([
            ([(k, struct.pack("<d", v)) for k, v in e.numeric.items()],
             list(e.categorical.items()))
            for e in pending.release(session_id, converted=True)
        ])
    return view


def _model(records: list[Any], per_session: int, sessions: int) -> list[Any]:
    """What PendingLabels should hold, oldest session first: an independent model."""
    held: dict[str, list[Any]] = {}
    for session_id, snapshot in records:
        snapshots = held.pop(session_id, [])  # re-inserted: now the most recent session
        held[session_id] = [*snapshots, snapshot][-per_session:]
        while len(held) > sessions:
            del held[next(iter(held))]
    return list(held.items())


def _v1_json(held: list[Any], per_session: int, sessions: int) -> bytes:
    """Format 1 as the JSON writer wrote it."""
    return json.dumps({"v": 1, "max_per_session": per_session, "max_sessions": sessions,
                       "sessions": [[s, [list(snap) for snap in snaps]] for s, snaps in held]},
                      separators=(",", ":")).encode()


@settings(max_examples=150, deadline=None)
@given(records=_records, per_session=st.integers(1, 3), sessions=st.integers(1, 6))
def test_format_2_round_trips_exactly(records: list[Any], per_session: int,
                                      sessions: int) -> None:
    pending = _build(records, per_session, sessions)
    data = pending.to_bytes()
    restored = PendingLabels.from_bytes(data)
    assert (restored.max_per_session, restored.max_sessions, len(restored)) == (
        per_session, sessions, len(pending))
    assert restored.to_bytes() == data  # same sessions, same order, same key order
    ids = [r[0] for r in records]
    assert _exact(restored, ids) == _exact(pending, ids)


@settings(max_examples=100, deadline=None)
@given(records=_records, per_session=st.integers(1, 3), sessions=st.integers(1, 6))
def test_format_1_json_is_still_read_exactly(records: list[Any], per_session: int,
                                             sessions: int) -> None:
    held = _model(records, per_session, sessions)
    restored = PendingLabels.from_bytes(_v1_json(held, per_session, sessions))
    assert restored.to_bytes() == _build(records, per_session, sessions).to_bytes()
    expected = [[([(k, struct.pack("<d", v)) for k, v in numeric.items()],
                  list(categorical.items())) for numeric, categorical in snaps]
                for _, snaps in held]
    assert _exact(restored, [s for s, _ in held]) == expected


def test_a_checkpoint_written_by_the_json_code_is_read() -> None:
    pending = PendingLabels.from_bytes(V1_FIXTURE)
    assert (pending.max_per_session, pending.max_sessions, len(pending)) == (2, 5, 2)
    again = PendingLabels.from_bytes(pending.to_bytes())
    assert _exact(again, ["s1", "s2"]) == _exact(pending, ["s1", "s2"]) == [
        [([("page_views", struct.pack("<d", 1.0)), ("cart_value", struct.pack("<d", 0.1))],
          [("device", "mobile")]),
         ([("page_views", struct.pack("<d", 2.0)), ("cart_value", struct.pack("<d", -0.0))],
          [("device", "mobile")])],
        [([("page_views", struct.pack("<d", 1e-310))],
          [("device", "desktop"), ("sector", "travel")])],
    ]


def test_snapshots_with_the_same_names_share_one_layout() -> None:
    pending = PendingLabels(max_sessions=1_000)
    for i in range(200):
        pending.record(f"s{i}", {"page_views": float(i), "cart_value": 0.5},
                       {"device": "mobile", "sector": "travel"})
    per_snapshot = (len(pending.to_bytes()) - len(_two_sessions())) / 198
    # 2 float64 values, layout and row indices, the session (id index, snapshots, id
    # length, id text): feature names and repeated categorical values are not stored again
    assert per_snapshot <= 2 * 8 + 2 * 4 + 4 * 4


def _two_sessions() -> bytes:
    pending = PendingLabels(max_per_session=2)
    pending.record("s1", {"page_views": 1.0, "cart_value": 0.5},
                   {"device": "mobile", "sector": "travel"})
    pending.record("s2", {"page_views": 2.0, "cart_value": 0.5},
                   {"device": "mobile", "sector": "travel"})
    return pending.to_bytes()


def test_every_truncation_and_trailing_garbage_is_refused() -> None:
    data = _two_sessions()
    for end in range(len(data)):
        with pytest.raises(PendingLabelsError):
            PendingLabels.from_bytes(data[:end])
    with pytest.raises(PendingLabelsError):
        PendingLabels.from_bytes(data + b"x")


def _patched(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new):]


# _two_sessions(): strings s1 s2 page_views cart_value device sector mobile travel (8),
# 1 layout of 2 + 2 names, 1 row of 2 values, 2 sessions, 2 snapshots, 4 numeric values.
HEADER = 56
WORDS = HEADER + 8 * 4  # after the numeric values
LAYOUTS = WORDS + 4 * 8  # after the string lengths
NAMES = LAYOUTS + 4 * 2
ROWS = NAMES + 4 * 4
ROW_VALUES = ROWS + 4
SESSIONS = ROW_VALUES + 4 * 2
SNAPSHOTS = SESSIONS + 4 * 4
TEXT = SNAPSHOTS + 4 * 4


@pytest.mark.parametrize(
    ("offset", "new", "reason"),
    [
        (4, b"\x03", "version 3"),
        (8, struct.pack("<Q", 0), "must be >= 1"),  # max_per_session
        (16, struct.pack("<Q", 1), "more than max_sessions"),
        (24, struct.pack("<I", 0xFFFF_FFFF), "too short"),  # strings
        (52, struct.pack("<I", 0xFFFF), "too short"),  # numeric values
        (52, struct.pack("<I", 3), "do not add up"),
        (WORDS, struct.pack("<I", 3), "do not add up"),  # a string's length
        (LAYOUTS, struct.pack("<I", 3), "do not add up"),  # a layout's numeric names
        (NAMES, struct.pack("<I", 99), "out of range"),  # a name's string index
        (ROWS, struct.pack("<I", 3), "do not add up"),  # a row's length
        (ROW_VALUES, struct.pack("<I", 8), "out of range"),  # a value's string index
        (SESSIONS + 4, struct.pack("<I", 3), "snapshots"),  # snapshots of session 1
        (SESSIONS + 4, struct.pack("<I", 0), "snapshots"),
        (SESSIONS + 8, struct.pack("<I", 0), "do not add up"),  # session 2 is "s1" again
        (SNAPSHOTS, struct.pack("<I", 1), "out of range"),  # a snapshot's layout
        (SNAPSHOTS + 4, struct.pack("<I", 1), "out of range"),  # a snapshot's row
        (TEXT, b"\xff", "utf-8"),
    ],
)
def test_corrupt_fields_are_refused_with_a_reason(offset: int, new: bytes, reason: str) -> None:
    data = _two_sessions()
    assert data[TEXT:TEXT + 4] == b"s1s2" and len(data) == TEXT + 48  # the assumed layout
    with pytest.raises(PendingLabelsError, match=reason):
        PendingLabels.from_bytes(_patched(data, offset, new))


@settings(max_examples=300, deadline=None)
@given(position=st.integers(0, 10_000), value=st.integers(0, 255), cut=st.booleans())
def test_any_damaged_bytes_load_or_raise_pending_labels_error(
    position: int, value: int, cut: bool
) -> None:
    data = _two_sessions()
    position %= len(data)
    damaged = data[:position] if cut else _patched(data, position, bytes([value]))
    with contextlib.suppress(PendingLabelsError):  # anything else escaping fails the test
        PendingLabels.from_bytes(damaged)
