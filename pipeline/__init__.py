"""rtp: real-time personalization on Apache Kafka.

The package is the pure core (sessions, signals, intent, decisions, feedback,
profiles) plus thin adapters (serde, client, delivery, collector, CLI). The
stream adapters in ``topologies/`` (the decision path on a librdkafka loop, the
profile side as a Faust app) wire the core to topics.
"""

from pipeline.blas import pin_openblas_kernels

# Before anything imports numpy: the same floats, so the same decisions, on every host.
pin_openblas_kernels()

__all__: list[str] = []
