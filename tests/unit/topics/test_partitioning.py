"""Our key hash places keys where the Java client (and aiokafka, Faust) places them."""

from __future__ import annotations

from aiokafka.partitioner import murmur2 as oracle  # the test's reference, not used by rtp
from hypothesis import given
from hypothesis import strategies as st

from pipeline.topics.partitioning import murmur2, partition_for


@given(st.binary(max_size=64))
def test_murmur2_is_the_java_clients_hash(data: bytes) -> None:
    assert murmur2(data) == oracle(data) & 0xFFFFFFFF


@given(st.text(min_size=1, max_size=40), st.integers(min_value=1, max_value=64))
def test_partition_for_is_the_positive_hash_modulo(key: str, partitions: int) -> None:
    data = key.encode()
    assert partition_for(data, partitions) == (oracle(data) & 0x7FFFFFFF) % partitions
