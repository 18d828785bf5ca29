"""The known response model: how a visitor reacts to each action in each context.

For an action shown in a context (persona's sector, the struggle if it is
already visible, latent intent, baseline) the model gives the probability of a
click, of a dismissal, and a conversion *lift* ``L``: the visitor's conversion
probability becomes ``b + (1 - b) * L`` for ``L >= 0`` and ``b * (1 + L)`` for
``L < 0``, where ``b`` is the baseline. ``no_action`` and unknown action ids
leave everything at baseline (no click, no dismissal, ``L = 0``).

Affinities (click, lift) per sector and *need* (the visitor's struggle once it
is visible, else ``none``: before the struggle shows, a struggler reacts like
a browser). An action absent from the need's table is irrelevant: click 0.02,
dismissal 0.20, lift -0.10 (a mild annoyance). Relevant actions are dismissed
5% of the time, neutral ones (lift 0) 10%; browsing visitors dismiss 5 points
more. Positive lifts are multiplied by the intent (browsing 0.3, researching 1,
high intent 0.8), clicks too (0.6, 1, 1.1); every lift by ``strength``. The
walkthrough video works fully when tailored to the visitor's industry, 0.8 for a
generic one (or for a visitor who stated none), 0.5 for another industry's.

>>> model = ResponseModel()
>>> shopper = ResponseContext("hesitant_headphones_shopper", "ecommerce", "delivery_doubt",
...                           struggle_active=True, intent="researching", baseline=0.08)
>>> model.best_action(shopper)[0]
'free_express_shipping'
>>> r = model.respond("free_express_shipping", shopper)
>>> r.click, round(r.conversion, 2)
(0.4, 0.54)
>>> model.respond("no_action", shopper).conversion == shopper.baseline
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pipeline.sim.contextual import contextual_affinity
from pipeline.sim.options import RewardWeights
from pipeline.sim.vocabulary import ACTION_IDS, ACTION_SECTORS, NO_ACTION, WORLDS

__all__ = ["AFFINITIES", "Response", "ResponseContext", "ResponseModel"]

Affinity = tuple[float, float]
"""(click probability, conversion lift) of an action for one need, before scaling."""

AFFINITIES: Mapping[tuple[str, str], Mapping[str, Affinity]] = MappingProxyType({
    ("ecommerce", "delivery_doubt"): MappingProxyType({
        "free_express_shipping": (0.40, 0.50), "first_time_buyer_discount": (0.20, 0.15),
        "cta_change": (0.08, 0.05), "reorder_grid_by_interest": (0.05, 0.0),
        "hero_by_traffic_source": (0.04, 0.0), "comparison_guide": (0.05, 0.0)}),
    ("ecommerce", "comparison"): MappingProxyType({
        "comparison_guide": (0.35, 0.40), "reorder_grid_by_interest": (0.12, 0.08),
        "first_time_buyer_discount": (0.10, 0.06), "free_express_shipping": (0.08, 0.05),
        "cta_change": (0.05, 0.02), "hero_by_traffic_source": (0.04, 0.0)}),
    ("ecommerce", "none"): MappingProxyType({
        "reorder_grid_by_interest": (0.10, 0.08), "first_time_buyer_discount": (0.08, 0.04),
        "hero_by_traffic_source": (0.06, 0.04), "cta_change": (0.05, 0.02),
        "free_express_shipping": (0.05, 0.0), "comparison_guide": (0.03, 0.0)}),
    ("saas", "feature_circling"): MappingProxyType({
        "walkthrough_video_nudge": (0.35, 0.45), "cta_change": (0.10, 0.08),
        "comparison_guide": (0.05, 0.0), "hero_by_traffic_source": (0.04, 0.0)}),
    ("saas", "none"): MappingProxyType({
        "cta_change": (0.06, 0.04), "hero_by_traffic_source": (0.06, 0.04),
        "walkthrough_video_nudge": (0.05, 0.02), "comparison_guide": (0.05, 0.02)}),
    ("travel", "search_refresh"): MappingProxyType({
        "rooms_left_cue": (0.30, 0.40), "reorder_by_availability": (0.22, 0.25),
        "first_time_buyer_discount": (0.10, 0.06), "comparison_guide": (0.08, 0.04),
        "cta_change": (0.05, 0.02), "hero_by_traffic_source": (0.03, 0.0)}),
    ("travel", "none"): MappingProxyType({
        "hero_by_traffic_source": (0.06, 0.04), "reorder_by_availability": (0.06, 0.03),
        "first_time_buyer_discount": (0.06, 0.03), "cta_change": (0.05, 0.02),
        "rooms_left_cue": (0.04, 0.0), "comparison_guide": (0.04, 0.0)}),
    ("finance", "calculator_fiddling"): MappingProxyType({
        "one_click_eligibility_check": (0.40, 0.50), "cta_change": (0.06, 0.04),
        "hero_by_traffic_source": (0.03, 0.0)}),
    ("finance", "none"): MappingProxyType({
        "one_click_eligibility_check": (0.06, 0.04), "hero_by_traffic_source": (0.05, 0.03),
        "cta_change": (0.05, 0.02)}),
})
"""The response table (see the module docstring for how it is scaled)."""

_IRRELEVANT: Affinity = (0.02, -0.10)
_INTENT_LIFT = {"browsing": 0.3, "researching": 1.0, "high_intent": 0.8}
_INTENT_CLICK = {"browsing": 0.6, "researching": 1.0, "high_intent": 1.1}
_GENERIC_INDUSTRY = frozenset({"", "general", "unknown", "none"})


@dataclass(frozen=True, slots=True)
class ResponseContext:
    """What the response depends on, at the moment an action is shown.

    Attributes
    ----------
    persona, sector
        Who and where.
    struggle
        The persona's struggle (``None`` for browsers).
    struggle_active
        Whether the struggle has already shown in the session.
    intent
        Latent intent.
    baseline
        Conversion probability without personalization.
    industry
        The visitor's stated industry (SaaS), for tailored walkthroughs.
    device, traffic_source
        As the web tier reports them (``ClickEvent.context``): the contextual world's
        responses depend on them (:mod:`pipeline.sim.contextual`).
    drifted
        Whether the contextual world's responses have drifted by now
        (``SimulatorOptions.drift_after_ms``).

    >>> ResponseContext("shop_browser", "ecommerce", None, False, "browsing", 0.01).need
    'none'
    """

    persona: str
    sector: str
    struggle: str | None
    struggle_active: bool
    intent: str
    baseline: float
    industry: str | None = None
    device: str = "desktop"
    traffic_source: str = "direct"
    drifted: bool = False

    @property
    def need(self) -> str:
        """The response table row: the struggle once visible, else ``none``.

        >>> ResponseContext("p", "travel", "search_refresh", True, "researching", 0.1).need
        'search_refresh'
        """
        return self.struggle if self.struggle is not None and self.struggle_active else "none"


@dataclass(frozen=True, slots=True)
class Response:
    """How a visitor reacts to one shown action.

    Attributes
    ----------
    click, dismiss
        Probabilities of clicking and of dismissing (the rest is ignoring).
    lift
        Conversion lift after scaling.
    conversion
        Probability of converting in the session after seeing the action.

    >>> # click 0.1 + conversion 0.2 - 0.5 x dismissal 0.05 (the engine's default weights)
    >>> round(Response(0.1, 0.05, 0.0, 0.2).expected_reward(RewardWeights()), 6)
    0.275
    """

    click: float
    dismiss: float
    lift: float
    conversion: float

    def expected_reward(self, weights: RewardWeights) -> float:
        """Expected reward of the decision under ``weights``.

        >>> round(Response(0.5, 0.2, 0.0, 0.1).expected_reward(RewardWeights(dismissed=-1.0)), 6)
        0.4
        """
        return (weights.clicked * self.click + weights.converted * self.conversion
                + weights.dismissed * self.dismiss)


def _convert(baseline: float, lift: float) -> float:
    if lift >= 0:
        return baseline + (1.0 - baseline) * lift
    return baseline * (1.0 + lift)


class ResponseModel:
    """The simulator's ground truth, also used by the oracle.

    Parameters
    ----------
    strength
        Multiplies every lift (``SimulatorOptions.response_strength``).
    weights
        Reward weights for expected rewards.
    world
        ``"classic"`` (the table above) or ``"contextual"`` (the table, with the
        visitor-dependent affinities of :mod:`pipeline.sim.contextual` in place of it).

    >>> ctx = ResponseContext("mortgage_fiddler", "finance", "calculator_fiddling", True,
    ...                       "researching", 0.06)
    >>> ResponseModel(strength=0.0).respond("one_click_eligibility_check", ctx).conversion
    0.06
    """

    def __init__(self, strength: float = 1.0, weights: RewardWeights | None = None,
                 world: str = "classic") -> None:
        if world not in WORLDS:
            raise ValueError(f"unknown world {world!r}; known: {', '.join(WORLDS)}")
        self.strength = strength
        self.weights = weights or RewardWeights()
        self.world = world

    def respond(self, action_id: str, context: ResponseContext,
                payload: Mapping[str, str] | None = None) -> Response:
        """The reaction to ``action_id`` shown in ``context``.

        ``payload`` is the decision's rendered payload; only the walkthrough's
        ``industry`` matters. Without a payload the best version for this visitor
        is assumed (tailored when they stated an industry, else generic): that is
        what the oracle compares against.

        >>> ctx = ResponseContext("feature_circler", "saas", "feature_circling", True,
        ...                       "researching", 0.07, industry="retail")
        >>> m = ResponseModel()
        >>> [round(m.respond("walkthrough_video_nudge", ctx, {"industry": i}).lift, 3)
        ...  for i in ("retail", "general", "fintech")]
        [0.45, 0.36, 0.225]
        >>> m.respond("made_up_action", ctx).conversion == ctx.baseline
        True
        """
        b = context.baseline
        if action_id == NO_ACTION or action_id not in ACTION_IDS:
            return Response(0.0, 0.0, 0.0, b)
        table = AFFINITIES.get((context.sector, context.need), {})
        affinity = table.get(action_id)
        if self.world == "contextual" and context.sector in ACTION_SECTORS[action_id]:
            affinity = contextual_affinity(action_id, context) or affinity
        if affinity is None or context.sector not in ACTION_SECTORS[action_id]:
            click, lift = _IRRELEVANT
            dismiss = 0.20
        elif affinity[1] < 0:  # the contextual world's annoyances: as irrelevant ones
            click, lift = affinity
            dismiss = 0.20
        else:
            click, lift = affinity
            dismiss = 0.05 if lift > 0 else 0.10
            click = min(1.0, click * _INTENT_CLICK.get(context.intent, 1.0))
            lift *= _INTENT_LIFT.get(context.intent, 1.0)
            if action_id == "walkthrough_video_nudge":
                offered = context.industry if payload is None else payload.get("industry")
                lift *= _industry_factor(offered, context.industry)
        if context.intent == "browsing":
            dismiss += 0.05
        dismiss = min(dismiss, 1.0 - click)
        lift = max(-1.0, min(1.0, lift * self.strength))
        return Response(click, dismiss, lift, _convert(b, lift))

    def expected_reward(self, action_id: str, context: ResponseContext,
                        payload: Mapping[str, str] | None = None) -> float:
        """Expected reward (click and conversion weights) of showing ``action_id``.

        >>> ctx = ResponseContext("shop_browser", "ecommerce", None, False, "browsing", 0.01)
        >>> ResponseModel().expected_reward("no_action", ctx)
        0.01
        """
        return self.respond(action_id, context, payload).expected_reward(self.weights)

    def expected_rewards(self, context: ResponseContext,
                         candidates: Iterable[str] | None = None) -> dict[str, float]:
        """Expected reward of each candidate (default: actions the catalog allows in the sector).

        >>> ctx = ResponseContext("shop_browser", "ecommerce", None, False, "browsing", 0.01)
        >>> sorted(ResponseModel().expected_rewards(ctx, ["no_action", "cta_change"]))
        ['cta_change', 'no_action']
        """
        if candidates is None:
            candidates = [a for a in ACTION_IDS if context.sector in ACTION_SECTORS[a]]
        return {a: self.expected_reward(a, context) for a in dict.fromkeys(candidates)}

    def best_action(self, context: ResponseContext,
                    candidates: Iterable[str] | None = None) -> tuple[str, float]:
        """The oracle's choice: the candidate with the highest expected reward (first on ties).

        >>> ctx = ResponseContext("hotel_refresher", "travel", "search_refresh", True,
        ...                       "high_intent", 0.2)
        >>> ResponseModel().best_action(ctx)[0]
        'rooms_left_cue'
        >>> ResponseModel().best_action(ctx, ["no_action"])
        ('no_action', 0.2)
        """
        rewards = self.expected_rewards(context, candidates)
        if not rewards:
            return NO_ACTION, self.expected_reward(NO_ACTION, context)
        best = max(rewards.values())
        return next(a for a, r in rewards.items() if r == best), best


def _industry_factor(offered: str | None, stated: str | None) -> float:
    if offered is None or offered.strip().lower() in _GENERIC_INDUSTRY:
        return 0.8
    if stated is not None and offered.strip().lower() == stated.lower():
        return 1.0
    return 0.5
