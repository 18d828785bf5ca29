"""Pending rewards checkpoint: binary format 5 (a row per decision, sparse contexts) is
exact (closed ids included), formats 4 (columns), 3 (dense), 2 and 1 (JSON) are still read,
bad bytes raise PendingRewardsError and nothing else."""

from __future__ import annotations

import base64
import contextlib
import json
import math
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.feedback import OUTCOME_KINDS, PendingRewards, PendingRewardsError, RewardOptions

WAIT = RewardOptions().reward_wait_ms
OPTIONS = RewardOptions(max_pending=1_000)

# Written by the JSON format-1 code (rtp before format 2): two decisions, one clicked and
# converted with revenue, context floats that text would round (0.1, -0.0, 5e-324, 1/3).
V1_FIXTURE = (
    b'{"v":1,"pending":[["d1","v1","cta_change","AAAAAAAA8D+amZmZmZm5PwAAAAAAAACAAQAAAAAAAABV'
    b'VVVVVVXVPw==",1800000000000,0.1,["clicked","converted"],49.99,true],["d2","v\\u00e9",'
    b'"no_action","AAAAAAAA8D8AAAAAAAAAAAAAAAAAAARAAAAAAAAAHMCcdQCIPOQ3fg==",1800000001000,'
    b'1.0,[],0.0,false]]}'
)

_chars = st.one_of(st.characters(), st.sampled_from(["\ud800", "\udfff", "é", "\x00", "😀"]))
_texts = st.text(_chars, max_size=8)
_finite = st.floats(allow_nan=False, allow_infinity=False)
_decisions = st.lists(
    st.tuples(
        _texts,  # decision id
        _texts,  # visitor id
        _texts,  # action id
        st.integers(-(2**63), 2**63 - 1),  # created_at
        st.floats(allow_nan=False),  # propensity: not validated, so any non-NaN float
        st.lists(_finite, max_size=8),  # context vector, lengths may differ
    ),
    max_size=12,
)
_outcomes = st.lists(
    st.tuples(st.integers(0, 11), st.sampled_from(OUTCOME_KINDS), st.integers(0, WAIT), _finite),
    max_size=16,
)


def _build(decisions: list[Any], outcomes: list[Any]) -> PendingRewards:
    pending = PendingRewards(OPTIONS)
    for decision_id, visitor, action, created_at, propensity, context in decisions:
        pending.register({"decision_id": decision_id, "visitor_id": visitor,
                          "action_id": action, "propensity": propensity,
                          "created_at": created_at}, context)
    for index, kind, offset, value in outcomes:
        if index < len(decisions):
            decision_id, *_, created_at, _propensity, _context = decisions[index]
            pending.on_outcome({"decision_id": decision_id, "kind": kind, "value": value,
                                "event_time": created_at + offset})
    return pending


def _bits(value: float) -> bytes:
    return struct.pack("<d", value)


def _exact(pending: PendingRewards, ids: list[str]) -> list[Any]:
    """Every field of every pending decision, floats as their bit patterns."""
    view = []
    for decision_id in dict.fromkeys(ids):
        entry = pending.get(decision_id)
        view.append(None if entry is None else (
            entry.decision_id, entry.visitor_id, entry.action_id,
            [_bits(v) for v in entry.context], entry.decided_at_ms, _bits(entry.propensity),
            entry.kinds, _bits(entry.revenue), entry.observed,
        ))
    return view


def _v1_json(pending: PendingRewards, ids: list[str]) -> bytes:
    """Format 1 as the JSON writer wrote it (context vectors as base64 float64)."""
    rows = []
    for decision_id in dict.fromkeys(ids):
        e = pending.get(decision_id)
        if e is not None:
            vector = base64.b64encode(struct.pack(f"<{len(e.context)}d", *e.context)).decode()
            rows.append([e.decision_id, e.visitor_id, e.action_id, vector, e.decided_at_ms,
                         e.propensity, sorted(e.kinds), e.revenue, e.observed])
    return json.dumps({"v": 1, "pending": rows}, separators=(",", ":")).encode()


def _v4_bytes(pending: PendingRewards) -> bytes:
    """Format 4 as the format-4 code wrote it (columns; contexts sparse, +0.0 left out)."""
    ids = pending.decision_ids()
    entries = [e for e in (pending.get(d) for d in ids) if e is not None]
    closed = pending.closed_ids()
    positions = [[i for i, x in enumerate(e.context) if x or math.copysign(1.0, x) < 0.0]
                 for e in entries]
    kinds = ("shown", "clicked", "dismissed", "converted", "ignored")
    flags = bytes(sum(1 << kinds.index(k) for k in e.kinds) | (0x80 if e.observed else 0)
                  for e in entries)
    strings = ([e.decision_id for e in entries] + [e.visitor_id for e in entries]
               + [e.action_id for e in entries] + closed)
    return b"".join((
        struct.pack("<4sBxxxIII", b"rtpR", 4, len(entries), sum(map(len, positions)),
                    len(closed)),
        np.array([e.decided_at_ms for e in entries], dtype="<i8").tobytes(),
        np.array([e.propensity for e in entries], dtype="<f8").tobytes(),
        np.array([e.revenue for e in entries], dtype="<f8").tobytes(),
        b"".join(struct.pack(f"<{len(p)}d", *[e.context[i] for i in p])
                 for e, p in zip(entries, positions, strict=True)),
        np.array([len(e.context) for e in entries], dtype="<u4").tobytes(),
        np.array([len(p) for p in positions], dtype="<u2").tobytes(),
        b"".join(struct.pack(f"<{len(p)}H", *p) for p in positions),
        np.array([len(t) for t in strings], dtype="<u4").tobytes(),
        flags,
        "".join(strings).encode("utf-8", "surrogatepass"),
    ))


@settings(max_examples=150, deadline=None)
@given(decisions=_decisions, outcomes=_outcomes)
def test_format_4_is_still_read_exactly(decisions: list[Any], outcomes: list[Any]) -> None:
    pending = _build(decisions, outcomes)
    ids = [d[0] for d in decisions]
    restored = PendingRewards.from_bytes(_v4_bytes(pending), OPTIONS)
    assert _exact(restored, ids) == _exact(pending, ids)
    assert restored.closed_ids() == pending.closed_ids()
    assert restored.to_bytes() == pending.to_bytes()


@settings(max_examples=150, deadline=None)
@given(decisions=_decisions, outcomes=_outcomes)
def test_format_5_round_trips_exactly(decisions: list[Any], outcomes: list[Any]) -> None:
    pending = _build(decisions, outcomes)
    ids = [d[0] for d in decisions]
    data = pending.to_bytes()
    restored = PendingRewards.from_bytes(data, OPTIONS)
    assert data[4] == 5
    assert len(restored) == len(pending)
    assert _exact(restored, ids) == _exact(pending, ids)
    assert restored.closed_ids() == pending.closed_ids()
    assert restored.to_bytes() == data  # same order too (eviction and expiry depend on it)
    far = max((d[3] for d in decisions), default=0) + WAIT
    assert restored.expire(far) == pending.expire(far)


@settings(max_examples=100, deadline=None)
@given(decisions=_decisions, outcomes=_outcomes)
def test_format_1_json_is_still_read_exactly(decisions: list[Any], outcomes: list[Any]) -> None:
    pending = _build(decisions, outcomes)
    ids = [d[0] for d in decisions]
    restored = PendingRewards.from_bytes(_v1_json(pending, ids), OPTIONS)
    assert _exact(restored, ids) == _exact(pending, ids)
    assert restored.to_bytes() == pending.to_bytes()


def test_a_checkpoint_written_by_the_json_code_is_read() -> None:
    pending = PendingRewards.from_bytes(V1_FIXTURE)
    first, second = pending.get("d1"), pending.get("d2")
    assert first is not None and second is not None
    assert [_bits(v) for v in first.context] == [_bits(v) for v in (1.0, 0.1, -0.0, 5e-324, 1 / 3)]
    assert first.kinds == {"clicked", "converted"} and first.revenue == 49.99 and first.observed
    assert (second.visitor_id, second.action_id, second.observed) == ("vé", "no_action", False)
    assert second.context == (1.0, 0.0, 2.5, -7.0, 1e300)
    again = PendingRewards.from_bytes(pending.to_bytes())
    assert _exact(again, ["d1", "d2"]) == _exact(pending, ["d1", "d2"])


def test_an_empty_pending_set_round_trips() -> None:
    assert len(PendingRewards.from_bytes(PendingRewards().to_bytes())) == 0


def _two_decisions() -> bytes:
    pending = PendingRewards()
    for decision_id in ("da", "db"):
        pending.register({"decision_id": decision_id, "visitor_id": "v", "action_id": "x",
                          "propensity": 0.5, "created_at": 0}, (1.0, 2.0))
    pending.on_outcome({"decision_id": "da", "kind": "converted", "value": 9.5,
                        "event_time": 1})
    return pending.to_bytes()


# _two_decisions() as the format-4 code wrote it.
V4_TWO_DECISIONS = bytes.fromhex(
    "727470520400000002000000040000000000000000000000000000000000000000000000000000000000e03f"
    "000000000000e03f00000000000023400000000000000000000000000000f03f00000000000000400000000000"
    "00f03f0000000000000040020000000200000002000200000001000000010002000000020000000100000001"
    "000000010000000100000088006461646276767878")


def test_the_format_4_fixture_reads_as_the_decisions_it_was_written_from() -> None:
    written = PendingRewards.from_bytes(_two_decisions())
    assert _exact(PendingRewards.from_bytes(V4_TWO_DECISIONS), ["da", "db"]) == _exact(
        written, ["da", "db"])
    assert _v4_bytes(written) == V4_TWO_DECISIONS  # the test's format-4 writer is that code


@pytest.mark.parametrize("data", [V4_TWO_DECISIONS, b""])
def test_every_truncation_and_trailing_garbage_is_refused(data: bytes) -> None:
    data = data or _two_decisions()
    for end in range(len(data)):
        with pytest.raises(PendingRewardsError):
            PendingRewards.from_bytes(data[:end])
    with pytest.raises(PendingRewardsError):
        PendingRewards.from_bytes(data + b"x")


def _patched(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new):]


HEADER = 20  # magic, format, padding, decisions, stored context values, closed ids
N = 2  # decisions in _two_decisions()
CONTEXTS = HEADER + 3 * 8 * N  # after decided_at_ms, propensity and revenue columns
LENGTHS = CONTEXTS + 8 * 4  # after the four stored context values (1.0, 2.0 twice)
COUNTS = LENGTHS + 4 * N
POSITIONS = COUNTS + 2 * N
FLAGS = POSITIONS + 2 * 4 + 12 * N


@pytest.mark.parametrize(
    ("offset", "new", "reason"),
    [
        (4, b"\x06", "format 6"),
        (4, b"\x01", "format 1"),
        (8, struct.pack("<I", 3), "too short"),
        (8, struct.pack("<I", 0xFFFF_FFFF), "too short"),
        (12, struct.pack("<I", 3), "do not add up"),
        (CONTEXTS, struct.pack("<d", float("nan")), "non-finite"),
        (CONTEXTS + 8, struct.pack("<d", float("inf")), "non-finite"),
        (HEADER + 2 * 8 * N, struct.pack("<d", float("nan")), "non-finite"),
        (FLAGS, b"\x20", "kind bits"),
        (FLAGS + 1, b"\x40", "kind bits"),
        (LENGTHS, struct.pack("<I", 1), "do not add up"),  # 2 values in a context of 1
        (COUNTS, struct.pack("<H", 3), "do not add up"),
        (POSITIONS, struct.pack("<H", 2), "past its length"),
        (FLAGS - 12 * N, struct.pack("<I", 3), "do not add up"),
        (FLAGS + N + 3, b"a", "duplicate decision ids"),  # "da", "db" -> "da", "da"
        (FLAGS + N, b"\xff", "utf-8"),
    ],
)
def test_corrupt_fields_are_refused_with_a_reason(offset: int, new: bytes, reason: str) -> None:
    data = V4_TWO_DECISIONS
    assert data[FLAGS + N:FLAGS + N + 4] == b"dadb"  # the layout the offsets assume
    with pytest.raises(PendingRewardsError, match=reason):
        PendingRewards.from_bytes(_patched(data, offset, new))


# Format 5 of _two_decisions(): header, strings "v" and "x", then the rows.
F5_FLAGS_1 = 14  # after rtpR 5 | 2 rows, 0 closed, 2 strings | 1 v 1 x | visitor 0, action 1
F5_ID_1 = F5_FLAGS_1 + 1  # "da" as length + 1, text
F5_REVENUE_1 = F5_ID_1 + 3 + 16  # after decided_at_ms and propensity
F5_CONTEXT_1 = F5_REVENUE_1 + 8  # length 2, 1 one, 1 other, positions 0 1, the 2.0


@pytest.mark.parametrize(
    ("offset", "new", "reason"),
    [
        (F5_FLAGS_1, b"\x49", "kind bits"),  # bit 6 is not a kind
        (F5_REVENUE_1, struct.pack("<d", float("inf")), "non-finite"),
        (F5_CONTEXT_1 + 5, struct.pack("<d", float("nan")), "non-finite"),
        (F5_CONTEXT_1, b"\x01", "do not add up"),  # 2 values in a context of 1
        (F5_CONTEXT_1 + 1, b"\x02", "do not add up"),
        (F5_CONTEXT_1 + 4, b"\x05", "past its length"),
        (F5_ID_1 + 2, b"b", "duplicate decision ids"),  # "da", "db" -> "db", "db"
        (F5_ID_1 + 1, b"\xff", "utf-8"),
        (12, b"\x02", "index out of range"),  # visitor index 2 of 2 strings
    ],
)
def test_corrupt_format_5_fields_are_refused_with_a_reason(offset: int, new: bytes,
                                                           reason: str) -> None:
    data = _two_decisions()
    assert data[:F5_FLAGS_1] == b"rtpR\x05\x02\x00\x02\x01v\x01x\x00\x01"
    assert data[F5_ID_1:F5_ID_1 + 3] == b"\x03da"
    assert PendingRewards.from_bytes(data).get("da") is not None  # unpatched: reads
    with pytest.raises(PendingRewardsError, match=reason):
        PendingRewards.from_bytes(_patched(data, offset, new))


def test_uuid_decision_ids_take_16_bytes_and_come_back_as_the_same_text() -> None:
    ids = ["5b8d3fca-9506-506f-b094-26ae0e15159a", "5B8D3FCA-9506-506F-B094-26AE0E15159A",
           "5b8d3fca-9506-506f-b094-26ae0e15159", "5b8d3fca+9506-506f-b094-26ae0e15159a",
           "5b8d3fca-9506-506f-b094-26ae0e15159g", " b8d3fca-9506-506f-b094-26ae0e15159a"]
    pending = PendingRewards()
    for at, decision_id in enumerate(ids):
        pending.register(_decision(decision_id, at), (1.0,))
    pending.expire(WAIT)  # the first is closed: closed ids are packed the same way
    data = pending.to_bytes()
    restored = PendingRewards.from_bytes(data)
    assert restored.closed_ids() == [ids[0]] and restored.decision_ids() == ids[1:]
    assert ids[0].encode() not in data and bytes.fromhex(ids[0].replace("-", "")) in data
    assert all(d.encode() in data for d in ids[1:])  # not canonical lowercase: as text


@settings(max_examples=300, deadline=None)
@given(position=st.integers(0, 10_000), value=st.integers(0, 255), cut=st.booleans(),
       v4=st.booleans())
def test_any_damaged_bytes_load_or_raise_pending_rewards_error(
    position: int, value: int, cut: bool, v4: bool
) -> None:
    data = V4_TWO_DECISIONS if v4 else _two_decisions()
    position %= len(data)
    damaged = data[:position] if cut else _patched(data, position, bytes([value]))
    with contextlib.suppress(PendingRewardsError):  # anything else escaping fails the test
        PendingRewards.from_bytes(damaged)


def _decision(decision_id: str, at_ms: int) -> dict[str, Any]:
    return {"decision_id": decision_id, "visitor_id": "v", "action_id": "a",
            "propensity": 0.5, "created_at": at_ms}


def test_closed_decisions_are_remembered_across_a_checkpoint_and_not_awaited_again() -> None:
    pending = PendingRewards(RewardOptions(closed_memory=2))
    for i in range(3):
        pending.register(_decision(f"d{i}", i), (1.0,))
    assert len(pending.expire(WAIT + 2)) == 3  # all closed; only the last 2 remembered
    restored = PendingRewards.from_bytes(pending.to_bytes(), RewardOptions(closed_memory=2))
    assert restored.register(_decision("d1", 1), (1.0,)) == []
    assert restored.register(_decision("d2", 2), (1.0,)) == []
    assert len(restored) == 0  # registered again after a crash: not awaited twice
    assert restored.register(_decision("d0", 0), (1.0,)) == [] and len(restored) == 1


def test_format_2_without_closed_ids_is_still_read() -> None:
    pending = PendingRewards()
    pending.register(_decision("d", 7), (0.5, 0.25))
    v3 = bytes.fromhex(  # written by format-3 code: (0.5, 0.25) dense, no closed ids
        "7274705203000000010000000200000000000000070000000000000000000000"
        "0000e03f0000000000000000000000000000e03f000000000000d03f02000000"
        "01000000010000000100000000647661")
    magic, _, count, floats, closed = struct.unpack_from("<4sBxxxIII", v3)
    assert closed == 0
    v2 = struct.pack("<4sBxxxII", magic, 2, count, floats) + v3[20:]
    assert PendingRewards.from_bytes(v2).get("d") == pending.get("d")


# Written by the format-3 code (dense contexts): d1 clicked, with 0.1, -0.0, 5e-324, 1/3
# and a trailing 0.0 in its context; d2 with 1e300; d0 expired (a closed id).
V3_FIXTURE = bytes.fromhex(
    "7274705203000000020000000b0000000100000000505c18a3010000e8535c18a30100009a9999999999b9"
    "3f000000000000f03f00000000000000000000000000000000000000000000f03f9a9999999999b93f0000"
    "0000000000800100000000000000555555555555d53f0000000000000000000000000000f03f0000000000"
    "00000000000000000004400000000000001cc09c7500883ce4377e06000000050000000200000002000000"
    "02000000020000000a0000000900000002000000820064316432763176c3a96374615f6368616e67656e6f"
    "5f616374696f6e6430")


def test_format_3_dense_contexts_are_still_read_bit_for_bit() -> None:
    pending = PendingRewards.from_bytes(V3_FIXTURE)
    first, second = pending.get("d1"), pending.get("d2")
    assert first is not None and second is not None
    assert [_bits(v) for v in first.context] == [
        _bits(v) for v in (1.0, 0.1, -0.0, 5e-324, 1 / 3, 0.0)]
    assert first.kinds == {"clicked"} and first.observed
    assert second.context == (1.0, 0.0, 2.5, -7.0, 1e300) and second.visitor_id == "vé"
    assert pending.register(_decision("d0", 0), (1.0,)) == []  # closed, remembered
    again = PendingRewards.from_bytes(pending.to_bytes())  # rewritten as format 5
    assert again.to_bytes()[4] == 5
    assert _exact(again, ["d1", "d2"]) == _exact(pending, ["d1", "d2"])


def test_sparse_contexts_are_smaller_and_exact() -> None:
    pending = PendingRewards()
    context = tuple(1.0 if i in (0, 7, 30) else (-0.0 if i == 9 else 0.0) for i in range(61))
    pending.register(_decision("d", 1), context)
    data = pending.to_bytes()
    assert len(data) < 20 + 3 * 8 + 61 * 8  # the dense context alone was 488 bytes
    restored = PendingRewards.from_bytes(data).get("d")
    assert restored is not None
    assert [_bits(v) for v in restored.context] == [_bits(v) for v in context]
