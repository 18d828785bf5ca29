"""Apply one ProfileUpdate (identify, traits, consent, erasure) to a profile, purely.

The caller (the profile side's Faust agent) reads the profile stored under
``profile_key(update)``, calls :func:`apply_profile_update`, and carries out the
returned :class:`ProfileEffect`: write ``effect.state`` under ``effect.key`` (or
delete the key when it is ``None``), map each of ``linked_visitor_ids`` to the
user id, delete ``absorbed_keys`` from the profile table, and for an erasure
delete every key in ``erase_keys`` from every table and produce tombstones.

>>> update = {"update_id": "u-1", "kind": "identify", "visitor_id": "v1", "user_id": "u1",
...           "event_time": 1_700_000_000_000, "traits": {}, "consent": None}
>>> effect = apply_profile_update(None, update)
>>> effect.key, effect.linked_visitor_ids, effect.state.visitor_ids
('u1', ('v1',), ['v1'])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from pipeline.profiles.errors import ProfileUpdateError
from pipeline.profiles.merge import merge_profiles
from pipeline.profiles.options import ProfileOptions
from pipeline.profiles.privacy import sanitize_traits
from pipeline.profiles.pseudonym import is_claim
from pipeline.profiles.state import ProfileState

__all__ = ["PROFILE_UPDATE_KINDS", "ProfileEffect", "apply_profile_update", "profile_key"]

#: ProfileUpdate.kind symbols.
#: ``claim`` is an index entry for erasure (:mod:`pipeline.profiles.claims`), never applied
#: to a profile.
PROFILE_UPDATE_KINDS: frozenset[str] = frozenset({"identify", "traits", "consent", "erasure",
                                                  "claim"})


@dataclass(frozen=True, slots=True)
class ProfileEffect:
    """What applying one update means for the tables.

    Attributes
    ----------
    key
        Profile-table key the update targets (user id, else visitor id).
    state
        New profile to write under ``key``; ``None`` means delete ``key`` (erasure).
    linked_visitor_ids
        When the update carries a user id: every visitor id that now maps to it
        (write ``identity[visitor_id] = user_id`` for each; idempotent). Empty otherwise.
    absorbed_keys
        Profile-table keys merged into ``state`` (the anonymous profile passed as
        ``anonymous`` on identify): delete them from the profile table.
    erase_keys
        Erasure only: every visitor id and the user id of the person. Delete each
        from every table (sessions, identity, profiles, ...) and emit tombstones.
    dropped_traits
        Trait keys not stored (personal data, too long, not allowed by consent).
    personalization_allowed
        Whether the person may be personalized after this update.
    ignored_reason
        Why the update changed nothing, if it was ignored (e.g. stale consent).

    >>> ProfileEffect(key="u1", state=None, erase_keys=("u1", "v1")).erase_keys
    ('u1', 'v1')
    """

    key: str
    state: ProfileState | None
    linked_visitor_ids: tuple[str, ...] = ()
    absorbed_keys: tuple[str, ...] = ()
    erase_keys: tuple[str, ...] = ()
    dropped_traits: tuple[str, ...] = ()
    personalization_allowed: bool = True
    ignored_reason: str | None = None


class _Update(NamedTuple):
    kind: str
    visitor_id: str
    user_id: str | None
    event_time: int
    traits: Mapping[str, Any]
    consent: Mapping[str, Any] | None


def _read(update: Mapping[str, Any]) -> _Update:
    if not isinstance(update, Mapping):
        raise ProfileUpdateError(f"ProfileUpdate must be a dict, got {type(update).__name__}")
    kind = update.get("kind")
    if kind not in PROFILE_UPDATE_KINDS:
        raise ProfileUpdateError(
            f"ProfileUpdate.kind must be one of {sorted(PROFILE_UPDATE_KINDS)}, got {kind!r}"
        )
    visitor_id = update.get("visitor_id")
    if not isinstance(visitor_id, str) or not visitor_id:
        raise ProfileUpdateError("ProfileUpdate.visitor_id is missing or empty")
    user_id = update.get("user_id")
    if user_id is not None and (not isinstance(user_id, str) or not user_id):
        raise ProfileUpdateError("ProfileUpdate.user_id must be a non-empty string or null")
    event_time = update.get("event_time")
    if not isinstance(event_time, int) or isinstance(event_time, bool):
        raise ProfileUpdateError(f"ProfileUpdate.event_time must be epoch ms, got {event_time!r}")
    traits = update.get("traits") or {}
    if not isinstance(traits, Mapping):
        raise ProfileUpdateError("ProfileUpdate.traits must be a map of strings")
    consent = update.get("consent")
    if consent is not None and not isinstance(consent, Mapping):
        raise ProfileUpdateError("ProfileUpdate.consent must be a record or null")
    if kind == "identify" and user_id is None:
        raise ProfileUpdateError("ProfileUpdate of kind identify must carry a user_id")
    if kind == "claim":
        raise ProfileUpdateError("a ProfileUpdate of kind claim is a claim index entry, not "
                                 "applied to a profile (pipeline.profiles.claims)")
    if is_claim(user_id):
        # An unverified user id (the collector's device claim): never joins the device to a
        # person. The update is applied to the visitor's own profile, like traits.
        user_id = None
        kind = "traits" if kind == "identify" else kind
    if kind == "consent" and (consent is None or not isinstance(consent.get("personalization"),
                                                                 bool)):
        raise ProfileUpdateError(
            "ProfileUpdate of kind consent must carry a consent record with a boolean "
            "'personalization'"
        )
    return _Update(str(kind), visitor_id, user_id, event_time, traits, consent)


def profile_key(update: Mapping[str, Any]) -> str:
    """The profile-table key an update targets: its user id, else (no user id, or an
    unverified device claim, :func:`~pipeline.profiles.pseudonym.is_claim`) its visitor id.

    >>> profile_key({"visitor_id": "v1", "user_id": None}), profile_key(
    ...     {"visitor_id": "v1", "user_id": "u1"})
    ('v1', 'u1')
    >>> profile_key({"visitor_id": "v1", "user_id": "c." + "0" * 32})
    'v1'
    """
    user_id = update.get("user_id")
    if isinstance(user_id, str) and user_id and not is_claim(user_id):
        return user_id
    visitor_id = update.get("visitor_id")
    if not isinstance(visitor_id, str) or not visitor_id:
        raise ProfileUpdateError("ProfileUpdate.visitor_id is missing or empty")
    return visitor_id


def _apply_traits(state: ProfileState, traits: Mapping[str, Any],
                  options: ProfileOptions) -> tuple[str, ...]:
    clean = sanitize_traits(traits, options)
    dropped = list(clean.dropped)
    for key, raw in clean.kept.items():
        value = raw.strip()
        if key == "past_purchases":
            if value == "":
                state.past_purchases = 0
            elif value.isdigit():
                state.past_purchases = int(value)
            else:
                dropped.append(key)
        elif key in ("loyalty_tier", "preferred_category", "industry", "plan"):
            setattr(state, key, value or None)
        elif value == "":
            state.traits.pop(key, None)
        elif key in state.traits or len(state.traits) < options.max_traits:
            state.traits[key] = value
        else:
            dropped.append(key)
    return tuple(dropped)


def apply_profile_update(
    state: ProfileState | None,
    update: Mapping[str, Any],
    options: ProfileOptions | None = None,
    *,
    anonymous: ProfileState | None = None,
) -> ProfileEffect:
    """Apply one ProfileUpdate record to the profile stored under ``profile_key(update)``.

    Pure: ``state`` and ``anonymous`` are not mutated.

    * A ``user_id`` that is a device claim (an id the collector could not verify,
      :func:`~pipeline.profiles.pseudonym.is_claim`) is not a person: the update applies
      to the visitor's own profile (an ``identify`` as ``traits``) and links nothing.
    * ``identify``: stitch ``visitor_id`` to ``user_id``. Pass the anonymous,
      visitor-keyed profile as ``anonymous`` (if one exists) to merge it in with
      :func:`merge_profiles`; its key is then listed in ``absorbed_keys``.
    * ``traits`` (and the traits an ``identify`` carries): merge sanitized traits
      (personal data dropped, see :mod:`pipeline.profiles.privacy`). An empty value
      unsets a trait. Nothing is stored while personalization is not allowed (opt-out,
      or ``consent_required`` and no consent yet). ``past_purchases`` must be digits.
    * ``consent``: record the answer; a refusal scrubs all profile data except
      identity and consent. A consent update older than the recorded one is ignored.
    * ``erasure``: ``state`` becomes ``None``; ``erase_keys`` lists the user id and
      every visitor id known, to delete in every table and tombstone.

    Any update carrying a user id also records its visitor id (so erasure finds it).

    >>> base = {"update_id": "x", "visitor_id": "v1", "user_id": "u1",
    ...         "event_time": 1_700_000_000_000, "traits": {}, "consent": None}
    >>> e = apply_profile_update(None, {**base, "kind": "traits",
    ...     "traits": {"loyalty_tier": "gold", "email": "a@b.example", "ip": "10.1.2.3"}})
    >>> e.state.loyalty_tier, e.state.traits, sorted(e.dropped_traits)
    ('gold', {}, ['email', 'ip'])
    >>> e2 = apply_profile_update(e.state, {**base, "kind": "erasure"})
    >>> e2.state is None, e2.erase_keys
    (True, ('u1', 'v1'))
    """
    opts = options or ProfileOptions()
    u = _read(update)
    key = u.user_id if u.user_id is not None else u.visitor_id
    if state is not None and state.key != key:
        raise ProfileUpdateError(
            f"profile keyed {state.key!r} was passed for an update that targets {key!r}"
        )

    if u.kind == "erasure":
        keys = {key, u.visitor_id}
        for person in (state, anonymous):
            if person is not None:
                keys.add(person.key)
                keys.update(person.visitor_ids)
                if person.user_id is not None:
                    keys.add(person.user_id)
        return ProfileEffect(
            key=key,
            state=None,
            erase_keys=tuple(sorted(keys)),
            absorbed_keys=(anonymous.key,) if anonymous is not None else (),
            personalization_allowed=False,
        )

    new = state.copy() if state is not None else ProfileState(key=key, user_id=u.user_id)
    absorbed: tuple[str, ...] = ()
    if u.kind == "identify" and anonymous is not None and anonymous.key != key:
        new = merge_profiles(new, anonymous, opts)
        absorbed = (anonymous.key,)
    if u.user_id is not None:
        new.user_id = u.user_id
        new.add_visitor(u.visitor_id)
    if new.experiment_unit is None:
        # First sight of the person: their arm is drawn from this visitor id from now on.
        new.experiment_unit = u.visitor_id
    new.updated_ms = max(new.updated_ms, u.event_time)

    dropped: tuple[str, ...] = ()
    ignored: str | None = None
    if u.kind in ("traits", "identify"):
        if new.allows_personalization(opts):
            dropped = _apply_traits(new, u.traits, opts)
        else:
            dropped = tuple(str(k) for k in u.traits)
            if dropped:
                ignored = "personalization is not allowed for this person: traits not stored"
    elif u.kind == "consent":
        consent = u.consent or {}
        if new.consent_ms is not None and u.event_time < new.consent_ms:
            ignored = (
                f"consent update at {u.event_time} is older than the recorded consent at "
                f"{new.consent_ms}"
            )
        else:
            new.consent_personalization = bool(consent["personalization"])
            analytics = consent.get("analytics", True)
            new.consent_analytics = bool(analytics) if isinstance(analytics, bool) else True
            new.consent_ms = u.event_time
    if not new.allows_personalization(opts):
        new.scrub()

    return ProfileEffect(
        key=key,
        state=new,
        linked_visitor_ids=tuple(new.visitor_ids) if u.user_id is not None else (),
        absorbed_keys=absorbed,
        dropped_traits=dropped,
        personalization_allowed=new.allows_personalization(opts),
        ignored_reason=ignored,
    )
