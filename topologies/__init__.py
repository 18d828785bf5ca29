"""Faust apps: thin agents wiring the pure core in pipeline/ to topics and RocksDB tables."""
