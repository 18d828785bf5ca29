"""``POST /v1/privacy/erasure``: an operator's request to erase a person, as a ProfileUpdate.

The body names the person as Segment does: ``{"userId": …}`` and/or ``{"anonymousId": …}``
(a visitor id). The result is one ``erasure`` ProfileUpdate on ``profiles.updates``, keyed
by the user id (else the visitor id) like every profile update, so it reaches:

- the profile side, which deletes the person's profile, tombstones every id it knew for
  them (user id, every visitor id) on the compacted topic and tells each visitor's worker;
- the worker owning the visitor (straight from ``profiles.updates``, re-keyed to the
  visitor's partition when needed), which deletes the visitor's state and view and puts a
  tombstone on ``personalization.actions``, so delivery drops the visitor's decisions.

>>> [out] = erasure_update({"userId": "u-1", "anonymousId": "v-1"}, now_ms=5, update_id="e1")
>>> out.topic, out.key, out.record["kind"], out.record["visitor_id"], out.record["user_id"]
('profiles.updates', b'u-1', 'erasure', 'v-1', 'u-1')
"""

from __future__ import annotations

from collections.abc import Collection
from itertools import zip_longest
from typing import Any

from pipeline.collector.errors import BadPayload
from pipeline.collector.ingest import Outgoing
from pipeline.collector.minimise import stored_ids
from pipeline.collector.records import MAX_ID_CHARS, profile_update, text
from pipeline.profiles.pseudonym import Pseudonyms
from pipeline.serde import Codec
from pipeline.topics import PROFILES

__all__ = ["erasure_update"]


def erasure_update(payload: object, *, now_ms: int, update_id: str,
                   codec: Codec | None = None,
                   pseudonyms: Pseudonyms | None = None,
                   vocabulary: Collection[str] = ()) -> list[Outgoing]:
    """The erasure ProfileUpdates a request body asks for; :class:`BadPayload` (400) when it
    names nobody or is not an object.

    With only a user id, the user id stands in as the visitor id (the profile side finds
    the person's real visitor ids in the profile). Where the collector keys people by
    pseudonym, the user id is erased under every configured key's pseudonym (one update
    each: a profile made before a key rotation is found too). An anonymous id the collector
    stored as a keyed token (an e-mail, or a value that is not one word:
    :func:`~pipeline.collector.minimise.stored_ids`) is erased as the token of every key
    too, so records made before a rotation are reached; the id as sent is never produced.

    >>> erasure_update({}, now_ms=5, update_id="e1")
    Traceback (most recent call last):
    ...
    pipeline.collector.errors.BadPayload: name the person: userId and/or anonymousId
    >>> erasure_update({"userId": "u-1"}, now_ms=5, update_id="e1")[0].record["visitor_id"]
    'u-1'
    >>> names = Pseudonyms(("new-key-0123456789", "old-key-0123456789"))
    >>> [o.key == names.of("u-1").encode() for o in erasure_update(
    ...     {"userId": "u-1"}, now_ms=5, update_id="e1", pseudonyms=names)]
    [True, False]
    >>> [o.record["visitor_id"][:2] for o in erasure_update(
    ...     {"anonymousId": "ann@mail.example"}, now_ms=5, update_id="e1", pseudonyms=names)]
    ['e.', 'e.']
    """
    if not isinstance(payload, dict):
        raise BadPayload(f"the body must be a JSON object (got {type(payload).__name__})")
    user = text(payload, "userId", "body", max_chars=MAX_ID_CHARS) or None
    visitor = text(payload, "anonymousId", "body", max_chars=MAX_ID_CHARS) or None
    if user is None and visitor is None:
        raise BadPayload("name the person: userId and/or anonymousId")
    visitors: tuple[str | None, ...] = (None,)
    if visitor is not None:  # as the collector stored it, under each key
        visitors = stored_ids(visitor, pseudonyms, vocabulary)
    users: tuple[str | None, ...] = (user,)
    if user is not None and pseudonyms is not None:
        users = pseudonyms.every(user)
    codec = codec or Codec.default()
    out = []
    for i, (person, visitor) in enumerate(zip_longest(users, visitors)):
        person = users[0] if person is None else person  # pairs: key i's user, key i's visitor
        visitor = visitors[0] if visitor is None else visitor
        record: dict[str, Any] = profile_update(
            update_id=update_id if i == 0 else f"{update_id}-{i}", kind="erasure",
            visitor_id=visitor or person or "", user_id=person, event_time=now_ms)
        try:
            value = codec.encode("ProfileUpdate", record)
        except ValueError as exc:  # e.g. an id that is not valid text
            raise BadPayload(f"not a valid erasure request: {exc}") from None
        out.append(Outgoing(PROFILES, (person or visitor or "").encode(), value,
                            "ProfileUpdate", record))
    return out
