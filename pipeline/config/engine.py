"""The engine's options from a config: the one place the file meets :class:`EngineOptions`.

>>> from pipeline.config.schema import RtpConfig
>>> engine_options(RtpConfig()).decider.experiment_salt
'rtp'
"""

from __future__ import annotations

import dataclasses

from pipeline.config.schema import ConsentMode, RtpConfig
from pipeline.engine import EngineOptions

__all__ = ["engine_options"]


def engine_options(config: RtpConfig, base: EngineOptions | None = None) -> EngineOptions:
    """``base`` (default: the documented defaults) with what ``config`` sets."""
    base = base or EngineOptions()
    decider = dataclasses.replace(base.decider, experiment_salt=config.experiments.salt,
                                  control_share=config.experiments.control_share,
                                  guardrails=config.guardrails)
    privacy = config.privacy
    profiles = dataclasses.replace(
        base.profiles, consent_required=config.consent.mode is ConsentMode.OPT_IN,
        denied_trait_keys=privacy.denied_trait_keys, max_traits=privacy.max_traits,
        max_trait_chars=privacy.max_trait_chars)
    sessions = dataclasses.replace(base.sessions, state_ttl_ms=privacy.state_ttl_ms)
    return dataclasses.replace(base, decider=decider, profiles=profiles, sessions=sessions,
                               signals=config.detectors, rewards=config.rewards,
                               catalog=config.catalog.catalog)
