"""From a person's profile to each of their visitor ids: the messages the visitor side applies.

Profiles are keyed by person (user id); sessions by visitor id. After a profile
changes, every device of the person receives the new :class:`ProfileView` (or an
erasure), re-keyed by visitor id so it lands where that visitor's state lives.

>>> from pipeline.profiles.state import ProfileState
>>> state = ProfileState(key="u1", user_id="u1", visitor_ids=["v1", "v2"], loyalty_tier="gold")
>>> [(m.visitor_id, m.view.loyalty_tier) for m in views_for(state)]
[('v1', 'gold'), ('v2', 'gold')]
>>> decode_visitor_message(encode_visitor_message(VisitorMessage("v1", None, erase=True))).erase
True
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from pipeline.profiles.errors import ProfileError
from pipeline.profiles.options import ProfileOptions
from pipeline.profiles.settle import settle_view
from pipeline.profiles.state import ProfileState
from pipeline.profiles.updates import ProfileEffect
from pipeline.profiles.view import ProfileView

__all__ = [
    "VisitorMessage",
    "VisitorSideChange",
    "decode_view",
    "decode_visitor_message",
    "encode_view",
    "encode_visitor_message",
    "messages_for_effect",
    "views_for",
    "visitor_side_change",
]


@dataclass(frozen=True)
class VisitorMessage:
    """A profile view for one visitor id, or the order to erase everything about it."""

    visitor_id: str
    view: ProfileView | None
    erase: bool = False
    #: Only the consent answer of ``view`` counts (taken straight from profiles.updates):
    #: the visitor's stored traits are kept (see :mod:`pipeline.profiles.settle`).
    consent_only: bool = False


@dataclass(frozen=True)
class VisitorSideChange:
    """What a :class:`VisitorMessage` changes where the visitor's state lives."""

    #: The encoded view to store for the visitor; None: delete the stored view.
    view: bytes | None
    #: False: delete the visitor's behavioural state too (erasure, or consent withdrawn).
    keep_behaviour: bool


def visitor_side_change(message: VisitorMessage,
                        stored: ProfileView | None = None) -> VisitorSideChange:
    """The visitor-side change a message asks for, given the view ``stored`` for the visitor.

    >>> visitor_side_change(VisitorMessage("v", None, erase=True))
    VisitorSideChange(view=None, keep_behaviour=False)
    >>> change = visitor_side_change(VisitorMessage("v", ProfileView(loyalty_tier="gold")))
    >>> decode_view(change.view).loyalty_tier, change.keep_behaviour
    ('gold', True)
    >>> opted_out = ProfileView(personalization_allowed=False)
    >>> visitor_side_change(VisitorMessage("v", opted_out)).keep_behaviour
    False
    """
    view = settle_view(stored, message)
    if view is None:
        return VisitorSideChange(view=None, keep_behaviour=False)
    return VisitorSideChange(view=encode_view(view), keep_behaviour=view.personalization_allowed)


def views_for(state: ProfileState, options: ProfileOptions | None = None) -> list[VisitorMessage]:
    """The current view, for every visitor id of the person (the key too if it is one)."""
    view = state.view(options)
    ids = list(dict.fromkeys([*state.visitor_ids, *([] if state.user_id else [state.key])]))
    return [VisitorMessage(vid, view) for vid in ids]


def messages_for_effect(effect: ProfileEffect,
                        options: ProfileOptions | None = None) -> list[VisitorMessage]:
    """What the visitor side must apply after ``effect``."""
    if effect.erase_keys:
        return [VisitorMessage(key, None, erase=True) for key in effect.erase_keys]
    if effect.state is None:
        return []
    return views_for(effect.state, options)


def encode_visitor_message(message: VisitorMessage) -> bytes:
    """Compact JSON for the internal topic (no personal data: ids and coarse traits only)."""
    view = asdict(message.view) if message.view is not None else None
    body: dict[str, object] = {"v": message.visitor_id, "view": view, "erase": message.erase}
    if message.consent_only:
        body["consent_only"] = True
    return json.dumps(body, separators=(",", ":")).encode()


def decode_visitor_message(data: bytes) -> VisitorMessage:
    """Read :func:`encode_visitor_message`'s output; a clear error for anything else."""
    try:
        raw = json.loads(data)
        view = ProfileView(**raw["view"]) if raw["view"] is not None else None
        return VisitorMessage(str(raw["v"]), view, bool(raw["erase"]),
                              bool(raw.get("consent_only", False)))
    except (ValueError, KeyError, TypeError) as exc:
        raise ProfileError(f"not a visitor profile message: {exc}") from None


def encode_view(view: ProfileView) -> bytes:
    """A ProfileView as stored in the visitor-side table."""
    return json.dumps(asdict(view), separators=(",", ":")).encode()


def decode_view(data: bytes) -> ProfileView:
    """Read :func:`encode_view`'s output."""
    try:
        return ProfileView(**json.loads(data))
    except (ValueError, TypeError) as exc:
        raise ProfileError(f"not a stored profile view: {exc}") from None
