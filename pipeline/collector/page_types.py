"""Which kind of page a URL is: the ClickEvent ``page.page_type`` vocabulary.

A page type the client declares wins (``properties.page_type`` in Segment,
``page.type`` natively, a ``<meta name="rtp-page-type">`` for the tracker); a few
common synonyms are understood. Otherwise the URL path decides, by the first
matching rule in :data:`PATH_RULES` (path segments, lower case), with ``/`` as
``home`` and ``other`` when nothing matches.

>>> page_type_for("https://shop.example/help/shipping-returns")
'shipping_returns'
>>> page_type_for("https://shop.example/p/headphones-nc700")
'product'
>>> page_type_for("https://shop.example/anything", declared="PDP")
'product'
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

__all__ = ["PAGE_TYPES", "PAGE_TYPE_SYNONYMS", "PATH_RULES", "page_type_for"]

#: ClickEvent.page.page_type values (the schema's documented list).
PAGE_TYPES: tuple[str, ...] = (
    "home", "listing", "search", "product", "pricing", "shipping_returns", "checkout",
    "eligibility", "calculator", "feature", "signup", "other",
)

#: Declared names that mean one of :data:`PAGE_TYPES`.
PAGE_TYPE_SYNONYMS: dict[str, str] = {
    "shipping": "shipping_returns", "returns": "shipping_returns", "delivery": "shipping_returns",
    "pdp": "product", "product_detail": "product", "plp": "listing", "category": "listing",
    "collection": "listing", "cart": "checkout", "basket": "checkout", "landing": "home",
    "search_results": "search", "plans": "pricing", "register": "signup",
}

#: (page type, path-segment words), tried in order; a segment matches when one of its
#: ``-``/``_``/``.``-separated words is listed. Shipping comes before product, so
#: ``/product/x/shipping`` is about shipping.
PATH_RULES: tuple[tuple[str, frozenset[str]], ...] = (
    ("shipping_returns", frozenset({"shipping", "returns", "delivery", "refunds"})),
    ("checkout", frozenset({"cart", "checkout", "basket", "bag"})),
    ("search", frozenset({"search"})),
    ("pricing", frozenset({"pricing", "plans", "prices"})),
    ("signup", frozenset({"signup", "register", "trial", "join"})),
    ("eligibility", frozenset({"eligibility", "eligible"})),
    ("calculator", frozenset({"calculator", "configurator", "calc"})),
    ("feature", frozenset({"features", "feature"})),
)

#: Path segments after which the next segment names a product.
_PRODUCT_SEGMENTS = frozenset({"p", "product", "products", "item", "items", "dp", "hotel"})
_LISTING_SEGMENTS = frozenset({"c", "category", "categories", "collections", "collection",
                               "shop", "catalog", "catalogue", "listing", "products"})
_WORDS = re.compile(r"[-_.]+")


def _segments(url: str) -> tuple[list[str], dict[str, list[str]]]:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return [], {}
    path = parts.path if parts.scheme or parts.netloc or url.startswith("/") else url
    return [s for s in path.lower().split("/") if s], parse_qs(parts.query)


def page_type_for(url: str, declared: str | None = None) -> str:
    """The page type of ``url`` (``declared`` wins when it is known).

    >>> [page_type_for(u) for u in ("https://a.example/", "/cart", "/search?q=nc700",
    ...                             "/collections/audio", "/about-us")]
    ['home', 'checkout', 'search', 'listing', 'other']
    """
    if declared:
        name = declared.strip().lower().replace("-", "_").replace(" ", "_")
        if name in PAGE_TYPES:
            return name
        if name in PAGE_TYPE_SYNONYMS:
            return PAGE_TYPE_SYNONYMS[name]
    segments, query = _segments(url)
    if segments and segments[-1] in {"index.html", "index.htm", "index"}:
        segments = segments[:-1]
    for page_type, words in PATH_RULES:
        for segment in segments:
            if segment in words or any(w in words for w in _WORDS.split(segment)):
                return page_type
    for segment in segments[:-1]:
        if segment in _PRODUCT_SEGMENTS:
            return "product"
    if "q" in query or "query" in query:
        return "search"
    if not segments or segments in (["home"], ["index.html"]):
        return "home"
    if any(s in _LISTING_SEGMENTS for s in segments):
        return "listing"
    return "other"
