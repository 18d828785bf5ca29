"""The contextual world: responses that depend on who the visitor is, not only on the need.

In the classic world (``SimulatorOptions.world="classic"``) an action's effect depends on
the sector, the visible struggle and the latent intent: the first action the catalog
allows is nearly always the best one, so a static rule is as good as a learner. In the
``"contextual"`` world the same action helps one visitor and annoys another, by things
the engine sees in every event (``ClickEvent.context``: device and traffic source), so a
learner can find the best action for each visitor and no rule over the eligible set can:

- **deal seekers** (arriving from ads, e-mail or social campaigns) convert on a
  first-order discount, more than on free express shipping; anyone else is put off by
  it (it cheapens the brand for full-price buyers): a negative lift;
- the **hero matching the traffic source** helps campaign visitors and annoys the others
  a little (a promotional banner for someone who typed the address);
- on a **phone**, the side-by-side comparison guide and the walkthrough video overlay get
  in the way (a negative lift); there, reordering the grid by interest (shops) and a
  one-tap call to action (SaaS) are what helps;
- in **travel**, the scarcity cue ("only 2 rooms left") works for leisure travellers
  (phone, or from social and ads) and annoys business travellers (a computer, from
  anywhere else), who are helped by seeing available properties first.

With ``SimulatorOptions.drift_after_ms`` the world **drifts** at that time
(``ResponseContext.drifted``): deal seekers have seen the first-order discount too often
and are put off by it like everyone else, and free express shipping is what converts them
now, whatever their need; the rest stays.

Each entry replaces the classic ``(click, lift)`` affinity of an action for that visitor,
before intent scaling; ``None`` keeps the classic one.

>>> from pipeline.sim.response import ResponseContext
>>> shopper = ResponseContext("hesitant_headphones_shopper", "ecommerce", "delivery_doubt",
...                           True, "researching", 0.08, device="desktop",
...                           traffic_source="ads")
>>> contextual_affinity("first_time_buyer_discount", shopper)
(0.3, 0.55)
>>> from dataclasses import replace
>>> contextual_affinity("first_time_buyer_discount", replace(shopper, traffic_source="direct"))
(0.03, -0.25)
>>> contextual_affinity("first_time_buyer_discount", replace(shopper, drifted=True))
(0.03, -0.25)
>>> contextual_affinity("free_express_shipping", replace(shopper, struggle=None, drifted=True))
(0.25, 0.45)
>>> contextual_affinity("one_click_eligibility_check", shopper) is None
True
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.sim.response import ResponseContext

__all__ = ["CONTEXTUAL_RULES", "contextual_affinity", "deal_seeker", "leisure_traveller",
           "small_screen"]

Affinity = tuple[float, float]

#: An affinity that annoys: rarely clicked, often dismissed (``dismiss`` follows the lift).
_PUT_OFF: Affinity = (0.03, -0.25)
_IN_THE_WAY: Affinity = (0.02, -0.15)


def deal_seeker(context: ResponseContext) -> bool:
    """Arrived from a campaign (ads, e-mail, social): price matters most.

    >>> from pipeline.sim.response import ResponseContext
    >>> deal_seeker(ResponseContext("p", "ecommerce", None, False, "browsing", 0.01,
    ...                             traffic_source="email"))
    True
    """
    return context.traffic_source in ("ads", "email", "social")


def small_screen(context: ResponseContext) -> bool:
    """Browsing on a phone.

    >>> from pipeline.sim.response import ResponseContext
    >>> small_screen(ResponseContext("p", "saas", None, False, "browsing", 0.01))
    False
    """
    return context.device == "mobile"


def leisure_traveller(context: ResponseContext) -> bool:
    """A leisure trip: planned on a phone, or found through social media or an ad.

    >>> from pipeline.sim.response import ResponseContext
    >>> leisure_traveller(ResponseContext("p", "travel", None, False, "browsing", 0.01,
    ...                                   device="desktop", traffic_source="email"))
    False
    """
    return small_screen(context) or context.traffic_source in ("social", "ads")


def _discount(context: ResponseContext) -> Affinity | None:
    return (0.30, 0.55) if deal_seeker(context) and not context.drifted else _PUT_OFF


def _express_shipping(context: ResponseContext) -> Affinity | None:
    if deal_seeker(context) and context.drifted:
        return (0.25, 0.45)  # after the drift: what converts deal seekers instead
    # A deal seeker worried about delivery still prefers money off.
    return (0.20, 0.20) if deal_seeker(context) and context.need == "delivery_doubt" else None


def _hero(context: ResponseContext) -> Affinity | None:
    return (0.12, 0.15) if deal_seeker(context) else (0.02, -0.05)


def _comparison(context: ResponseContext) -> Affinity | None:
    return _IN_THE_WAY if small_screen(context) else None


def _grid(context: ResponseContext) -> Affinity | None:
    return (0.25, 0.35) if small_screen(context) and context.need != "delivery_doubt" else None


def _walkthrough(context: ResponseContext) -> Affinity | None:
    return _IN_THE_WAY if small_screen(context) else None


def _cta(context: ResponseContext) -> Affinity | None:
    if small_screen(context) and context.need == "feature_circling":
        return (0.30, 0.40)  # one tap to start the trial beats a video on a phone
    return None


def _scarcity(context: ResponseContext) -> Affinity | None:
    return None if leisure_traveller(context) else _PUT_OFF


def _availability(context: ResponseContext) -> Affinity | None:
    if not leisure_traveller(context) and context.need == "search_refresh":
        return (0.30, 0.45)
    return None


CONTEXTUAL_RULES: MappingProxyType[str, Callable[[ResponseContext], Affinity | None]] = (
    MappingProxyType({
        "first_time_buyer_discount": _discount,
        "free_express_shipping": _express_shipping,
        "hero_by_traffic_source": _hero,
        "comparison_guide": _comparison,
        "reorder_grid_by_interest": _grid,
        "walkthrough_video_nudge": _walkthrough,
        "cta_change": _cta,
        "rooms_left_cue": _scarcity,
        "reorder_by_availability": _availability,
    }))
"""Per action, the visitor-dependent affinity of the contextual world (see module doc)."""


def contextual_affinity(action_id: str, context: ResponseContext) -> Affinity | None:
    """The contextual world's ``(click, lift)`` of ``action_id`` for this visitor, or
    ``None`` to keep the classic affinity."""
    rule = CONTEXTUAL_RULES.get(action_id)
    return None if rule is None else rule(context)
