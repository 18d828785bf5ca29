"""Read, override from the environment, validate: the effective config.

>>> load_config_text("experiments:\\n  salt: s1\\n",
...                  env={"RTP_CONFIG__EXPERIMENTS__CONTROL_SHARE": "0.3"}).experiments
ExperimentConfig(salt='s1', control_share=0.3)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pipeline.config.errors import ConfigError
from pipeline.config.schema import RtpConfig
from pipeline.config.source import ConfigSource

__all__ = ["load_config", "load_config_text"]


def load_config_text(text: str, env: Mapping[str, str] | None = None,
                     name: str = "<config>") -> RtpConfig:
    """The config in ``text`` with ``env``'s overrides (default: ``os.environ``)."""
    source = ConfigSource.parse(text, name).with_env(os.environ if env is None else env)
    return RtpConfig.from_source(source)


def load_config(path: Path, env: Mapping[str, str] | None = None) -> RtpConfig:
    """The config file at ``path``; :class:`ConfigError` when missing or invalid.

    >>> load_config(Path("/no/such/rtp.yaml"), env={})
    Traceback (most recent call last):
    ...
    pipeline.config.errors.ConfigError: /no/such/rtp.yaml: cannot read: No such file or directory
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError([f"cannot read: {exc.strerror}"], str(path)) from exc
    return load_config_text(text, env, str(path))
