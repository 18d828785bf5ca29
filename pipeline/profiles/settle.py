"""Where the visitor's state lives: the view to keep when a profile message arrives.

Two roads bring consent to the visitor side: the profile side's views (every change of
the person, seconds behind) and consent answers taken straight from ``profiles.updates``
by the worker (``consent_only`` messages, applied in the batch they arrive in). The
newer answer wins, by the consent's event time: a view the profile side computed before
an opt-out cannot switch personalization back on, and an answer older than the stored
one changes nothing. A view that does not allow personalization keeps no traits.

>>> from pipeline.profiles.fanout import VisitorMessage
>>> gold = ProfileView(loyalty_tier="gold", consent_ms=10)
>>> opt_out = VisitorMessage("v", ProfileView(personalization_allowed=False, consent_ms=20),
...                          consent_only=True)
>>> kept = settle_view(gold, opt_out)
>>> kept.personalization_allowed, kept.loyalty_tier, kept.consent_ms
(False, None, 20)
>>> settle_view(kept, VisitorMessage("v", gold)).personalization_allowed  # older answer
False
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from pipeline.profiles.view import ProfileView

if TYPE_CHECKING:
    from pipeline.profiles.fanout import VisitorMessage

__all__ = ["settle_view"]


def _older(answer_ms: int | None, than_ms: int | None) -> bool:
    return than_ms is not None and (answer_ms is None or answer_ms < than_ms)


def _with_answer(view: ProfileView, allowed: bool, consent_ms: int | None) -> ProfileView:
    if allowed:
        return replace(view, personalization_allowed=True, consent_ms=consent_ms)
    # Opted out: nothing but what identifies the arm survives (as ProfileState.view does).
    return ProfileView(personalization_allowed=False, identified=view.identified,
                       experiment_unit=view.experiment_unit, consent_ms=consent_ms)


def settle_view(stored: ProfileView | None, message: VisitorMessage) -> ProfileView | None:
    """The view to store for the visitor after ``message`` (None: delete it, erasure).

    >>> from pipeline.profiles.fanout import VisitorMessage
    >>> settle_view(ProfileView(), VisitorMessage("v", None, erase=True)) is None
    True
    >>> grant = VisitorMessage("v", ProfileView(consent_ms=5), consent_only=True)
    >>> settle_view(None, grant)
    ProfileView(personalization_allowed=True, returning=False, loyalty_tier=None, \
past_purchases=0, preferred_category=None, industry=None, purchased_ever=False, \
identified=False, plan=None, experiment_unit=None, consent_ms=5)
    """
    incoming = message.view
    if message.erase or incoming is None:
        return None
    if message.consent_only:
        if stored is None:
            return _with_answer(ProfileView(), incoming.personalization_allowed,
                                incoming.consent_ms)
        if _older(incoming.consent_ms, stored.consent_ms):
            return stored
        return _with_answer(stored, incoming.personalization_allowed, incoming.consent_ms)
    if stored is not None and _older(incoming.consent_ms, stored.consent_ms):
        return _with_answer(incoming, stored.personalization_allowed, stored.consent_ms)
    return incoming
