"""The engine options a process starts with: file, then environment, then ``--consent``.

``rtp worker`` and ``rtp profiles`` must agree on the consent mode (the worker refuses to
decide for a visitor without a consent record in opt-in mode; the profile side computes
the views that grant it), so both read it the same way: the config file when one is given,
``RTP_CONFIG__*`` variables over it (also without a file: ``RTP_CONFIG__CONSENT__MODE=opt-in``
alone switches the mode), ``RTP_CONSENT_REQUIRED`` (true/false) over those, and the
``--consent`` flag over all.

>>> startup_options(None, env={}).profiles.consent_required
False
>>> startup_options(None, env={"RTP_CONFIG__CONSENT__MODE": "opt-in"}).profiles.consent_required
True
>>> startup_options(None, "opt-out", env={"RTP_CONFIG__CONSENT__MODE": "opt-in"}
...                 ).profiles.consent_required
False
>>> startup_options(None, env={"RTP_CONSENT_REQUIRED": "true"}).profiles.consent_required
True
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from pipeline.config.engine import engine_options
from pipeline.config.errors import ConfigError
from pipeline.config.load import load_config, load_config_text
from pipeline.config.schema import ConsentMode
from pipeline.engine import EngineOptions

__all__ = ["CONSENT_REQUIRED_ENV", "startup_options"]

#: The environment variable that sets the consent mode alone (true: opt-in).
CONSENT_REQUIRED_ENV = "RTP_CONSENT_REQUIRED"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def startup_options(path: Path | None, consent: str | None = None,
                    env: Mapping[str, str] | None = None) -> EngineOptions:
    """Engine options from the file at ``path`` (None: the defaults), the environment's
    overrides and ``consent`` (``opt-in`` / ``opt-out`` / None); :class:`ConfigError` when
    the file or a variable is invalid.

    >>> startup_options(None, "maybe", env={})
    Traceback (most recent call last):
    ...
    ValueError: 'maybe' is not a valid ConsentMode
    >>> startup_options(None, env={"RTP_CONSENT_REQUIRED": "maybe"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.config.errors.ConfigError: ...RTP_CONSENT_REQUIRED must be true or false (got 'maybe')
    """
    env = os.environ if env is None else env
    config = (load_config(path, env) if path is not None
              else load_config_text("", env, "<environment>"))
    engine = engine_options(config)
    raw = env.get(CONSENT_REQUIRED_ENV, "").strip().lower()
    if raw and consent is None:
        if raw not in _TRUE | _FALSE:
            raise ConfigError([f"{CONSENT_REQUIRED_ENV} must be true or false (got {raw!r:.40})"],
                              "<environment>")
        consent = "opt-in" if raw in _TRUE else "opt-out"
    if consent is not None:
        required = ConsentMode(consent) is ConsentMode.OPT_IN
        engine = dataclasses.replace(engine, profiles=dataclasses.replace(
            engine.profiles, consent_required=required))
    return engine
