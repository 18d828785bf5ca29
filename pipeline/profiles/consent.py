"""The one question every decision asks first: may this person be personalized?

>>> may_personalize(ProfileView(personalization_allowed=False))
False
"""

from __future__ import annotations

from pipeline.profiles.options import ProfileOptions
from pipeline.profiles.view import ProfileView

__all__ = ["may_personalize"]


def may_personalize(
    profile_view: ProfileView | None, options: ProfileOptions | None = None
) -> bool:
    """Whether personalization is allowed for this person.

    ``None`` (no profile known) falls back to the site's policy: allowed unless
    ``options.consent_required``.

    >>> may_personalize(None), may_personalize(None, ProfileOptions(consent_required=True))
    (True, False)
    >>> may_personalize(ProfileView())
    True
    """
    if profile_view is None:
        return not (options or ProfileOptions()).consent_required
    return profile_view.personalization_allowed
