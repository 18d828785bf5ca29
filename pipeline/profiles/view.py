"""The read-only slice of a profile that the sessionizer and the decider need.

>>> ProfileView().returning, ProfileView().loyalty_tier
(False, None)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ProfileView"]


@dataclass(frozen=True, slots=True)
class ProfileView:
    """What is known about a person, already filtered by consent.

    Built by :meth:`ProfileState.view`; when personalization is not allowed every
    trait is left at its default so nothing leaks into features or decisions.

    Attributes
    ----------
    personalization_allowed
        Consent (or the site's default) allows personalization.
    returning
        Seen before: an earlier session, a purchase, or more than one device.
    loyalty_tier, preferred_category, industry
        First- and zero-party traits, ``None`` when unknown.
    plan
        The account's plan (Segment ``group`` traits), ``None`` when unknown.
    past_purchases
        Conversions known from traits (CRM) plus those seen in the stream.
    purchased_ever
        At least one conversion.
    identified
        The profile belongs to a known user id (not only an anonymous visitor).
    experiment_unit
        The id the person's experiment arm is drawn from: the first visitor id the
        profile was created with, kept through identify and alias, so every device
        of the person gets the same arm (see :mod:`pipeline.decide.experiments`).
        ``None`` for views stored before it existed.
    consent_ms
        Event time of the consent answer this view reflects (``None``: no answer recorded).
        Where the visitor's state lives, a view carrying an older answer than the one
        stored does not override it (a consent change applied at once, straight from
        ``profiles.updates``, is not undone by a profile view computed before it).

    >>> view = ProfileView(loyalty_tier="gold", past_purchases=2, returning=True)
    >>> view.loyalty_tier, view.personalization_allowed
    ('gold', True)
    """

    personalization_allowed: bool = True
    returning: bool = False
    loyalty_tier: str | None = None
    past_purchases: int = 0
    preferred_category: str | None = None
    industry: str | None = None
    purchased_ever: bool = False
    identified: bool = False
    plan: str | None = None
    experiment_unit: str | None = None
    consent_ms: int | None = None
