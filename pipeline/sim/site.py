"""The four simulated sites: their pages, categories and products.

>>> shop = site("ecommerce")
>>> shop.product("nc700").url, shop.product("nc700").page_type
('https://shop.example/p/nc700', 'product')
>>> [p.product_id for p in shop.products_in("audio")][:2]
['nc700', 'qc45']
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote_plus

from pipeline.sim.errors import InvalidSimulationOptions

__all__ = ["Page", "Product", "Site", "site"]


@dataclass(frozen=True, slots=True)
class Page:
    """A page as ClickEvent.page describes it (minus the referrer).

    >>> Page("https://shop.example/", "home").category is None
    True
    """

    url: str
    page_type: str
    category: str | None = None
    product_id: str | None = None


@dataclass(frozen=True, slots=True)
class Product:
    """Something a visitor can view and convert on: a product, feature, hotel or loan.

    >>> site("travel").products[0].category
    'lisbon-alfama'
    """

    product_id: str
    name: str
    category: str
    price: float


@dataclass(frozen=True, slots=True)
class Site:
    """One sector's site: where its pages live and what it sells.

    Attributes
    ----------
    sector
        ``ClickEvent.context.sector``.
    base_url
        Scheme and host.
    product_path
        Path prefix of product pages (``/p/``, ``/features/``, ``/hotel/``...).
    product_page_type
        Page type of product pages (``feature`` on the SaaS site).
    products
        Catalog; ``category`` groups similar products (a neighbourhood for hotels).
    pages
        Named fixed pages: name -> (path, page_type).

    >>> site("saas").product("sso").page_type
    'feature'
    """

    sector: str
    base_url: str
    product_path: str
    product_page_type: str
    products: tuple[Product, ...]
    pages: tuple[tuple[str, str, str], ...]

    @property
    def categories(self) -> tuple[str, ...]:
        """Distinct product categories in catalog order.

        >>> site("finance").categories
        ('mortgages', 'cards', 'savings')
        """
        return tuple(dict.fromkeys(p.category for p in self.products))

    def products_in(self, category: str) -> tuple[Product, ...]:
        """Products of ``category``.

        >>> len(site("ecommerce").products_in("laptops"))
        3
        """
        return tuple(p for p in self.products if p.category == category)

    def find(self, product_id: str) -> Product:
        """The product with ``product_id``.

        >>> site("ecommerce").find("nc700").price
        349.0
        """
        for p in self.products:
            if p.product_id == product_id:
                return p
        raise InvalidSimulationOptions(f"{self.sector} site has no product {product_id!r}")

    def product(self, product_id: str) -> Page:
        """The product page of ``product_id``.

        >>> site("saas").product("sso").url
        'https://app.example/features/sso'
        """
        p = self.find(product_id)
        return Page(f"{self.base_url}{self.product_path}{p.product_id}", self.product_page_type,
                    p.category, p.product_id)

    def page(self, name: str, category: str | None = None) -> Page:
        """A fixed page by name (``home``, ``shipping_returns``, ``calculator``...).

        >>> site("finance").page("eligibility").page_type
        'eligibility'
        """
        for key, path, page_type in self.pages:
            if key == name:
                return Page(f"{self.base_url}{path}", page_type, category)
        raise InvalidSimulationOptions(f"{self.sector} site has no page {name!r}")

    def listing(self, category: str) -> Page:
        """The listing of ``category``.

        >>> site("travel").listing("lisbon-alfama").url
        'https://travel.example/hotels/lisbon/alfama'
        """
        path = "/hotels/" + category.replace("-", "/", 1) if self.sector == "travel" else (
            f"/c/{category}")
        return Page(f"{self.base_url}{path}", "listing", category)

    def search(self, query: str, category: str | None = None) -> Page:
        """The search results page for ``query``.

        >>> site("ecommerce").search("noise cancelling headphones").url
        'https://shop.example/search?q=noise+cancelling+headphones'
        """
        return Page(f"{self.base_url}/search?q={quote_plus(query)}", "search", category)


def _products(rows: list[tuple[str, str, str, float]]) -> tuple[Product, ...]:
    return tuple(Product(pid, name, cat, price) for pid, name, cat, price in rows)


_SITES = {
    "ecommerce": Site("ecommerce", "https://shop.example", "/p/", "product", _products([
        ("nc700", "Noise-cancelling headphones NC700", "audio", 349.0),
        ("qc45", "Quiet headphones QC45", "audio", 329.0),
        ("wh1000", "Wireless headphones WH1000", "audio", 379.0),
        ("buds2", "Earbuds Buds 2", "audio", 199.0),
        ("zen14", "Laptop Zen 14", "laptops", 1099.0),
        ("air13", "Laptop Air 13", "laptops", 1299.0),
        ("xps13", "Laptop XPS 13", "laptops", 1399.0),
        ("alpha7", "Camera Alpha 7", "cameras", 1499.0),
        ("x100", "Camera X100", "cameras", 1299.0),
        ("run5", "Running shoes Run 5", "shoes", 129.0),
        ("trail2", "Trail shoes Trail 2", "shoes", 149.0),
    ]), (("home", "/", "home"), ("shipping_returns", "/help/shipping-returns", "shipping_returns"),
         ("checkout", "/checkout", "checkout"), ("deals", "/deals", "other"))),
    "saas": Site("saas", "https://app.example", "/features/", "feature", _products([
        ("advanced-analytics", "Advanced analytics", "premium", 1188.0),
        ("sso", "Single sign-on", "premium", 1188.0),
        ("automation-workflows", "Automation workflows", "premium", 1188.0),
        ("dashboards", "Dashboards", "core", 588.0),
        ("integrations", "Integrations", "core", 588.0),
    ]), (("home", "/", "home"), ("pricing", "/pricing", "pricing"),
         ("dashboard", "/app/dashboard", "other"), ("docs", "/docs/getting-started", "other"),
         ("blog", "/blog", "other"), ("signup", "/upgrade", "signup"))),
    "travel": Site("travel", "https://travel.example", "/hotel/", "product", _products([
        ("h-alfama-1", "Casa do Largo", "lisbon-alfama", 140.0),
        ("h-alfama-2", "Hotel Miradouro", "lisbon-alfama", 185.0),
        ("h-alfama-3", "Alfama Patio", "lisbon-alfama", 120.0),
        ("h-marais-1", "Hotel des Archives", "paris-le-marais", 240.0),
        ("h-marais-2", "Le Petit Marais", "paris-le-marais", 210.0),
        ("h-gracia-1", "Casa Gracia", "barcelona-gracia", 160.0),
        ("h-gracia-2", "Hotel Verdi", "barcelona-gracia", 150.0),
        ("h-trastevere-1", "Trastevere Rooms", "rome-trastevere", 130.0),
        ("h-trastevere-2", "Hotel Santa Cecilia", "rome-trastevere", 175.0),
    ]), (("home", "/", "home"), ("checkout", "/book", "checkout"),
         ("deals", "/deals", "other"))),
    "finance": Site("finance", "https://bank.example", "/products/", "product", _products(
        [
            ("fixed-5y", "Fixed rate mortgage, 5 years", "mortgages", 1500.0),
            ("fixed-10y", "Fixed rate mortgage, 10 years", "mortgages", 1800.0),
            ("tracker", "Tracker mortgage", "mortgages", 1200.0),
            ("cashback-card", "Cashback credit card", "cards", 300.0),
            ("travel-card", "Travel credit card", "cards", 350.0),
            ("easy-saver", "Easy saver account", "savings", 400.0),
        ]), (("home", "/", "home"), ("calculator", "/mortgages/calculator", "calculator"),
             ("eligibility", "/mortgages/eligibility", "eligibility"),
             ("signup", "/mortgages/apply", "signup"), ("rates", "/rates", "pricing"),
             ("help", "/help", "other"))),
}


def site(sector: str) -> Site:
    """The site of ``sector``.

    >>> site("mars")
    Traceback (most recent call last):
    ...
    pipeline.sim.errors.InvalidSimulationOptions: no simulated site for sector 'mars'
    """
    try:
        return _SITES[sector]
    except KeyError:
        raise InvalidSimulationOptions(f"no simulated site for sector {sector!r}") from None
