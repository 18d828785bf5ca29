"""Page types and the dwell buckets the features report.

>>> dwell_bucket("pricing"), dwell_bucket("home"), dwell_bucket("nonsense")
('pricing', 'other', 'other')
"""

from __future__ import annotations

__all__ = ["DWELL_BUCKETS", "PAGE_TYPES", "dwell_bucket", "dwell_index", "normalize_page_type"]

#: ClickEvent.page.page_type values known to the contract.
PAGE_TYPES: tuple[str, ...] = (
    "home", "listing", "search", "product", "pricing", "shipping_returns", "checkout",
    "eligibility", "calculator", "feature", "signup", "other",
)

#: Page types with their own ``dwell_<bucket>_s`` feature; the rest go to ``other``.
DWELL_BUCKETS: tuple[str, ...] = (
    "product", "pricing", "shipping_returns", "checkout", "eligibility", "feature",
    "calculator", "other",
)

_KNOWN = frozenset(PAGE_TYPES)
_BUCKET_INDEX = {name: i for i, name in enumerate(DWELL_BUCKETS)}


def normalize_page_type(page_type: str | None) -> str:
    """A known page type, or ``other``.

    >>> normalize_page_type("checkout"), normalize_page_type(None)
    ('checkout', 'other')
    """
    return page_type if page_type in _KNOWN else "other"


def dwell_bucket(page_type: str | None) -> str:
    """The dwell bucket a page type's time is attributed to.

    >>> dwell_bucket("shipping_returns")
    'shipping_returns'
    """
    return page_type if page_type in _BUCKET_INDEX else "other"


def dwell_index(page_type: str | None) -> int:
    """Position of :func:`dwell_bucket` in :data:`DWELL_BUCKETS`.

    >>> dwell_index("other") == len(DWELL_BUCKETS) - 1
    True
    """
    return _BUCKET_INDEX.get(page_type or "other", len(DWELL_BUCKETS) - 1)
