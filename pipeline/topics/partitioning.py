"""Which partition a key belongs on, computed here rather than left to a producer's setting.

Every keyed topic of rtp is co-partitioned by the Java client's rule (murmur2 of the key
bytes, sign bit cleared, modulo the partition count): librdkafka's ``murmur2_random``
partitioner, aiokafka's (Faust's) default and Kafka Streams all place a key there.
librdkafka's *default* partitioner (``consistent_random``, CRC32) does not, so a record
produced by a client left at its default may sit on another partition than the state it
concerns. Code that must reach that state (erasure, consent) checks the record's partition
against :func:`partition_for` and re-routes it when they differ.

>>> partition_for(b"visitor-42", 4)
0
>>> murmur2(b"")
275646681
"""

from __future__ import annotations

__all__ = ["murmur2", "partition_for"]

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's 32-bit murmur2 hash of ``data``, as an unsigned int (Java's ``Utils.murmur2``).

    >>> murmur2(b"21")
    3321034988
    """
    length = len(data)
    h = (_SEED ^ length) & _MASK
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k
    rest = length % 4
    if rest == 3:
        h ^= data[whole + 2] << 16
    if rest >= 2:
        h ^= data[whole + 1] << 8
    if rest >= 1:
        h ^= data[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def partition_for(key: bytes, partitions: int) -> int:
    """The partition of ``key`` among ``partitions`` (murmur2, positive, modulo).

    >>> sorted({partition_for(f"v{i}".encode(), 3) for i in range(50)})
    [0, 1, 2]
    >>> partition_for(b"k", 0)
    Traceback (most recent call last):
    ...
    ValueError: a topic has at least one partition, not 0
    """
    if partitions < 1:
        raise ValueError(f"a topic has at least one partition, not {partitions}")
    return (murmur2(key) & 0x7FFFFFFF) % partitions
