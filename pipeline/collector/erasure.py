"""``POST /v1/privacy/erasure``: an operator's request to erase a person, as a ProfileUpdate.

The body names the person as Segment does: ``{"userId": …}`` and/or ``{"anonymousId": …}``
(a visitor id). The result is one ``erasure`` ProfileUpdate on ``profiles.updates``, keyed
by the user id (else the visitor id) like every profile update, so it reaches:

- the profile side, which deletes the person's profile, tombstones every id it knew for
  them (user id, every visitor id) on the compacted topic and tells each visitor's worker;
- the worker owning the visitor (straight from ``profiles.updates``, re-keyed to the
  visitor's partition when needed), which deletes the visitor's state and view and puts a
  tombstone on ``personalization.actions``, so delivery drops the visitor's decisions.

>>> out = erasure_update({"userId": "u-1", "anonymousId": "v-1"}, now_ms=5, update_id="e1")
>>> out.topic, out.key, out.record["kind"], out.record["visitor_id"], out.record["user_id"]
('profiles.updates', b'u-1', 'erasure', 'v-1', 'u-1')
"""

from __future__ import annotations

from typing import Any

from pipeline.collector.errors import BadPayload
from pipeline.collector.ingest import Outgoing
from pipeline.collector.records import MAX_ID_CHARS, profile_update, text
from pipeline.serde import Codec
from pipeline.topics import PROFILES

__all__ = ["erasure_update"]


def erasure_update(payload: object, *, now_ms: int, update_id: str,
                   codec: Codec | None = None) -> Outgoing:
    """The erasure ProfileUpdate a request body asks for; :class:`BadPayload` (400) when it
    names nobody or is not an object.

    With only a user id, the user id stands in as the visitor id (the profile side finds
    the person's real visitor ids in the profile).

    >>> erasure_update({}, now_ms=5, update_id="e1")
    Traceback (most recent call last):
    ...
    pipeline.collector.errors.BadPayload: name the person: userId and/or anonymousId
    >>> erasure_update({"userId": "u-1"}, now_ms=5, update_id="e1").record["visitor_id"]
    'u-1'
    """
    if not isinstance(payload, dict):
        raise BadPayload(f"the body must be a JSON object (got {type(payload).__name__})")
    user = text(payload, "userId", "body", max_chars=MAX_ID_CHARS) or None
    visitor = text(payload, "anonymousId", "body", max_chars=MAX_ID_CHARS) or None
    if user is None and visitor is None:
        raise BadPayload("name the person: userId and/or anonymousId")
    record: dict[str, Any] = profile_update(update_id=update_id, kind="erasure",
                                            visitor_id=visitor or user or "", user_id=user,
                                            event_time=now_ms)
    codec = codec or Codec.default()
    try:
        value = codec.encode("ProfileUpdate", record)
    except ValueError as exc:  # e.g. an id that is not valid text
        raise BadPayload(f"not a valid erasure request: {exc}") from None
    key = (user or visitor or "").encode()
    return Outgoing(PROFILES, key, value, "ProfileUpdate", record)
