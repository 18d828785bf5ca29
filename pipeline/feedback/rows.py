"""Pending rewards format 5: one row per pending decision, each row packed once and kept.

Every commit writes the state of every visitor that changed, pending decisions included,
and most of those decisions did not change since the last commit: a row (the decision
without its visitor and action) is packed once per :class:`PendingDecision` object (they
are immutable; an outcome replaces the object) and joined afterwards.

Layout (little-endian; ``v`` is an unsigned LEB128 varint)::

    b"rtpR" 5 | v decisions | v closed ids | v strings | strings (v UTF-8 length, bytes)
    per decision: v visitor (string index) | v action (string index) | flags (u8) | id
                  | decided_at_ms (i64) | propensity (f64) | [revenue (f64), if flag 5]
                  | v context length | v ones | v others | positions of the ones, then of
                  the others (u8 each if the context has at most 256 values, else u16)
                  | the others' values (f64)
    per closed id: id
    id: 0x00 + 16 bytes for a canonical lowercase UUID, else v (UTF-8 length + 1) + bytes

Flags: bits 0-4 the outcome kinds seen (:data:`KIND_BITS`), bit 5 a revenue other than
+0.0 follows, bit 7 observed; bit 6 is refused. A context stores its values other than
+0.0 bit for bit: exactly 1.0 (half of them: one-hot features) by position only, the
others with their float64. Strings are UTF-8 with lone surrogates kept (``surrogatepass``).

>>> entry = PendingDecision("d", "v", "a", (1.0, 0.0, 0.5), 7, 0.25)
>>> entries, closed = decode_rows(encode_rows([entry], ["c"]))
>>> entries == [entry], closed
(True, ['c'])
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress

from pipeline.feedback.errors import PendingRewardsError
from pipeline.serde.varint import read_varint, varint

__all__ = ["FORMAT", "KIND_BITS", "MAGIC", "PendingDecision", "decode_rows", "encode_rows"]

MAGIC = b"rtpR"
FORMAT = 5
#: Outcome kinds by flag bit (append-only: the bits are the format).
KIND_BITS: tuple[str, ...] = ("shown", "clicked", "dismissed", "converted", "ignored")
_KIND_MASK = (1 << len(KIND_BITS)) - 1
_REVENUE = 0x20
_RESERVED = 0x40
_OBSERVED = 0x80
_KINDS_OF_MASK = tuple(
    frozenset(k for i, k in enumerate(KIND_BITS) if mask >> i & 1)
    for mask in range(_KIND_MASK + 1)
)
_FIXED = struct.Struct("<qd")  # decided_at_ms, propensity
_F64 = struct.Struct("<d")
_POSITIVE_ZERO = _F64.pack(0.0)
_NEGATIVE_ZERO = _F64.pack(-0.0)
_HEAD = MAGIC + bytes((FORMAT,))


@dataclass(frozen=True)
class PendingDecision:
    """One decision awaiting outcomes.

    >>> PendingDecision("d", "v", "a", (1.0,), 0, 0.5).deadline_ms(600_000)
    600000
    """

    decision_id: str
    visitor_id: str
    action_id: str
    context: tuple[float, ...]
    decided_at_ms: int
    propensity: float
    kinds: frozenset[str] = frozenset()
    revenue: float = 0.0
    observed: bool = False
    #: Its row as :func:`encode_rows` packed it (without visitor and action), once.
    row_memo: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def deadline_ms(self, reward_wait_ms: int) -> int:
        """Event time after which outcomes are ignored and the default reward applies.

        >>> PendingDecision("d", "v", "a", (), 10, 1.0).deadline_ms(5)
        15
        """
        return self.decided_at_ms + reward_wait_ms


def _text(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


#: The varints below 128 (every count and index of a usual state), one byte each.
_SMALL = tuple(bytes((i,)) for i in range(0x80))


def _varint(value: int) -> bytes:
    return _SMALL[value] if value < 0x80 else varint(value)


def _id_bytes(decision_id: str) -> bytes:
    """A canonical lowercase UUID as 16 bytes (decision ids are uuid5 text), else text."""
    if (len(decision_id) == 36 and decision_id[8] == "-" and decision_id[13] == "-"
            and decision_id[18] == "-" and decision_id[23] == "-"):
        hex_text = decision_id.replace("-", "")
        try:
            raw = bytes.fromhex(hex_text)
        except ValueError:
            raw = b""
        if len(raw) == 16 and raw.hex() == hex_text:  # lowercase only: exact text back
            return b"\x00" + raw
    text = _text(decision_id)
    return _varint(len(text) + 1) + text


def _read_id(data: bytes, offset: int) -> tuple[str, int]:
    tag, offset = read_varint(data, offset)
    if tag == 0:
        raw = data[offset:offset + 16]
        if len(raw) != 16:
            raise ValueError("a decision id is cut short")
        h = raw.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}", offset + 16
    end = offset + tag - 1
    if end > len(data):
        raise ValueError("a decision id is cut short")
    return data[offset:end].decode("utf-8", "surrogatepass"), end


_MASKS: dict[frozenset[str], int] = {}


def _kinds_mask(kinds: frozenset[str]) -> int:
    mask = _MASKS.get(kinds)
    if mask is not None:
        return mask
    mask = 0
    for kind in kinds:
        if kind not in KIND_BITS:
            raise PendingRewardsError(f"outcome kind {kind!r} has no bit in pending rewards format")
        mask |= 1 << KIND_BITS.index(kind)
    if type(kinds) is frozenset and len(_MASKS) <= _KIND_MASK:  # the 32 sets of known kinds
        _MASKS[kinds] = mask
    return mask


def _row(entry: PendingDecision) -> bytes:
    """The entry's row without its visitor and action, packed once per entry object."""
    done = entry.row_memo
    if done is not None:
        return done
    flags = _kinds_mask(entry.kinds) | (_OBSERVED if entry.observed else 0)
    revenue = _F64.pack(entry.revenue)
    if revenue != _POSITIVE_ZERO:
        flags |= _REVENUE
    context = entry.context
    size = len(context)
    if size > 0xFFFF:
        raise PendingRewardsError(f"a context of {size} values is longer than 65535")
    # -0.0 == 0.0, but it must come back as -0.0: only +0.0 is left out. Most values are
    # 0.0: a truth test (in C: compress) finds the others, and the packed bytes say whether
    # any -0.0 (00..00 80 little-endian) needs the slower exact test (a byte 0x80, found
    # by memchr, is rare in them; the 8-byte search that follows is not cheap).
    packed = struct.pack(f"<{size}d", *context)
    if 0x80 in packed and _NEGATIVE_ZERO in packed:
        stored = [i for i, x in enumerate(context) if x or math.copysign(1.0, x) < 0.0]
    else:
        stored = list(compress(range(size), context))
    ones = [i for i in stored if context[i] == 1.0]
    if len(ones) == len(stored):
        others: list[int] = []
        positions = ones
    else:
        others = [i for i in stored if context[i] != 1.0]
        positions = ones + others
    done = b"".join((
        bytes((flags,)),
        _id_bytes(entry.decision_id),
        _FIXED.pack(entry.decided_at_ms, entry.propensity),
        revenue if flags & _REVENUE else b"",
        _varint(size), _varint(len(ones)), _varint(len(others)),
        (bytes(positions) if size <= 256 else struct.pack(f"<{len(positions)}H", *positions)),
        struct.pack(f"<{len(others)}d", *[context[i] for i in others]) if others else b"",
    ))
    object.__setattr__(entry, "row_memo", done)  # a cache: compare=False
    return done


def encode_rows(entries: Sequence[PendingDecision], closed: Sequence[str]) -> bytes:
    """Format 5 bytes of ``entries`` (in their order) and the ``closed`` ids.

    >>> encode_rows([], [])
    b'rtpR\\x05\\x00\\x00\\x00'
    """
    index: dict[str, int] = {}
    body: list[bytes] = []
    for entry in entries:
        visitor = index.setdefault(entry.visitor_id, len(index))
        action = index.setdefault(entry.action_id, len(index))
        body.append(bytes((visitor, action)) if visitor < 0x80 and action < 0x80
                    else varint(visitor) + varint(action))
        body.append(_row(entry))
    for decision_id in closed:
        body.append(_id_bytes(decision_id))
    head = [_HEAD, _varint(len(entries)), _varint(len(closed)), _varint(len(index))]
    for string in index:
        text = _text(string)
        head.append(_varint(len(text)))
        head.append(text)
    return b"".join(head + body)


def decode_rows(data: bytes) -> tuple[list[PendingDecision], list[str]]:
    """Inverse of :func:`encode_rows`; ValueError (or IndexError, struct.error) if malformed.

    >>> decode_rows(b"rtpR\\x05\\x00\\x00\\x00")
    ([], [])
    """
    if data[:len(MAGIC)] != MAGIC or data[len(MAGIC)] != FORMAT:
        raise ValueError("not pending rewards format 5")
    offset = len(MAGIC) + 1
    count, offset = read_varint(data, offset)
    closed_count, offset = read_varint(data, offset)
    string_count, offset = read_varint(data, offset)
    if max(count, closed_count, string_count) > len(data):
        raise ValueError(f"{len(data)} bytes is too short for {count} decisions")
    strings = []
    for _ in range(string_count):
        size, offset = read_varint(data, offset)
        end = offset + size
        if end > len(data):
            raise ValueError("a string is cut short")
        strings.append(data[offset:end].decode("utf-8", "surrogatepass"))
        offset = end
    entries = []
    for _ in range(count):
        # Single-byte varints (nearly all: indexes, lengths, counts) read inline.
        visitor = data[offset]
        if visitor < 0x80:
            offset += 1
        else:
            visitor, offset = read_varint(data, offset)
        action = data[offset]
        if action < 0x80:
            offset += 1
        else:
            action, offset = read_varint(data, offset)
        flags = data[offset]
        if flags & _RESERVED:
            raise ValueError("unknown outcome kind bits")
        if data[offset + 1] == 0:  # a UUID
            raw = data[offset + 2:offset + 18]
            if len(raw) != 16:
                raise ValueError("a decision id is cut short")
            h = raw.hex()
            decision_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
            offset += 18
        else:
            decision_id, offset = _read_id(data, offset + 1)
        decided_at, propensity = _FIXED.unpack_from(data, offset)
        offset += _FIXED.size
        revenue = 0.0
        if flags & _REVENUE:
            (revenue,) = _F64.unpack_from(data, offset)
            offset += 8
        length, n_ones, n_others = data[offset:offset + 3]
        if length < 0x80 and n_ones < 0x80 and n_others < 0x80:
            offset += 3
        else:
            length, offset = read_varint(data, offset)
            n_ones, offset = read_varint(data, offset)
            n_others, offset = read_varint(data, offset)
        if n_ones + n_others > length:
            raise ValueError("context value counts do not add up to the stored values")
        stored = n_ones + n_others
        if length <= 256:
            positions = data[offset:offset + stored]
            offset += stored
        else:
            positions = struct.unpack_from(f"<{stored}H", data, offset)  # type: ignore[assignment]
            offset += 2 * stored
        values = struct.unpack_from(f"<{n_others}d", data, offset)
        offset += 8 * n_others
        if len(positions) != stored:
            raise ValueError("context positions are cut short")
        if stored and max(positions) >= length:
            raise ValueError(f"context position {max(positions)} is past its length {length}")
        if not (all(map(math.isfinite, values)) and math.isfinite(revenue)):
            raise ValueError("non-finite context or revenue values")
        dense = [0.0] * length
        for position in positions[:n_ones]:
            dense[position] = 1.0
        for position, value in zip(positions[n_ones:], values, strict=True):
            dense[position] = value
        entries.append(PendingDecision(
            decision_id=decision_id,
            visitor_id=strings[visitor],
            action_id=strings[action],
            context=tuple(dense),
            decided_at_ms=decided_at,
            propensity=propensity,
            kinds=_KINDS_OF_MASK[flags & _KIND_MASK],
            revenue=revenue,
            observed=bool(flags & _OBSERVED),
        ))
    closed = []
    for _ in range(closed_count):
        decision_id, offset = _read_id(data, offset)
        closed.append(decision_id)
    if offset != len(data):
        raise ValueError(f"{len(data) - offset} bytes after the last closed id")
    return entries, closed
