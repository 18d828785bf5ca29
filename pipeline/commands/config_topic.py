"""The config topic from the command line: the newest published version, and a new one.

The version of a published config is its record's offset + 1
(:class:`~pipeline.config.ConfigRef`): the broker hands out the offset, so two
publishers never publish the same version number.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaException, Producer

from pipeline.config import ConfigRef, RtpConfig, encode_config
from pipeline.kafka_log import kafka_config
from topologies.config_feed import ConfigFeed, Published

__all__ = ["CONFIG_KEY", "newest_config", "publish_config"]

#: The one key of the config topic (compaction keeps its newest versions).
CONFIG_KEY = b"config"


def newest_config(bootstrap: str, topic: str, timeout_s: float = 15.0) -> Published | None:
    """The newest valid config published on ``topic`` (None: none)."""
    feed = ConfigFeed(bootstrap, topic)
    try:
        return feed.start(timeout_s)
    finally:
        feed.close()


def publish_config(bootstrap: str, topic: str, config: RtpConfig,
                   timeout_s: float = 30.0) -> ConfigRef:
    """Append ``config`` to ``topic``, acknowledged; its version."""
    producer = Producer(kafka_config({"bootstrap.servers": bootstrap,
                                      "enable.idempotence": True}))
    delivered: list[Any] = []
    producer.produce(topic, key=CONFIG_KEY, value=encode_config(config),
                     on_delivery=lambda err, msg: delivered.append((err, msg)))
    producer.flush(timeout_s)
    if not delivered:
        raise KafkaException(f"config not acknowledged by {bootstrap} within {timeout_s} s")
    err, msg = delivered[0]
    if err is not None:
        raise KafkaException(err)
    return ConfigRef.at_offset(int(msg.offset()))
