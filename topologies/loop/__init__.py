"""A lean librdkafka processing loop with RocksDB state: what the decision path runs on.

Plain parts, no private API of any library: :mod:`~topologies.loop.loop` (consume a
batch, apply, commit), :mod:`~topologies.loop.store` (one RocksDB per table partition,
with the changelog offset it reflects), :mod:`~topologies.loop.recovery` (catch a store
up from its compacted changelog), :mod:`~topologies.loop.tables` (staged changes written
changelog first), :mod:`~topologies.loop.outputs` (sends a commit can wait for),
:mod:`~topologies.loop.timers` and :mod:`~topologies.loop.gc_pauses` (Python's cycle
collector kept off the event path).
"""
