"""Data minimisation before anything is produced: URLs without their queries, traits by allow-list.

Query strings and fragments carry what sites put there — search words, e-mail
addresses in a newsletter link, order numbers, tokens — so a page URL keeps its
scheme, host and path and only the query parameters named by the allow-list
(``utm_*`` campaign tags by default); a referrer keeps only its origin (the
traffic source is all rtp uses it for). Both are reduced after the visit context
(traffic source, campaign, page type) was computed from the full URL.

Identify traits pass an allow-list (:data:`ALLOWED_TRAITS` by default), not a
deny-list: a trait nobody listed (``nickname``, ``addr2``, ``birth``) is dropped,
and a listed one is still dropped when its value looks like personal data. Custom event
properties pass an allow-list too (:data:`ALLOWED_PROPERTIES`: the keys rtp's detectors
and demo pages read).

E-mail addresses are replaced in every text field of a record (:func:`scrub_emails`):
in ids (visitor id, session, event, order, product) by the address's keyed token
``e.<hex>`` (the same address always gives the same token, so ids stay distinct and
stable), in free text by ``[email]``. Search text is reduced to a keyed token of the
normalised query and its length (:func:`reduce_search`) unless the collector keeps it
(``CollectorOptions.keep_search_text``): repeats of one search still match (the
search-loop detector needs no more), the words are gone. Fields with a known vocabulary
keep only its words: the time zone (IANA names), the country (two letters), the region (a
code of at most three characters) and the purchase kind (:data:`PURCHASE_KINDS`);
anything else there is dropped (``purchase`` for the kind).

Names in ids and vocabulary fields (:func:`opaque`). Ids (visitor, session, event, order,
product, update), the site's vocabulary (page category, form id, field name and validity
code, CSS click target, custom event name, the values of allowed custom properties and
traits, campaign name) and the path segments and kept ``utm_*`` values of a page URL are
machine words: rtp only needs them to be equal when they are equal (joins,
de-duplication, detectors counting one form or one listing, guardrails naming a category
slug). A value there is kept as sent only when it is a *machine word*
(:func:`is_machine_word`): one word — no whitespace (also percent-encoded in a URL), no
``@``, no control character, which a full name or free text has and an id, a slug or a CSS
selector has not — of ASCII without an apostrophe that holds a digit or in which no run of
letters starts with a capital (``summer_sale``, ``headphones``, ``v-1f3a``, an upper-case
UUID, ``SKU-42``, ``button#buyNow``, ``valueMissing`` pass; ``Alice``, ``Okonkwo``,
``ALICE``, ``O'Brien``, ``s-Okonkwo``, ``josé`` do not). Anything else is replaced by its
keyed token ``t.<hex>`` (same value, same token), unless the site lists it in its vocabulary
(``CollectorOptions.vocabulary``: multi-word or capitalised categories such as ``Home &
Garden`` or ``Audio``; ``rtp collector --config`` adds the categories its compliance zones
name). The industry is shown to the visitor in offers' wording, so a value that is not a
machine word (and not in the vocabulary) is dropped there instead: the catalog's generic
wording is used. A name written in lower case (``alice``) cannot be told from a slug, nor
one beside a digit (``Alice42``) from an id: those pass.

>>> page_url("https://shop.example/p/nc700?utm_source=mail&email=a%40b.example&q=x#top")
'https://shop.example/p/nc700?utm_source=mail'
>>> referrer_origin("https://mail.example/inbox/123?user=ann")
'https://mail.example/'
>>> allowed_traits({"loyalty_tier": "gold", "nickname": "Ann Example", "birth": "1990-01-01"},
...                ALLOWED_TRAITS)
{'loyalty_tier': 'gold'}
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import zoneinfo
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from pipeline.profiles.privacy import FIRST_CLASS_TRAITS, sanitize_traits
from pipeline.profiles.pseudonym import Pseudonyms

__all__ = [
    "ALLOWED_PROPERTIES",
    "ALLOWED_QUERY_PREFIXES",
    "ALLOWED_TRAITS",
    "PURCHASE_KINDS",
    "Minimiser",
    "allowed_traits",
    "is_machine_word",
    "is_word",
    "known_words",
    "minimise",
    "opaque",
    "opaque_url",
    "page_url",
    "reduce_search",
    "referrer_origin",
    "scrub_emails",
    "stored_ids",
]

#: Query parameters kept in page URLs (by prefix).
ALLOWED_QUERY_PREFIXES: tuple[str, ...] = ("utm_",)
#: Identify traits kept by default: the profile's first-class preferences and the plan.
#: ``group_id``: the account a Segment ``group`` call names (a company, not a person).
ALLOWED_TRAITS: frozenset[str] = frozenset(FIRST_CLASS_TRAITS) | {"plan", "group_id"}
#: Custom event properties kept by default: what the detectors read (listing refreshes,
#: calculator changes, rage clicks) and what the demo sites send.
ALLOWED_PROPERTIES: frozenset[str] = frozenset({
    "listing", "listing_id", "sort", "rooms_left", "calculator", "calculator_id", "input",
    "direction", "feature", "plan", "target", "clicks", "x", "y", "product_id", "category",
    "quantity", "value", "currency", "price", "step", "section"})

#: The conversions a purchase event may name (ClickEvent.purchase.kind).
PURCHASE_KINDS: frozenset[str] = frozenset({"purchase", "signup", "application", "booking"})
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_REGION = re.compile(r"[A-Za-z0-9]{1,3}")

#: An e-mail address in text, also percent-encoded (``ann%40example.com`` in a URL).
_EMAIL_IN_TEXT = re.compile(
    r"[A-Za-z0-9._%+'-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_TOKEN_TAG = b"rtp-text-token-v1\x1f"
_FALLBACK_KEY = b"rtp-no-pseudonym-key"
_SEARCH = b"search\x1f"
_TEXT = b"text\x1f"
_EMAIL = b"email\x1f"
#: What makes a value more than one machine word: whitespace, "@", control characters.
_NOT_A_WORD = re.compile(r"[\s@\x00-\x1f\x7f-\x9f]")
_DIGIT = re.compile(r"[0-9]")
#: A run of letters that starts with a capital (``Alice``, ``ALICE``; not ``buyNow``).
_CAPITALISED = re.compile(r"(?<![A-Za-z])[A-Z]")


def _token_under(key: bytes, kind: bytes, text: str) -> str:
    mac = hmac.new(key, _TOKEN_TAG + kind + text.encode("utf-8", "surrogatepass"),
                   hashlib.sha256)
    return mac.hexdigest()[:16]


def _keys(pseudonyms: Pseudonyms | None) -> tuple[bytes, ...]:
    return tuple(k.encode() for k in pseudonyms.keys) if pseudonyms is not None \
        else (_FALLBACK_KEY,)


def _token(pseudonyms: Pseudonyms | None, kind: bytes, text: str) -> str:
    return _token_under(_keys(pseudonyms)[0], kind, text)


def is_word(text: str) -> bool:
    """Whether ``text`` is one word: no whitespace, no ``@``, no control character.

    >>> [is_word(t) for t in ("v-1f3a", "div.card>a#buy", "Home & Garden", "Ann Example")]
    [True, True, False, False]
    """
    return _NOT_A_WORD.search(text) is None


def is_machine_word(text: str) -> bool:
    """Whether ``text`` is kept as sent in an id or vocabulary field: one word
    (:func:`is_word`) of ASCII without an apostrophe that holds a digit or in which no run
    of letters starts with a capital.

    So ids (``v-1f3a``, an upper-case UUID, ``SKU-42``), slugs (``summer_sale``,
    ``headphones``), the tracker's CSS targets (``button#buyNow``: element names are lower
    case) and ValidityState codes (``valueMissing``) pass, and a name written as a name does
    not: capitalised (``Alice``, ``Okonkwo``, ``ALICE``, ``O'Brien``, ``s-Okonkwo``) or not
    ASCII (``josé``, ``Müller``). A name in lower case (``alice``) cannot be told from a
    slug, nor one beside a digit (``Alice42``) from an id.

    >>> [is_machine_word(t) for t in ("summer_sale", "E621E1F8-C36C", "SKU-42", "valueMissing",
    ...                               "button#buyNow", "Alice", "OKONKWO", "s-Okonkwo", "josé",
    ...                               "d'angelo")]
    [True, True, True, True, True, False, False, False, False, False]
    """
    if not text.isascii() or not is_word(text) or "'" in text:
        return False
    return _DIGIT.search(text) is not None or _CAPITALISED.search(text) is None


def _opaque_under(key: bytes, text: str, vocabulary: Collection[str]) -> str:
    if not text or text in vocabulary or is_machine_word(text):
        return text
    return "t." + _token_under(key, _TEXT, text)


def opaque(text: str, pseudonyms: Pseudonyms | None = None,
           vocabulary: Collection[str] = ()) -> str:
    """``text`` as sent when it is a machine word (:func:`is_machine_word`) or in
    ``vocabulary``, else its keyed token.

    The token is keyed like search tokens (the newest pseudonym key): the same value gives
    the same token, so equality (joins, de-duplication, detectors) holds; the words do not.

    >>> opaque("sku-42"), opaque("Home & Garden", vocabulary={"Home & Garden"})
    ('sku-42', 'Home & Garden')
    >>> token = opaque("Ann Example")
    >>> token.startswith("t."), len(token), token == opaque("Ann Example")
    (True, 18, True)
    >>> opaque("Okonkwo")[:2], opaque("Audio", vocabulary={"Audio"})
    ('t.', 'Audio')
    """
    return _opaque_under(_keys(pseudonyms)[0], text, vocabulary)


def opaque_url(url: str, pseudonyms: Pseudonyms | None = None,
               vocabulary: Collection[str] = ()) -> str:
    """``url`` with each path segment and query value that is not a machine word as its token.

    Segments are judged percent-decoded (``%20`` is whitespace); scheme and host are kept.

    >>> opaque_url("https://s.example/p/nc700?utm_campaign=spring")
    'https://s.example/p/nc700?utm_campaign=spring'
    >>> url = opaque_url("https://s.example/u/Ann%20Example/x?utm_term=Ann+Example")
    >>> url.startswith("https://s.example/u/t."), url.endswith("/x?utm_term=" + opaque(
    ...     "Ann Example")), "Ann" in url
    (True, True, False)
    """
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return ""
    segments = [seg if is_machine_word(unquote(seg)) else opaque(unquote(seg), pseudonyms,
                                                                 vocabulary)
                for seg in parts.path.split("/")]
    kept = [(opaque(k, pseudonyms, vocabulary), opaque(v, pseudonyms, vocabulary))
            for k, v in query]
    return urlunsplit((parts.scheme, parts.netloc, "/".join(segments), urlencode(kept),
                       parts.fragment))


def stored_ids(value: str, pseudonyms: Pseudonyms | None = None,
               vocabulary: Collection[str] = ()) -> tuple[str, ...]:
    """Every form an id sent as ``value`` may have on the topics, one per pseudonym key.

    What an erasure must name: an e-mail or a name given as an anonymous id was stored as
    its keyed token, under whichever key was newest at the time (newest key first). A value
    of one word that is not a machine word (``Alice``) comes last as sent too: collectors
    before the machine-word rule kept every one-word value as it was.

    >>> from pipeline.profiles.pseudonym import Pseudonyms
    >>> keys = Pseudonyms(("new-key-0123456789", "old-key-0123456789"))
    >>> stored_ids("v-1", keys)
    ('v-1',)
    >>> new, old = stored_ids("ann@mail.example", keys)
    >>> new == scrub_emails("ann@mail.example", keys, ids=True), old.startswith("e.")
    (True, True)
    >>> [form[:2] for form in stored_ids("Alice", keys)]
    ['t.', 't.', 'Al']
    """
    out = []
    for key in _keys(pseudonyms):
        scrubbed = _scrub_emails_under(key, value, ids=True)
        out.append(_opaque_under(key, scrubbed, vocabulary))
    if value and is_word(value):  # the earlier rule's form (is_word: no e-mail either)
        out.append(value)
    return tuple(dict.fromkeys(out))


def scrub_emails(text: str, pseudonyms: Pseudonyms | None = None, *, ids: bool = False) -> str:
    """``text`` with every e-mail address replaced (``[email]``; in ids, a keyed token).

    >>> scrub_emails("write to Ann.Example@mail.example today")
    'write to [email] today'
    >>> scrub_emails("/u/ann%40mail.example/orders")
    '/u/[email]/orders'
    >>> token = scrub_emails("ann@mail.example", ids=True)
    >>> token.startswith("e."), token == scrub_emails("ANN@mail.example", ids=True)
    (True, True)
    """
    return _scrub_emails_under(_keys(pseudonyms)[0], text, ids=ids)


def _scrub_emails_under(key: bytes, text: str, *, ids: bool) -> str:
    if "@" not in text and "%40" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        if not ids:
            return "[email]"
        return "e." + _token_under(key, _EMAIL, unquote(match.group(0)).lower())

    return _EMAIL_IN_TEXT.sub(replace, text)


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def known_words(context: dict[str, Any]) -> dict[str, Any]:
    """A ClickEvent ``context`` with time zone, country and region kept only when well-formed.

    >>> known_words({"timezone": "Europe/Berlin", "country": "de", "region": "BE"})
    {'timezone': 'Europe/Berlin', 'country': 'DE', 'region': 'BE'}
    >>> known_words({"timezone": "Ann Example", "country": "Ann", "region": "Ann Example"})
    {'timezone': None, 'country': None, 'region': None}
    """
    zone, country, region = (context.get(k) for k in ("timezone", "country", "region"))
    if zone is not None:
        context["timezone"] = zone if zone in _zones() else None
    if country is not None:
        context["country"] = country.upper() if _COUNTRY.fullmatch(country) else None
    if region is not None:
        context["region"] = region.upper() if _REGION.fullmatch(region) else None
    return context


def reduce_search(query: str, pseudonyms: Pseudonyms | None = None) -> str:
    """A search ``query`` reduced to a keyed token of its normalised words and its length.

    Two searches for the same words (any case or spacing) give the same text, so a repeated
    search is still recognised; the words themselves are not kept.

    >>> reduce_search("Ann  Example") == reduce_search(" ann example")
    True
    >>> reduce_search("ann example")[:2], reduce_search("ann example").endswith(":11")
    ('q.', True)
    >>> reduce_search("")
    ''
    """
    words = " ".join(query.lower().split())
    if not words:
        return ""
    return f"q.{_token(pseudonyms, _SEARCH, words)}:{len(words)}"


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


#: Fields whose text is an identifier: an e-mail in them becomes a keyed token, not
#: ``[email]`` (two different ids stay different).
_ID_FIELDS = frozenset({"event_id", "visitor_id", "session_hint", "update_id", "order_id",
                        "product_id", "form_id", "previous_id"})


def _scrub(value: Any, pseudonyms: Pseudonyms | None, field: str = "") -> Any:
    if isinstance(value, str):
        return scrub_emails(value, pseudonyms, ids=field in _ID_FIELDS)
    if isinstance(value, dict):
        for key, item in list(value.items()):
            if key == "user_id":  # pseudonymised whole by the caller
                continue
            value[key] = _scrub(item, pseudonyms, key)
        return value
    if isinstance(value, list):
        return [_scrub(item, pseudonyms, field) for item in value]
    return value


#: ClickEvent fields (by path) that hold one machine word: :func:`opaque` applies.
_WORD_FIELDS: tuple[tuple[str, ...], ...] = (
    ("event_id",), ("visitor_id",), ("session_hint",), ("page", "category"),
    ("page", "product_id"), ("context", "campaign"), ("click", "target"),
    ("cart", "product_id"), ("purchase", "order_id"), ("form", "form_id"),
    ("form", "field"), ("form", "error"), ("custom", "name"))
#: Traits shown to the visitor in offers' wording: dropped, not tokenized, unless one word.
_SHOWN_TRAITS = frozenset({"industry"})


@dataclass(frozen=True)
class Minimiser:
    """What the collector keeps of a record: allow-lists, search text, and the key of tokens.

    >>> m = Minimiser()
    >>> event = {"visitor_id": "v1", "page": {"url": "https://s.example/?email=x",
    ...     "referrer": "https://g.example/q"}, "search": {"query": "Ann Example", "results": 2}}
    >>> out = m.minimise("ClickEvent", event)
    >>> out["page"]["url"], out["page"]["referrer"], out["search"]["query"][:2]
    ('https://s.example/', 'https://g.example/', 'q.')
    >>> out = m.minimise("ClickEvent", {"visitor_id": "Ann Example", "page": {"url": "/"},
    ...     "context": {"industry": "Ann Example", "campaign": "spring_sale"}})
    >>> out["visitor_id"][:2], out["context"]
    ('t.', {'industry': None, 'campaign': 'spring_sale'})
    """

    traits: Collection[str] = ALLOWED_TRAITS
    properties: Collection[str] = ALLOWED_PROPERTIES
    keep_query: tuple[str, ...] = ALLOWED_QUERY_PREFIXES
    keep_search_text: bool = False
    pseudonyms: Pseudonyms | None = None
    #: Values kept as sent in word fields although they are not one word (see :func:`opaque`).
    vocabulary: Collection[str] = frozenset()

    def minimise(self, name: str, record: dict[str, Any]) -> dict[str, Any]:
        """``record`` (a ClickEvent or ProfileUpdate about to be produced), minimised in place.

        >>> Minimiser().minimise("ProfileUpdate", {"visitor_id": "ann@x.example",
        ...     "traits": {"plan": "pro", "addr2": "Main St 1"}})["traits"]
        {'plan': 'pro'}
        """
        if name == "ClickEvent":
            page = record["page"]
            page["url"] = page_url(page["url"], self.keep_query) or page["url"].split("?")[0]
            page["referrer"] = referrer_origin(page.get("referrer"))
            search = record.get("search")
            if search is not None and not self.keep_search_text:
                search["query"] = reduce_search(search["query"], self.pseudonyms)
            if record.get("context") is not None:
                known_words(record["context"])
            purchase = record.get("purchase")
            if purchase is not None and purchase.get("kind") not in PURCHASE_KINDS:
                purchase["kind"] = "purchase"
            custom = record.get("custom")
            if custom is not None:
                custom["properties"] = {k: v for k, v in custom["properties"].items()
                                        if k in self.properties}
        elif name == "ProfileUpdate":
            record["traits"] = allowed_traits(record.get("traits") or {}, self.traits)
        _scrub(record, self.pseudonyms)
        self._words(name, record)
        return record

    def _words(self, name: str, record: dict[str, Any]) -> None:
        """Word fields as :func:`opaque` keeps them (after e-mails became tokens)."""
        def word(text: str) -> str:
            return opaque(text, self.pseudonyms, self.vocabulary)

        def shown(text: str | None) -> str | None:
            return text if text is None or is_machine_word(text) or text in self.vocabulary \
                else None

        if name == "ClickEvent":
            for path in _WORD_FIELDS:
                *parents, leaf = path
                holder: Any = record
                for part in parents:
                    holder = holder.get(part)
                    if holder is None:
                        break
                if isinstance(holder, dict) and isinstance(holder.get(leaf), str):
                    holder[leaf] = word(holder[leaf])
            record["page"]["url"] = opaque_url(record["page"]["url"], self.pseudonyms,
                                               self.vocabulary) or "/"
            context = record.get("context")
            if context is not None and "industry" in context:
                context["industry"] = shown(context["industry"])
            custom = record.get("custom")
            if custom is not None:
                custom["properties"] = {word(k): word(v)
                                        for k, v in custom["properties"].items()}
        elif name == "ProfileUpdate":
            for leaf in ("update_id", "visitor_id"):
                if isinstance(record.get(leaf), str):
                    record[leaf] = word(record[leaf])
            traits: dict[str, str] = {}
            for key, value in (record.get("traits") or {}).items():
                kept = shown(value) if key in _SHOWN_TRAITS else word(value)
                if kept is not None:
                    traits[key] = kept
            record["traits"] = traits


def minimise(name: str, record: dict[str, Any], traits: Collection[str] = ALLOWED_TRAITS,
             keep_query: tuple[str, ...] = ALLOWED_QUERY_PREFIXES) -> dict[str, Any]:
    """``record`` minimised in place with the default :class:`Minimiser` (other allow-lists).

    >>> event = {"page": {"url": "https://s.example/?email=x", "referrer": "https://g.example/q"}}
    >>> minimise("ClickEvent", event)["page"]
    {'url': 'https://s.example/', 'referrer': 'https://g.example/'}
    >>> minimise("ProfileUpdate", {"traits": {"plan": "pro", "addr2": "Main St 1"}})["traits"]
    {'plan': 'pro'}
    """
    return Minimiser(traits=traits, keep_query=keep_query).minimise(name, record)
