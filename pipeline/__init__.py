"""rtp: real-time personalization on Apache Kafka.

The package is the pure core (sessions, signals, intent, decisions, feedback,
profiles) plus thin adapters (serde, client, delivery, collector, CLI). The
The stream adapters in ``topologies/`` (the decision path on a librdkafka loop, the
profile side as a Faust app) wire the core to topics.
"""

__all__: list[str] = []
