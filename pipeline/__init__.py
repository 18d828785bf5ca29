"""rtp: real-time personalization on Apache Kafka.

The package is the pure core (sessions, signals, intent, decisions, feedback,
profiles) plus thin adapters (serde, client, delivery, collector, CLI). The
Faust topologies in ``topologies/`` wire the core to topics.
"""

__all__: list[str] = []
