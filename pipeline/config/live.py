"""What a running worker cannot take from a published config, and why.

Everything :func:`~pipeline.config.engine.engine_options` sets switches live (experiment
salt and control share, detectors, rewards, objective, catalog, guardrails, the state
TTL) except what the **profile side** applies: the consent mode and the trait settings
of ``privacy``. The profile side (``rtp profiles``, its own process) computes whether a
visitor may be personalized with the mode it started with, so a worker switching alone
would decide for visitors the profile side treats otherwise; and it alone keeps or drops
traits. A change to them needs a restart of both, with the new file.

>>> from pipeline.engine import EngineOptions
>>> from pipeline.profiles import ProfileOptions
>>> live_problems(EngineOptions(), EngineOptions())
[]
>>> [problem] = live_problems(EngineOptions(),
...                           EngineOptions(profiles=ProfileOptions(consent_required=True)))
>>> problem[:62]
'consent.mode: cannot change live (opt-out running, opt-in publ'
>>> "restart the workers and the profile side" in problem
True
"""

from __future__ import annotations

from pipeline.engine import EngineOptions

__all__ = ["live_problems"]


def _mode(options: EngineOptions) -> str:
    return "opt-in" if options.profiles.consent_required else "opt-out"


def live_problems(running: EngineOptions, new: EngineOptions) -> list[str]:
    """Why ``new`` cannot replace ``running`` in a running worker (empty: it can)."""
    problems = []
    for name in ("denied_trait_keys", "max_traits", "max_trait_chars"):
        if getattr(running.profiles, name) != getattr(new.profiles, name):
            problems.append(f"privacy.{name}: cannot change live: the profile side applies "
                            "it with the value it started with; restart the workers and the "
                            "profile side with the new file")
    if running.profiles.consent_required != new.profiles.consent_required:
        problems.append(f"consent.mode: cannot change live ({_mode(running)} running, "
                        f"{_mode(new)} published): the profile side computes consent with "
                        "the mode it started with; restart the workers and the profile side "
                        "with the new file")
    return problems
