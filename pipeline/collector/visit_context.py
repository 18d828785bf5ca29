"""ClickEvent ``context`` fields from what a browser tells: traffic source, device class.

Nothing here keeps an identifier: the user agent is reduced to desktop, mobile
or tablet, the referrer to a traffic source; IP addresses are never read.

Traffic source, first match wins: a campaign medium (``utm_medium`` or
Segment's ``context.campaign.medium``); an ad click id in the URL (``gclid``,
``fbclid``, ``msclkid``…) -> ``ads``; the referrer's host (search engines,
social networks, webmail); another site -> ``referral``; none or the same
site -> ``direct``.

>>> traffic_source("https://shop.example/?utm_medium=cpc", None)
'ads'
>>> traffic_source("https://shop.example/p/1", "https://www.google.com/")
'search'
>>> device_class("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148")
'mobile'
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

__all__ = ["campaign_of", "device_class", "traffic_source"]

#: utm_medium values (lower case) and the source they mean.
MEDIUMS: dict[str, str] = {
    "cpc": "ads", "ppc": "ads", "paid": "ads", "paidsearch": "ads", "paid_search": "ads",
    "display": "ads", "cpm": "ads", "banner": "ads", "paid_social": "ads", "paidsocial": "ads",
    "email": "email", "e-mail": "email", "newsletter": "email",
    "social": "social", "social-network": "social", "social_network": "social",
    "organic": "search", "seo": "search",
    "referral": "referral", "affiliate": "referral", "partner": "referral",
}

_AD_CLICK_IDS = ("gclid", "gbraid", "wbraid", "fbclid", "msclkid", "ttclid", "dclid", "li_fat_id")
_SEARCH = ("google.", "bing.", "duckduckgo.", "yahoo.", "ecosia.", "baidu.", "yandex.",
           "qwant.", "startpage.", "search.brave.")
_SOCIAL = ("facebook.", "instagram.", "t.co", "twitter.", "x.com", "linkedin.", "lnkd.in",
           "reddit.", "pinterest.", "tiktok.", "youtube.", "threads.", "bsky.", "mastodon.")
_EMAIL = ("mail.", "outlook.", "webmail.")


def _host(url: str | None) -> str:
    if not url:
        return ""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _query(url: str) -> dict[str, list[str]]:
    try:
        return parse_qs(urlsplit(url).query)
    except ValueError:
        return {}


def _matches(host: str, patterns: tuple[str, ...]) -> bool:
    return any(host == p or host.startswith(p) or f".{p}" in f".{host}" for p in patterns)


def traffic_source(url: str, referrer: str | None, medium: str | None = None) -> str:
    """Where the visit came from (see the module docstring).

    >>> traffic_source("https://a.example/x", "https://a.example/"), traffic_source("/", None)
    ('direct', 'direct')
    >>> traffic_source("/", "https://blog.example/post"), traffic_source("/?fbclid=1", None)
    ('referral', 'ads')
    """
    query = _query(url)
    if not medium:
        mediums = query.get("utm_medium")
        medium = mediums[0] if mediums else None
    if medium and medium.strip().lower() in MEDIUMS:
        return MEDIUMS[medium.strip().lower()]
    if any(k in query for k in _AD_CLICK_IDS):
        return "ads"
    ref = _host(referrer)
    if not ref or ref == _host(url):
        return "direct"
    if _matches(ref, _SEARCH):
        return "search"
    if _matches(ref, _SOCIAL):
        return "social"
    if _matches(ref, _EMAIL):
        return "email"
    return "referral"


def campaign_of(url: str) -> str | None:
    """The ``utm_campaign`` of ``url``, if any.

    >>> campaign_of("https://a.example/?utm_campaign=spring"), campaign_of("https://a.example/")
    ('spring', None)
    """
    values = _query(url).get("utm_campaign")
    return values[0][:128] if values else None


def device_class(user_agent: str | None, declared: str | None = None) -> str:
    """desktop, mobile or tablet (``declared`` wins when it is one of those).

    >>> device_class("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)"), device_class(None)
    ('tablet', 'desktop')
    """
    if declared and declared.lower() in {"desktop", "mobile", "tablet"}:
        return declared.lower()
    ua = (user_agent or "").lower()
    if "ipad" in ua or "tablet" in ua or ("android" in ua and "mobile" not in ua):
        return "tablet"
    if "mobi" in ua or "iphone" in ua or "android" in ua:
        return "mobile"
    return "desktop"
