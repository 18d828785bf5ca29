"""Data minimisation before anything is produced: URLs without their queries, traits by allow-list.

Query strings and fragments carry what sites put there — search words, e-mail
addresses in a newsletter link, order numbers, tokens — so a page URL keeps its
scheme, host and path and only the query parameters named by the allow-list
(``utm_*`` campaign tags by default); a referrer keeps only its origin (the
traffic source is all rtp uses it for). Both are reduced after the visit context
(traffic source, campaign, page type) was computed from the full URL.

Identify traits pass an allow-list (:data:`ALLOWED_TRAITS` by default), not a
deny-list: a trait nobody listed (``nickname``, ``addr2``, ``birth``) is dropped,
and a listed one is still dropped when its value looks like personal data.

>>> page_url("https://shop.example/p/nc700?utm_source=mail&email=a%40b.example&q=x#top")
'https://shop.example/p/nc700?utm_source=mail'
>>> referrer_origin("https://mail.example/inbox/123?user=ann")
'https://mail.example/'
>>> allowed_traits({"loyalty_tier": "gold", "nickname": "Ann Example", "birth": "1990-01-01"},
...                ALLOWED_TRAITS)
{'loyalty_tier': 'gold'}
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pipeline.profiles.privacy import FIRST_CLASS_TRAITS, sanitize_traits

__all__ = ["ALLOWED_QUERY_PREFIXES", "ALLOWED_TRAITS", "allowed_traits", "minimise",
           "page_url", "referrer_origin"]

#: Query parameters kept in page URLs (by prefix).
ALLOWED_QUERY_PREFIXES: tuple[str, ...] = ("utm_",)
#: Identify traits kept by default: the profile's first-class preferences and the plan.
#: ``group_id``: the account a Segment ``group`` call names (a company, not a person).
ALLOWED_TRAITS: frozenset[str] = frozenset(FIRST_CLASS_TRAITS) | {"plan", "group_id"}


def page_url(url: str, keep: tuple[str, ...] = ALLOWED_QUERY_PREFIXES) -> str:
    """``url`` without its fragment and without query parameters not starting with ``keep``.

    >>> page_url("/search?q=red+shoes"), page_url("about:blank")
    ('/search', 'about:blank')
    """
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return ""
    kept = [(k, v) for k, v in query if k.startswith(keep)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), ""))


def referrer_origin(url: str | None) -> str | None:
    """Only the scheme and host of a referrer (None when there is none or it has no host).

    >>> referrer_origin("android-app://com.example/path"), referrer_origin(None)
    ('android-app://com.example/', None)
    """
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if not host:
        return None
    return f"{parts.scheme}://{host}/" if parts.scheme else f"//{host}/"


def allowed_traits(traits: Mapping[str, str], allowed: Collection[str]) -> dict[str, str]:
    """The traits named in ``allowed`` whose values do not look like personal data.

    >>> allowed_traits({"plan": "pro", "industry": "ann@b.example"}, {"plan", "industry"})
    {'plan': 'pro'}
    """
    return sanitize_traits({k: v for k, v in traits.items() if k in allowed}).kept


def minimise(name: str, record: dict[str, Any], traits: Collection[str] = ALLOWED_TRAITS,
             keep_query: tuple[str, ...] = ALLOWED_QUERY_PREFIXES) -> dict[str, Any]:
    """``record`` (a ClickEvent or ProfileUpdate about to be produced), minimised in place.

    >>> event = {"page": {"url": "https://s.example/?email=x", "referrer": "https://g.example/q"}}
    >>> minimise("ClickEvent", event)["page"]
    {'url': 'https://s.example/', 'referrer': 'https://g.example/'}
    >>> minimise("ProfileUpdate", {"traits": {"plan": "pro", "addr2": "Main St 1"}})["traits"]
    {'plan': 'pro'}
    """
    if name == "ClickEvent":
        page = record["page"]
        page["url"] = page_url(page["url"], keep_query) or page["url"].split("?")[0]
        page["referrer"] = referrer_origin(page.get("referrer"))
    elif name == "ProfileUpdate":
        record["traits"] = allowed_traits(record.get("traits") or {}, traits)
    return record
