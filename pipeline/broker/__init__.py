"""The local Apache Kafka broker the project starts for demos, tests and CI."""

from pipeline.broker.local import BrokerError, BrokerStatus, LocalKafka, broker_reachable

__all__ = ["BrokerError", "BrokerStatus", "LocalKafka", "broker_reachable"]
