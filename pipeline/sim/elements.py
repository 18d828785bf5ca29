"""Page elements a simulated visitor clicks: links, buttons, dead spots, stuck controls.

>>> link_target(Page("https://shop.example/p/nc700", "product", "audio", "nc700"))
'a.product-card[data-id=nc700]'
>>> static_targets("product")[0]
'img.product-hero'
"""

from __future__ import annotations

from types import MappingProxyType

from pipeline.sim.site import Page

__all__ = [
    "ACTION_TARGETS",
    "VIEWPORTS",
    "button_targets",
    "link_target",
    "static_targets",
    "stuck_targets",
]

VIEWPORTS: MappingProxyType[str, tuple[int, int]] = MappingProxyType({
    "desktop": (1440, 900),
    "tablet": (820, 1180),
    "mobile": (390, 844),
})
"""Viewport width and height per device; click coordinates stay inside."""

_STATIC: dict[str, tuple[str, ...]] = {
    "product": ("img.product-hero", "span.price", "div.spec-table", "p.delivery-estimate"),
    "feature": ("img.feature-screenshot", "h1.feature-title", "p.plan-badge"),
    "shipping_returns": ("p.delivery-times", "table.shipping-rates", "h2.returns-policy"),
    "listing": ("div.listing-header", "span.result-count", "img.banner"),
    "search": ("span.result-count", "p.search-hint"),
    "calculator": ("div.rate-chart", "span.monthly-payment", "p.assumptions"),
    "eligibility": ("ul.criteria", "p.eligibility-intro", "span.rate-example"),
    "pricing": ("table.plan-matrix", "span.plan-price"),
    "checkout": ("div.order-summary", "img.payment-logos"),
    "signup": ("div.plan-summary", "p.terms"),
}
_BUTTONS: dict[str, tuple[str, ...]] = {
    "product": ("#add-to-cart", "button.size-option", "a.reviews-link", "button.gallery-next"),
    "feature": ("button.tab-overview", "a.docs-link", "button.tab-pricing"),
    "shipping_returns": ("button.faq-toggle", "a.returns-form"),
    "listing": ("button.filter", "select.sort", "button.map-toggle"),
    "search": ("button.filter", "select.sort"),
    "calculator": ("#calc-amount", "#calc-term", "#calc-rate", "#calc-deposit"),
    "eligibility": ("button.tab-eligibility", "a.criteria-details"),
    "pricing": ("button.plan-toggle", "a.compare-plans"),
    "checkout": ("#pay-now", "input#zip"),
    "signup": ("#submit-application", "input#email"),
}
_STUCK: tuple[str, ...] = ("button.apply-promo", "button.carousel-next", "#delivery-date-picker",
                           "button.load-more")

ACTION_TARGETS: MappingProxyType[str, tuple[int, int]] = MappingProxyType({
    "hero": (720, 220),
    "overlay": (720, 450),
    "grid": (720, 520),
    "cta": (1180, 380),
    "inline": (720, 640),
    "none": (720, 450),
})
"""Where each action slot renders on a desktop page (centre x, y)."""


def static_targets(page_type: str) -> tuple[str, ...]:
    """Non-interactive elements of a page type (clicks on them are dead clicks).

    >>> static_targets("home")
    ('img.hero-image', 'p.tagline', 'div.footer')
    """
    return _STATIC.get(page_type, ("img.hero-image", "p.tagline", "div.footer"))


def button_targets(page_type: str) -> tuple[str, ...]:
    """Interactive elements of a page type that do not navigate.

    >>> button_targets("calculator")[0]
    '#calc-amount'
    """
    return _BUTTONS.get(page_type, ("button.menu", "a.logo"))


def stuck_targets() -> tuple[str, ...]:
    """Interactive controls that sometimes fail to respond (rage-click magnets).

    >>> "button.apply-promo" in stuck_targets()
    True
    """
    return _STUCK


def link_target(destination: Page) -> str:
    """The selector of the link a visitor clicks to reach ``destination``.

    >>> link_target(Page("https://shop.example/c/audio", "listing", "audio"))
    'a.nav-listing[data-id=audio]'
    """
    if destination.product_id:
        return f"a.product-card[data-id={destination.product_id}]"
    if destination.category:
        return f"a.nav-{destination.page_type}[data-id={destination.category}]"
    return f"a.nav-{destination.page_type}"
