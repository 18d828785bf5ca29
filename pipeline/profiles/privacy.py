"""The personal-data deny-list: traits that must never be stored.

Profiles keep first- and zero-party *preferences* (loyalty tier, preferred
category, industry...), never identifiers. A trait is dropped when

* its key, split into lower-case tokens at ``_ - . space`` and camelCase
  boundaries, contains a token of :data:`PERSONAL_DATA_KEY_TOKENS` (``email``,
  ``phone``, ``ip``, ``name``, ``address``, ...), or the whole key contains
  ``email``, ``phone`` or ``password`` (``workEmail``, ``homephone``) — token
  matching keeps ``zip_code`` and ``membership`` apart from ``ip``; it is
  deliberately conservative: ``company_name`` is dropped too; or
* its value looks like an e-mail address, an IPv4/IPv6 address or an
  international phone number, whatever the key says.

The four first-class trait keys (:data:`FIRST_CLASS_TRAITS`) are never treated
as personal data by key (their values are still checked).

>>> sanitize_traits({"loyalty_tier": "gold", "email": "a@b.example", "ip": "10.0.0.1",
...                  "note": "a@b.example", "zip_code": "1011"}).kept
{'loyalty_tier': 'gold', 'zip_code': '1011'}
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.profiles.options import ProfileOptions

__all__ = [
    "FIRST_CLASS_TRAITS",
    "PERSONAL_DATA_KEY_TOKENS",
    "SanitizedTraits",
    "is_personal_data_key",
    "looks_like_personal_value",
    "sanitize_traits",
]

#: Trait keys with a typed field in the profile (zero-party data is first-class).
FIRST_CLASS_TRAITS: frozenset[str] = frozenset(
    {"loyalty_tier", "past_purchases", "preferred_category", "industry"}
)

#: Key tokens that mark a trait as personal data (see the module docstring).
PERSONAL_DATA_KEY_TOKENS: frozenset[str] = frozenset(
    {
        # contact
        "email", "mail", "emailaddress", "phone", "telephone", "tel", "mobile", "fax",
        # network identifiers
        "ip", "ipv4", "ipv6", "ipaddress", "mac",
        # names
        "name", "firstname", "lastname", "fullname", "surname", "username", "givenname",
        "familyname",
        # postal address
        "address", "street", "addr", "postcode", "postal", "city",
        # government / financial identifiers and secrets
        "ssn", "passport", "iban", "card", "creditcard", "password", "dob", "birthday",
        "birthdate",
    }
)

_SUBSTRINGS = ("email", "phone", "password")
_TOKEN_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+\d[\d\s().-]{6,}")


def _tokens(key: str) -> list[str]:
    return [t for t in _TOKEN_SPLIT.split(_CAMEL.sub("_", key).lower()) if t]


def is_personal_data_key(key: str, options: ProfileOptions | None = None) -> bool:
    """Whether a trait ``key`` names personal data (and so must be dropped).

    >>> [is_personal_data_key(k) for k in ("email", "workEmail", "ip_address", "zip", "tier")]
    [True, True, True, False, False]
    >>> custom = ProfileOptions(denied_trait_keys=frozenset({"shoe_size"}))
    >>> is_personal_data_key("shoe_size", custom)
    True
    """
    if key in FIRST_CLASS_TRAITS:
        return False
    if options is not None and key in options.denied_trait_keys:
        return True
    lowered = key.lower()
    if any(s in lowered for s in _SUBSTRINGS):
        return True
    return any(t in PERSONAL_DATA_KEY_TOKENS for t in _tokens(key))


def looks_like_personal_value(value: str) -> bool:
    """Whether a trait value looks like an e-mail, an IP address or a phone number.

    >>> [looks_like_personal_value(v) for v in ("x@y.example", "2001:db8::1", "+31 20 123 4567")]
    [True, True, True]
    >>> looks_like_personal_value("gold")
    False
    """
    text = value.strip()
    if _EMAIL.fullmatch(text) or _PHONE.fullmatch(text):
        return True
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class SanitizedTraits:
    """Traits split into those that may be stored and the keys that were dropped.

    >>> SanitizedTraits(kept={"industry": "retail"}, dropped=("email",)).dropped
    ('email',)
    """

    kept: dict[str, str]
    dropped: tuple[str, ...]


def sanitize_traits(
    traits: Mapping[str, str], options: ProfileOptions | None = None
) -> SanitizedTraits:
    """Drop personal data and oversized entries from ``traits`` (never logs values).

    >>> sanitize_traits({"phone": "+31 20 123 4567", "industry": "retail"}).dropped
    ('phone',)
    """
    opts = options or ProfileOptions()
    kept: dict[str, str] = {}
    dropped: list[str] = []
    for key, value in traits.items():
        if (
            not isinstance(key, str)
            or not isinstance(value, str)
            or not key
            or len(key) > opts.max_trait_chars
            or len(value) > opts.max_trait_chars
            or is_personal_data_key(key, opts)
            or looks_like_personal_value(value)
        ):
            dropped.append(str(key))
            continue
        kept[key] = value
    return SanitizedTraits(kept=kept, dropped=tuple(dropped))
