"""Identity and privacy, pure: stitching, first/zero-party traits, consent, erasure.

A person's :class:`ProfileState` is keyed by user id (visitor id before
identification). :func:`apply_profile_update` applies identify / traits /
consent / erasure updates and returns a :class:`ProfileEffect` saying which keys
to write, link, delete and tombstone. :meth:`ProfileState.view` gives the
consent-filtered :class:`ProfileView` that sessions and decisions read, and
:func:`may_personalize` answers the first question of every decision.

>>> from pipeline.profiles import ProfileState, may_personalize
>>> may_personalize(ProfileState(key="v1", consent_personalization=False).view())
False
"""

from pipeline.profiles.consent import may_personalize
from pipeline.profiles.conversion import apply_conversion
from pipeline.profiles.direct import privacy_message
from pipeline.profiles.errors import (
    ProfileError,
    ProfileStateFormatError,
    ProfileStateVersionError,
    ProfileUpdateError,
)
from pipeline.profiles.fanout import (
    VisitorMessage,
    VisitorSideChange,
    decode_view,
    decode_visitor_message,
    encode_view,
    encode_visitor_message,
    messages_for_effect,
    views_for,
    visitor_side_change,
)
from pipeline.profiles.merge import merge_profiles
from pipeline.profiles.options import ProfileOptions
from pipeline.profiles.privacy import (
    FIRST_CLASS_TRAITS,
    PERSONAL_DATA_KEY_TOKENS,
    SanitizedTraits,
    is_personal_data_key,
    looks_like_personal_value,
    sanitize_traits,
)
from pipeline.profiles.pseudonym import (
    Pseudonyms,
    device_claim,
    is_claim,
    pseudonyms_for,
    resolve_pseudonyms,
)
from pipeline.profiles.settle import settle_view
from pipeline.profiles.state import PROFILE_STATE_VERSION, ProfileState
from pipeline.profiles.updates import (
    PROFILE_UPDATE_KINDS,
    ProfileEffect,
    apply_profile_update,
    profile_key,
)
from pipeline.profiles.view import ProfileView
from pipeline.profiles.visits import apply_session_end

__all__ = [
    "FIRST_CLASS_TRAITS",
    "PERSONAL_DATA_KEY_TOKENS",
    "PROFILE_STATE_VERSION",
    "PROFILE_UPDATE_KINDS",
    "ProfileEffect",
    "ProfileError",
    "ProfileOptions",
    "ProfileState",
    "ProfileStateFormatError",
    "ProfileStateVersionError",
    "ProfileUpdateError",
    "ProfileView",
    "Pseudonyms",
    "SanitizedTraits",
    "VisitorMessage",
    "VisitorSideChange",
    "apply_conversion",
    "apply_profile_update",
    "apply_session_end",
    "decode_view",
    "decode_visitor_message",
    "device_claim",
    "encode_view",
    "encode_visitor_message",
    "is_claim",
    "is_personal_data_key",
    "looks_like_personal_value",
    "may_personalize",
    "merge_profiles",
    "messages_for_effect",
    "privacy_message",
    "profile_key",
    "pseudonyms_for",
    "resolve_pseudonyms",
    "sanitize_traits",
    "settle_view",
    "views_for",
    "visitor_side_change",
]
