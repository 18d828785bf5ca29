"""Who visits: personas of the seed's four sectors, each with its struggle and baseline.

A persona fixes the story a visitor acts out (its journey script has the same
name), the latent-intent mix, and the baseline probability of converting in
the session for each intent, i.e. without any personalization.

>>> p = persona("hesitant_headphones_shopper")
>>> p.sector, p.struggle, p.baseline("high_intent")
('ecommerce', 'delivery_doubt', 0.18)
>>> [p.name for p in personas_of("travel")]
['hotel_refresher', 'travel_browser']
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.sim.errors import InvalidSimulationOptions

__all__ = ["PERSONAS", "PERSONA_NAMES", "Persona", "persona", "personas_of"]


@dataclass(frozen=True, slots=True)
class Persona:
    """A kind of visitor.

    Attributes
    ----------
    name
        Identifier, also the name of its journey script.
    sector
        The site it visits.
    struggle
        Its friction story (one of ``STRUGGLES``) or ``None`` for plain browsers.
    share
        Default weight of the persona among its sector's visitors.
    intent_mix
        ``(intent, weight)`` pairs for the latent intent.
    conversion
        ``(intent, probability)`` pairs: baseline conversion in a session.
    frustration
        Multiplier of the incidental rage/dead click rates.
    description
        One line for reports.

    >>> persona("mortgage_fiddler").frustration
    1.0
    """

    name: str
    sector: str
    struggle: str | None
    share: float
    intent_mix: tuple[tuple[str, float], ...]
    conversion: tuple[tuple[str, float], ...]
    frustration: float
    description: str

    def baseline(self, intent: str) -> float:
        """Probability of converting in the session without personalization.

        >>> persona("travel_browser").baseline("browsing")
        0.01
        """
        return dict(self.conversion)[intent]


_STRUGGLER_INTENTS = (("browsing", 0.2), ("researching", 0.5), ("high_intent", 0.3))
_BROWSER_INTENTS = (("browsing", 0.6), ("researching", 0.3), ("high_intent", 0.1))

PERSONAS: tuple[Persona, ...] = (
    Persona("hesitant_headphones_shopper", "ecommerce", "delivery_doubt", 0.3, _STRUGGLER_INTENTS,
            (("browsing", 0.03), ("researching", 0.08), ("high_intent", 0.18)), 1.2,
            "views noise-cancelling headphones again and again, reads "
            "Shipping & Returns: worried about delivery speed"),
    Persona("comparison_shopper", "ecommerce", "comparison", 0.3, _STRUGGLER_INTENTS,
            (("browsing", 0.02), ("researching", 0.06), ("high_intent", 0.15)), 1.0,
            "pogo-sticks between two similar products of one category"),
    Persona("shop_browser", "ecommerce", None, 0.4, _BROWSER_INTENTS,
            (("browsing", 0.01), ("researching", 0.03), ("high_intent", 0.10)), 0.8,
            "browses categories and products without a struggle"),
    Persona("feature_circler", "saas", "feature_circling", 0.5, _STRUGGLER_INTENTS,
            (("browsing", 0.03), ("researching", 0.07), ("high_intent", 0.15)), 1.0,
            "trial user circling a premium feature page without activating it"),
    Persona("saas_browser", "saas", None, 0.5, _BROWSER_INTENTS,
            (("browsing", 0.01), ("researching", 0.03), ("high_intent", 0.08)), 0.8,
            "reads features, docs and pricing"),
    Persona("hotel_refresher", "travel", "search_refresh", 0.5, _STRUGGLER_INTENTS,
            (("browsing", 0.03), ("researching", 0.08), ("high_intent", 0.20)), 1.0,
            "refreshes hotel results in one neighbourhood again and again"),
    Persona("travel_browser", "travel", None, 0.5, _BROWSER_INTENTS,
            (("browsing", 0.01), ("researching", 0.03), ("high_intent", 0.08)), 0.8,
            "looks at destinations and hotels"),
    Persona("mortgage_fiddler", "finance", "calculator_fiddling", 0.5, _STRUGGLER_INTENTS,
            (("browsing", 0.02), ("researching", 0.06), ("high_intent", 0.14)), 1.0,
            "adjusts the mortgage calculator, then pauses on eligibility"),
    Persona("finance_browser", "finance", None, 0.5, _BROWSER_INTENTS,
            (("browsing", 0.01), ("researching", 0.02), ("high_intent", 0.06)), 0.8,
            "reads about accounts, cards and mortgages"),
)
"""Every persona (names are unique)."""

PERSONA_NAMES: tuple[str, ...] = tuple(p.name for p in PERSONAS)
"""Names of :data:`PERSONAS`, in order."""

_BY_NAME = {p.name: p for p in PERSONAS}

def persona(name: str) -> Persona:
    """The persona called ``name``.

    >>> persona("nobody")
    Traceback (most recent call last):
    ...
    pipeline.sim.errors.InvalidSimulationOptions: unknown persona 'nobody'; known: \
hesitant_headphones_shopper, comparison_shopper, shop_browser, feature_circler, saas_browser, \
hotel_refresher, travel_browser, mortgage_fiddler, finance_browser
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise InvalidSimulationOptions(
            f"unknown persona {name!r}; known: {', '.join(PERSONA_NAMES)}") from None


def personas_of(sector: str) -> tuple[Persona, ...]:
    """The personas visiting ``sector``.

    >>> len(personas_of("ecommerce"))
    3
    """
    return tuple(p for p in PERSONAS if p.sector == sector)
