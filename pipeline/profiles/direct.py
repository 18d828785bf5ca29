"""Consent and erasure taken straight from ``profiles.updates`` to where the visitor lives.

The profile side turns every update into views for each device of the person, but it is
a separate consumer, seconds behind: page views sent in the same moment as an opt-out
would be decided before its view arrives. So the worker reads ``profiles.updates`` too
and applies the two changes that must hold at once — a consent answer and an erasure —
for the update's own visitor id, in the batch they arrive in (the profile side still
reaches the person's other devices).

>>> message = privacy_message({"kind": "consent", "visitor_id": "v1", "event_time": 7,
...                           "consent": {"personalization": False}})
>>> message.visitor_id, message.view.personalization_allowed, message.consent_only
('v1', False, True)
>>> privacy_message({"kind": "erasure", "visitor_id": "v1", "event_time": 7}).erase
True
>>> privacy_message({"kind": "traits", "visitor_id": "v1", "event_time": 7}) is None
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.profiles.errors import ProfileUpdateError
from pipeline.profiles.fanout import VisitorMessage
from pipeline.profiles.view import ProfileView

__all__ = ["privacy_message"]


def privacy_message(update: Mapping[str, Any]) -> VisitorMessage | None:
    """The visitor-side message of a consent or erasure update; None for other kinds.

    A consent message carries only the answer (``consent_only``): the visitor's stored
    traits stay unless the answer is a refusal.

    >>> privacy_message({"kind": "consent", "visitor_id": "v1", "event_time": 7,
    ...                  "consent": None})
    Traceback (most recent call last):
    ...
    pipeline.profiles.errors.ProfileUpdateError: consent.personalization must be true or false
    """
    kind = update.get("kind")
    if kind not in ("consent", "erasure"):
        return None
    visitor_id = update.get("visitor_id")
    if not isinstance(visitor_id, str) or not visitor_id:
        raise ProfileUpdateError("ProfileUpdate.visitor_id is missing or empty")
    if kind == "erasure":
        return VisitorMessage(visitor_id, None, erase=True)
    consent = update.get("consent")
    answer = consent.get("personalization") if isinstance(consent, Mapping) else None
    event_time = update.get("event_time")
    if not isinstance(answer, bool) or not isinstance(event_time, int):
        raise ProfileUpdateError("consent.personalization must be true or false")
    return VisitorMessage(visitor_id, ProfileView(personalization_allowed=answer,
                                                  consent_ms=event_time), consent_only=True)
