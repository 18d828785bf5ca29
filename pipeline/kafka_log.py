"""librdkafka's log lines through Python logging (and so structlog), never raw on stderr.

Without a ``logger`` in its configuration, every confluent-kafka client writes lines
such as ``%6|1700000000.123|BGQUEUE|rdkafka#producer-2| ...`` straight to stderr, past
structlog and into whatever output the process prints. :func:`kafka_config` adds the
``librdkafka`` stdlib logger, which :func:`pipeline.logs.configure_logging` renders like
every other line (JSON in production, readable on a terminal). librdkafka's notice and
info lines (connection chatter, queue purges at close) are debug detail for rtp: the
``librdkafka`` logger shows warnings and errors unless the log level is ``debug``.
confluent-kafka serves these lines from the client's ``poll``/``consume``/``flush``.

>>> config = kafka_config({"bootstrap.servers": "k:9092"})
>>> config["logger"].name, config["bootstrap.servers"]
('librdkafka', 'k:9092')
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

__all__ = ["KAFKA_LOGGER", "kafka_config", "kafka_logger"]

#: Name of the stdlib logger librdkafka's lines go to.
KAFKA_LOGGER = "librdkafka"


def kafka_logger() -> logging.Logger:
    """The stdlib logger every rtp Kafka client logs through.

    >>> kafka_logger() is logging.getLogger("librdkafka")
    True
    """
    return logging.getLogger(KAFKA_LOGGER)


def kafka_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with the ``librdkafka`` logger (a ``logger`` already there is kept).

    >>> quiet = logging.getLogger("quiet")
    >>> kafka_config({"logger": quiet})["logger"] is quiet
    True
    """
    return {"logger": kafka_logger(), **config}
