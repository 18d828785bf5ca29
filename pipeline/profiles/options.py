"""Options of the profile core: consent policy and size bounds.

>>> ProfileOptions().consent_required
False
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ProfileOptions"]


@dataclass(frozen=True, slots=True)
class ProfileOptions:
    """How profiles are kept.

    Attributes
    ----------
    consent_required
        ``False`` (default): personalization is allowed until the person opts out
        (opt-out regimes such as CCPA). ``True``: nothing beyond identity is stored
        and nothing is personalized until a consent update grants it (opt-in regimes
        such as GDPR/ePrivacy for non-essential processing).
    max_traits
        Free-form traits kept per person, besides the four first-class ones; further
        new keys are dropped (bounded state).
    max_trait_chars
        Longest trait key or value kept; longer ones are dropped, never truncated.
    denied_trait_keys
        Extra trait keys to drop, on top of the built-in personal-data deny-list
        (:data:`pipeline.profiles.privacy.PERSONAL_DATA_KEY_TOKENS`).
    recent_orders
        Order ids remembered to make :func:`~pipeline.profiles.apply_conversion`
        idempotent under at-least-once redelivery.

    >>> ProfileOptions(consent_required=True).max_traits
    32
    """

    consent_required: bool = False
    max_traits: int = 32
    max_trait_chars: int = 128
    denied_trait_keys: frozenset[str] = frozenset()
    recent_orders: int = 8
