"""Unsigned LEB128 varints: the lengths and counts of the compact state formats
(:mod:`pipeline.engine.state_codec`, :mod:`pipeline.feedback.rows`).

>>> varint(300), read_varint(varint(300) + b"rest", 0)
(b'\\xac\\x02', (300, 2))
>>> read_varint(b"\\xff" * 10, 0)
Traceback (most recent call last):
...
ValueError: a varint is longer than 64 bits
"""

from __future__ import annotations

__all__ = ["read_varint", "varint"]


def varint(value: int) -> bytes:
    """``value`` (>= 0) as an unsigned LEB128 varint."""
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def read_varint(data: bytes, offset: int) -> tuple[int, int]:
    """The varint at ``offset`` and the offset after it (IndexError when ``data`` ends
    inside it, ValueError when it is longer than 64 bits)."""
    value = shift = 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, offset
        shift += 7
        if shift > 63:
            raise ValueError("a varint is longer than 64 bits")
