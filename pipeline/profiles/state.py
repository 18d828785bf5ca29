"""Everything kept about one person: identity, first/zero-party traits, consent.

Keyed by ``user_id`` once identified, by ``visitor_id`` before. Serialized as
compact JSON with a format ``version``; bytes of another version are refused.

>>> state = ProfileState(key="u1", user_id="u1", visitor_ids=["v1"], loyalty_tier="gold")
>>> ProfileState.from_bytes(state.to_bytes()) == state
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

from pipeline.profiles.errors import ProfileStateFormatError, ProfileStateVersionError
from pipeline.profiles.options import ProfileOptions
from pipeline.profiles.view import ProfileView

__all__ = ["PROFILE_STATE_VERSION", "ProfileState"]

#: Format version written by :meth:`ProfileState.to_bytes`.
PROFILE_STATE_VERSION = 1


@dataclass(slots=True)
class ProfileState:
    """One person's profile (mutable; the core functions never mutate their inputs).

    Attributes
    ----------
    key
        The table key: the user id, or the visitor id before identification.
    user_id
        Known user id, if identified.
    visitor_ids
        Every visitor (device/cookie) id stitched to this person, for
        cross-device stitching and so that erasure can find all of them.
    loyalty_tier, past_purchases, preferred_category, industry, plan
        First-class traits (zero-party data is first-class; ``industry`` and ``plan``
        also come from the account, Segment's ``group``).
    traits
        Other sanitized traits (no personal data, bounded by ``max_traits``).
    consent_personalization, consent_analytics
        The person's last consent answer, ``None`` when never asked.
    consent_ms
        Event time of that answer (older consent updates are ignored).
    purchased_ever
        At least one conversion.
    recent_order_ids
        Last order ids counted by ``apply_conversion`` (idempotence).
    sessions
        Sessions completed (see ``apply_session_end``).
    last_session_id
        Last session counted (idempotence).
    updated_ms
        Event time of the latest change.
    experiment_unit
        The id the person's experiment arm is drawn from, set once when the profile is
        first created (the visitor id it was created with) and kept through identify,
        alias and merges (see :func:`~pipeline.profiles.merge.merge_profiles`).
    version
        Format version; see :data:`PROFILE_STATE_VERSION`.

    >>> ProfileState(key="v1").allows_personalization(ProfileOptions())
    True
    """

    key: str
    user_id: str | None = None
    visitor_ids: list[str] = field(default_factory=list)
    loyalty_tier: str | None = None
    past_purchases: int = 0
    preferred_category: str | None = None
    industry: str | None = None
    plan: str | None = None
    traits: dict[str, str] = field(default_factory=dict)
    consent_personalization: bool | None = None
    consent_analytics: bool | None = None
    consent_ms: int | None = None
    purchased_ever: bool = False
    recent_order_ids: list[str] = field(default_factory=list)
    sessions: int = 0
    last_session_id: str | None = None
    updated_ms: int = 0
    experiment_unit: str | None = None
    version: int = PROFILE_STATE_VERSION

    def copy(self) -> ProfileState:
        """An independent copy (lists and dicts copied too).

        >>> a = ProfileState(key="v1", visitor_ids=["v1"])
        >>> b = a.copy(); b.visitor_ids.append("v2")
        >>> a.visitor_ids
        ['v1']
        """
        return ProfileState(
            key=self.key,
            user_id=self.user_id,
            visitor_ids=list(self.visitor_ids),
            loyalty_tier=self.loyalty_tier,
            past_purchases=self.past_purchases,
            preferred_category=self.preferred_category,
            industry=self.industry,
            plan=self.plan,
            traits=dict(self.traits),
            consent_personalization=self.consent_personalization,
            consent_analytics=self.consent_analytics,
            consent_ms=self.consent_ms,
            purchased_ever=self.purchased_ever,
            recent_order_ids=list(self.recent_order_ids),
            sessions=self.sessions,
            last_session_id=self.last_session_id,
            updated_ms=self.updated_ms,
            experiment_unit=self.experiment_unit,
            version=self.version,
        )

    def allows_personalization(self, options: ProfileOptions) -> bool:
        """Consent given, or never asked and the site does not require it.

        >>> ProfileState(key="v1").allows_personalization(ProfileOptions(consent_required=True))
        False
        >>> ProfileState(key="v1", consent_personalization=False).allows_personalization(
        ...     ProfileOptions())
        False
        """
        if self.consent_personalization is not None:
            return self.consent_personalization
        return not options.consent_required

    def scrub(self) -> None:
        """Forget everything but identity and consent (opt-out: no profile data).

        >>> s = ProfileState(key="u1", loyalty_tier="gold", past_purchases=3, sessions=2)
        >>> s.scrub(); (s.loyalty_tier, s.past_purchases, s.sessions)
        (None, 0, 0)
        """
        self.loyalty_tier = None
        self.past_purchases = 0
        self.preferred_category = None
        self.industry = None
        self.plan = None
        self.traits = {}
        self.purchased_ever = False
        self.recent_order_ids = []
        self.sessions = 0
        self.last_session_id = None

    def add_visitor(self, visitor_id: str) -> bool:
        """Stitch ``visitor_id`` to this person; ``True`` if it was new.

        >>> s = ProfileState(key="u1")
        >>> s.add_visitor("v1"), s.add_visitor("v1"), s.visitor_ids
        (True, False, ['v1'])
        """
        if visitor_id in self.visitor_ids:
            return False
        self.visitor_ids.append(visitor_id)
        return True

    def view(self, options: ProfileOptions | None = None) -> ProfileView:
        """The read-only, consent-filtered slice for sessions and decisions.

        >>> ProfileState(key="u1", user_id="u1", loyalty_tier="gold").view().loyalty_tier
        'gold'
        >>> ProfileState(key="u1", loyalty_tier="gold",
        ...              consent_personalization=False).view().loyalty_tier is None
        True
        """
        opts = options or ProfileOptions()
        if not self.allows_personalization(opts):
            return ProfileView(personalization_allowed=False, identified=self.user_id is not None,
                               experiment_unit=self.experiment_unit, consent_ms=self.consent_ms)
        return ProfileView(
            personalization_allowed=True,
            returning=(
                self.sessions > 0
                or self.purchased_ever
                or self.past_purchases > 0
                or len(self.visitor_ids) > 1
            ),
            loyalty_tier=self.loyalty_tier,
            past_purchases=self.past_purchases,
            preferred_category=self.preferred_category,
            industry=self.industry,
            plan=self.plan,
            purchased_ever=self.purchased_ever,
            identified=self.user_id is not None,
            experiment_unit=self.experiment_unit,
            consent_ms=self.consent_ms,
        )

    def to_bytes(self) -> bytes:
        """Compact JSON for the profile table.

        >>> ProfileState(key="v1").to_bytes()[:20]
        b'{"version":1,"key":"'
        """
        body: dict[str, Any] = {"version": self.version}
        for f in fields(self):
            if f.name != "version":
                body[f.name] = getattr(self, f.name)
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> ProfileState:
        """Read bytes written by :meth:`to_bytes`; refuse other format versions.

        >>> ProfileState.from_bytes(b'{"version":99}')  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pipeline.profiles.errors.ProfileStateVersionError: profile state format version 99 is ...
        """
        try:
            body = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProfileStateFormatError(f"profile state is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise ProfileStateFormatError("profile state must be a JSON object")
        version = body.get("version")
        if version != PROFILE_STATE_VERSION:
            raise ProfileStateVersionError(
                f"profile state format version {version!r} is not supported (this code reads "
                f"version {PROFILE_STATE_VERSION}); migrate or rebuild the profile table"
            )
        try:
            return cls(**body)
        except TypeError as exc:
            raise ProfileStateFormatError(f"profile state has unexpected fields: {exc}") from exc
