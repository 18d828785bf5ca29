"""A conversion in the clickstream updates the person's purchase history.

>>> event = {"event_id": "e1", "event_type": "purchase", "visitor_id": "v1", "user_id": None,
...          "event_time": 1_700_000_000_000,
...          "purchase": {"order_id": "o1", "value": 20.0, "currency": "EUR", "kind": "purchase"}}
>>> state = apply_conversion(None, event)
>>> state.purchased_ever, state.past_purchases
(True, 1)
>>> apply_conversion(state, event).past_purchases  # redelivered: counted once
1
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.profiles.errors import ProfileUpdateError
from pipeline.profiles.options import ProfileOptions
from pipeline.profiles.pseudonym import is_claim
from pipeline.profiles.state import ProfileState

__all__ = ["apply_conversion"]


def apply_conversion(
    state: ProfileState | None,
    event: Mapping[str, Any],
    options: ProfileOptions | None = None,
) -> ProfileState | None:
    """Count a purchase ClickEvent: ``purchased_ever`` and ``past_purchases + 1``.

    Returns the profile to write back (a new object when something changed), or
    ``state`` itself when nothing changed: not a purchase, already counted (same
    order id, or event id when there is no purchase record), or personalization
    not allowed (no purchase history is kept for opted-out people). With no
    profile yet, one is created under the event's user id, else its visitor id,
    unless consent is required and not given, in which case ``None`` is returned.

    >>> apply_conversion(None, {"event_type": "click", "visitor_id": "v1"}) is None
    True
    """
    opts = options or ProfileOptions()
    if event.get("event_type") != "purchase":
        return state
    visitor_id = event.get("visitor_id")
    if not isinstance(visitor_id, str) or not visitor_id:
        raise ProfileUpdateError("purchase ClickEvent.visitor_id is missing or empty")
    user_id = event.get("user_id")
    purchase = event.get("purchase")
    order_id = purchase.get("order_id") if isinstance(purchase, Mapping) else None
    if not isinstance(order_id, str) or not order_id:
        order_id = str(event.get("event_id") or "")
    if state is None:
        verified = isinstance(user_id, str) and user_id and not is_claim(user_id)
        key = user_id if verified and isinstance(user_id, str) else visitor_id
        fresh = ProfileState(key=key, user_id=key if key != visitor_id else None)
        if not fresh.allows_personalization(opts):
            return None
        if fresh.user_id is not None:
            fresh.add_visitor(visitor_id)
        state = fresh
    elif not state.allows_personalization(opts) or (
        order_id and order_id in state.recent_order_ids
    ):
        return state
    new = state.copy()
    if new.experiment_unit is None:
        new.experiment_unit = visitor_id  # first sight of the person (see ProfileState)
    new.purchased_ever = True
    new.past_purchases += 1
    if order_id:
        new.recent_order_ids = [*new.recent_order_ids, order_id][-opts.recent_orders :]
    event_time = event.get("event_time")
    if isinstance(event_time, int):
        new.updated_ms = max(new.updated_ms, event_time)
    return new
