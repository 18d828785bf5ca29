"""A simulated visitor: persona, latent intent, baseline and the context the web tier sees.

>>> import random
>>> v = draw_visitor(random.Random(1), "sim-v1", "feature_circler")
>>> v.sector, v.intent in ("browsing", "researching", "high_intent"), 0 < v.baseline < 1
('saas', True, True)
>>> v.context()["sector"]
'saas'
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from pipeline.sim.personas import Persona, persona

__all__ = ["VisitorProfile", "draw_visitor", "weighted_choice"]

_TRAFFIC = (("direct", 0.25), ("search", 0.35), ("social", 0.12), ("email", 0.1), ("ads", 0.13),
            ("referral", 0.05))
_REFERRERS = {"search": "https://www.google.com/", "social": "https://t.co/",
              "ads": "https://www.googleadservices.com/", "referral": "https://blog.example/review"}
_CAMPAIGNS = {"email": ("newsletter-weekly", "winback"), "ads": ("spring-sale", "brand-generic")}
_DEVICES = (("desktop", 0.55), ("mobile", 0.38), ("tablet", 0.07))
_GEO = (("DE", "Europe/Berlin", 0.25), ("FR", "Europe/Paris", 0.15), ("GB", "Europe/London", 0.2),
        ("ES", "Europe/Madrid", 0.1), ("PT", "Europe/Lisbon", 0.05),
        ("US", "America/New_York", 0.25))
_INDUSTRIES = (("healthcare", 0.2), ("retail", 0.25), ("fintech", 0.2), ("education", 0.15),
               ("manufacturing", 0.2))


def weighted_choice(rng: random.Random, pairs: tuple[tuple[str, float], ...] | list[
        tuple[str, float]]) -> str:
    """Pick a key of ``(key, weight)`` pairs with probability proportional to its weight.

    >>> weighted_choice(random.Random(0), [("a", 0.0), ("b", 1.0)])
    'b'
    """
    total = sum(w for _, w in pairs)
    x = rng.random() * total
    for key, weight in pairs:
        if x < weight:
            return key
        x -= weight
    return next(key for key, weight in reversed(list(pairs)) if weight > 0)


@dataclass(frozen=True, slots=True)
class VisitorProfile:
    """Everything fixed about one simulated visit, drawn at arrival.

    Attributes
    ----------
    visitor_id
        Anonymous visitor id (ClickEvent.visitor_id).
    persona
        Who they are; fixes the journey and the struggle.
    intent
        Latent intent (one of ``LATENT_INTENTS``), hidden from rtp.
    baseline
        Probability of converting in this session without personalization.
    conversion_draw
        The visitor's uniform draw: they convert iff it falls below their final
        conversion probability (so control visitors convert with ``baseline``).
    traffic_source, campaign, device, country, timezone, industry, returning
        What the web tier reports (``industry`` is zero-party, SaaS only).

    >>> draw_visitor(random.Random(2), "v", "shop_browser").industry is None
    True
    """

    visitor_id: str
    persona: Persona
    intent: str
    baseline: float
    conversion_draw: float
    traffic_source: str
    campaign: str | None
    device: str
    country: str
    timezone: str
    industry: str | None
    returning: bool

    @property
    def sector(self) -> str:
        """The persona's sector.

        >>> draw_visitor(random.Random(0), "v", "hotel_refresher").sector
        'travel'
        """
        return self.persona.sector

    @property
    def landing_referrer(self) -> str | None:
        """Referrer of the first page view, from the traffic source.

        >>> p = "shop_browser"
        >>> all(draw_visitor(random.Random(i), "v", p).landing_referrer in (
        ...     None, "https://www.google.com/", "https://t.co/",
        ...     "https://www.googleadservices.com/", "https://blog.example/review")
        ...     for i in range(20))
        True
        """
        return _REFERRERS.get(self.traffic_source)

    def context(self) -> dict[str, Any]:
        """A fresh ClickEvent.context dict.

        >>> draw_visitor(random.Random(0), "v", "saas_browser").context()["region"] is None
        True
        """
        return {"traffic_source": self.traffic_source, "campaign": self.campaign,
                "device": self.device, "country": self.country, "region": None,
                "timezone": self.timezone, "sector": self.sector, "industry": self.industry}


def draw_visitor(rng: random.Random, visitor_id: str, who: Persona | str,
                 returning_share: float = 0.3) -> VisitorProfile:
    """Draw a visitor of persona ``who`` (a Persona or its name); every draw comes from ``rng``.

    >>> a = draw_visitor(random.Random(5), "v", "mortgage_fiddler")
    >>> a == draw_visitor(random.Random(5), "v", "mortgage_fiddler")
    True
    """
    if isinstance(who, str):
        who = persona(who)
    intent = weighted_choice(rng, who.intent_mix)
    source = weighted_choice(rng, _TRAFFIC)
    campaigns = _CAMPAIGNS.get(source)
    campaign = rng.choice(campaigns) if campaigns else None
    device = weighted_choice(rng, _DEVICES)
    geo = rng.random()
    country, timezone = _GEO[-1][0], _GEO[-1][1]
    for c, tz, w in _GEO:
        if geo < w:
            country, timezone = c, tz
            break
        geo -= w
    industry = None
    if who.sector == "saas" and rng.random() < 0.8:
        industry = weighted_choice(rng, _INDUSTRIES)
    returning = rng.random() < returning_share
    return VisitorProfile(
        visitor_id=visitor_id, persona=who, intent=intent, baseline=who.baseline(intent),
        conversion_draw=rng.random(), traffic_source=source, campaign=campaign, device=device,
        country=country, timezone=timezone, industry=industry, returning=returning)

