"""A published config as it is on the config topic: the effective config, as YAML.

The record's value is what ``rtp config check`` prints (every field, the publisher's
``RTP_CONFIG__*`` overrides applied), so a worker reads it without the environment: one
version is one content on every worker.

>>> config = load_config_text("experiments:\\n  control_share: 0.3\\n", env={})
>>> decode_config(encode_config(config)) == config
True
>>> decode_config(b"\\xff")
Traceback (most recent call last):
...
pipeline.config.errors.ConfigError: <published config>: not UTF-8 text
"""

from __future__ import annotations

import yaml

from pipeline.config.errors import ConfigError
from pipeline.config.load import load_config_text
from pipeline.config.schema import RtpConfig

__all__ = ["decode_config", "encode_config"]


def encode_config(config: RtpConfig) -> bytes:
    """The record value of ``config``."""
    return yaml.safe_dump(config.to_dict(), sort_keys=False).encode("utf-8")


def decode_config(value: bytes, name: str = "<published config>") -> RtpConfig:
    """The config a record value holds; :class:`ConfigError` when it does not validate."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(["not UTF-8 text"], name) from exc
    return load_config_text(text, env={}, name=name)
