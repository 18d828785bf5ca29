"""Merge two profiles of the same person (an anonymous one into an identified one).

>>> user = ProfileState(key="u1", user_id="u1", visitor_ids=["v1"], loyalty_tier="gold")
>>> anon = ProfileState(key="v2", visitor_ids=["v2"], industry="retail", sessions=1)
>>> merged = merge_profiles(user, anon)
>>> merged.visitor_ids, merged.loyalty_tier, merged.industry, merged.sessions
(['v1', 'v2'], 'gold', 'retail', 1)
"""

from __future__ import annotations

from pipeline.profiles.options import ProfileOptions
from pipeline.profiles.state import ProfileState

__all__ = ["merge_profiles"]


def _merged_consent(a: bool | None, b: bool | None) -> bool | None:
    if a is None:
        return b
    if b is None:
        return a
    return a and b


def merge_profiles(
    primary: ProfileState, other: ProfileState, options: ProfileOptions | None = None
) -> ProfileState:
    """A new profile: ``primary`` with what ``other`` adds (inputs are not mutated).

    * identity: key and user id of ``primary``; visitor ids united (``other``'s
      key too when it is an anonymous, visitor-keyed profile);
    * traits: ``primary`` wins, ``other`` fills the gaps (free-form traits up to
      ``max_traits``);
    * purchases: the larger count, ``purchased_ever`` if either; sessions added;
    * experiment unit: ``primary``'s, else ``other``'s (the person keeps the arm they were
      first given; see :mod:`pipeline.decide.experiments`);
    * consent: the most restrictive answer wins (a refusal on any device is a
      refusal); when the result does not allow personalization, profile data is
      scrubbed.

    >>> a = ProfileState(key="u1", user_id="u1", consent_personalization=True)
    >>> b = ProfileState(key="v9", consent_personalization=False, loyalty_tier="gold")
    >>> m = merge_profiles(a, b)
    >>> m.consent_personalization, m.loyalty_tier, m.visitor_ids
    (False, None, ['v9'])
    """
    opts = options or ProfileOptions()
    merged = primary.copy()
    extra = [*other.visitor_ids]
    if other.user_id is None:
        extra.append(other.key)
    for visitor_id in extra:
        if visitor_id != merged.user_id:
            merged.add_visitor(visitor_id)
    if merged.experiment_unit is None:
        merged.experiment_unit = other.experiment_unit or (
            other.key if other.user_id is None else None)
    merged.loyalty_tier = merged.loyalty_tier or other.loyalty_tier
    merged.preferred_category = merged.preferred_category or other.preferred_category
    merged.industry = merged.industry or other.industry
    merged.plan = merged.plan or other.plan
    for key, value in other.traits.items():
        if key not in merged.traits and len(merged.traits) < opts.max_traits:
            merged.traits[key] = value
    merged.past_purchases = max(merged.past_purchases, other.past_purchases)
    merged.purchased_ever = merged.purchased_ever or other.purchased_ever
    for order_id in other.recent_order_ids:
        if order_id not in merged.recent_order_ids:
            merged.recent_order_ids.append(order_id)
    merged.recent_order_ids = merged.recent_order_ids[-opts.recent_orders :]
    merged.sessions += other.sessions
    merged.consent_personalization = _merged_consent(
        merged.consent_personalization, other.consent_personalization
    )
    merged.consent_analytics = _merged_consent(merged.consent_analytics, other.consent_analytics)
    times = [t for t in (merged.consent_ms, other.consent_ms) if t is not None]
    merged.consent_ms = max(times) if times else None
    merged.updated_ms = max(merged.updated_ms, other.updated_ms)
    if not merged.allows_personalization(opts):
        merged.scrub()
    return merged
