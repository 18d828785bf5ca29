"""One configuration file for the engine: objective, action catalog, experiments, consent,
detectors, rewards, guardrails, privacy.

``rtp config check FILE`` validates a file and prints the effective config;
``rtp worker --config FILE`` runs with it. Every field can be overridden by an
``RTP_CONFIG__SECTION__FIELD`` environment variable.

>>> config = load_config_text("objective: bounce\\nconsent:\\n  mode: opt-in\\n", env={})
>>> engine = engine_options(config)
>>> engine.profiles.consent_required, engine.rewards.dismissed
(True, -1.0)
"""

from pipeline.config.engine import engine_options
from pipeline.config.errors import ConfigError
from pipeline.config.live import live_problems
from pipeline.config.load import load_config, load_config_text
from pipeline.config.objective import Objective
from pipeline.config.ref import ConfigRef
from pipeline.config.schema import ConsentMode, ExperimentConfig, PrivacyConfig, RtpConfig
from pipeline.config.startup import startup_options
from pipeline.config.wire import decode_config, encode_config

__all__ = [
    "ConfigError",
    "ConfigRef",
    "ConsentMode",
    "ExperimentConfig",
    "Objective",
    "PrivacyConfig",
    "RtpConfig",
    "decode_config",
    "encode_config",
    "engine_options",
    "live_problems",
    "load_config",
    "load_config_text",
    "startup_options",
]
