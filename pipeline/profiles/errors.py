"""Why a profile update or a stored profile could not be used.

>>> str(ProfileUpdateError("ProfileUpdate of kind identify must carry a user_id"))
'ProfileUpdate of kind identify must carry a user_id'
>>> issubclass(ProfileStateVersionError, ProfileStateFormatError)
True
"""

from __future__ import annotations

__all__ = [
    "ProfileError",
    "ProfileStateFormatError",
    "ProfileStateVersionError",
    "ProfileUpdateError",
]


class ProfileError(ValueError):
    """Base class of every profile error.

    >>> isinstance(ProfileError("x"), ValueError)
    True
    """


class ProfileUpdateError(ProfileError):
    """A ProfileUpdate (or conversion event) that cannot be applied; the message says why.

    >>> ProfileUpdateError("unknown kind 'merge'").args[0]
    "unknown kind 'merge'"
    """


class ProfileStateFormatError(ProfileError):
    """Stored profile bytes that cannot be read back.

    >>> ProfileStateFormatError("not JSON").args[0]
    'not JSON'
    """


class ProfileStateVersionError(ProfileStateFormatError):
    """Stored profile bytes written in a format version this code does not read.

    >>> ProfileStateVersionError("version 9").args[0]
    'version 9'
    """
