"""Options of the whole Listen-Think-Act-Learn engine, one frozen dataclass per part.

>>> EngineOptions().decider.control_share
0.1
>>> EngineOptions().catalog_path.name
'actions.yaml'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.decide import Catalog, DeciderOptions
from pipeline.feedback import RewardOptions
from pipeline.intent import IntentOptions
from pipeline.profiles import ProfileOptions
from pipeline.sessions import SessionOptions
from pipeline.settings import PROJECT_ROOT
from pipeline.signals import SignalOptions

__all__ = ["EngineOptions"]


@dataclass(frozen=True)
class EngineOptions:
    """Everything the engine is configured with; the defaults are the documented ones."""

    catalog_path: Path = PROJECT_ROOT / "deploy" / "catalog" / "actions.yaml"
    #: The catalog itself (a config file's, :mod:`pipeline.config.catalog`); None: read
    #: :attr:`catalog_path`. Set in code only (replay overrides name ``catalog_path``).
    catalog: Catalog | None = field(default=None, metadata={"overridable": False})
    sessions: SessionOptions = field(default_factory=SessionOptions)
    signals: SignalOptions = field(default_factory=SignalOptions)
    intent: IntentOptions = field(default_factory=IntentOptions)
    decider: DeciderOptions = field(default_factory=DeciderOptions)
    rewards: RewardOptions = field(default_factory=RewardOptions)
    profiles: ProfileOptions = field(default_factory=ProfileOptions)
    #: Decisions of one visitor awaiting their reward at most (the oldest is evicted,
    #: with the default reward, beyond it).
    pending_per_visitor: int = 32
