"""Ids and vocabulary fields keep one-word values; anything else becomes a keyed token.

Properties of :func:`~pipeline.collector.minimise.opaque`, :func:`opaque_url` and
:func:`stored_ids`, and of the whole :class:`Minimiser` over every word field of a ClickEvent
and a ProfileUpdate: a value holding whitespace (a full name, free text) is never produced;
a one-word value (an id, a slug, a CSS selector) is produced unchanged; equal values stay
equal and different values stay different (joins, de-duplication and detectors need no
more); the site's vocabulary passes as sent.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline.collector.minimise import (
    Minimiser,
    is_machine_word,
    is_word,
    opaque,
    opaque_url,
    scrub_emails,
    stored_ids,
)
from pipeline.profiles import Pseudonyms

NAMES = Pseudonyms(("new-pseudonym-key-0123", "old-pseudonym-key-0123"))
TOKEN = re.compile(r"t\.[0-9a-f]{16}")

#: Text that is one word (no whitespace, no @): machine words and one-word names.
any_words = st.text(st.characters(codec="utf-8",
                                  exclude_categories=["Cs", "Zs", "Zl", "Zp", "Cc"],
                                  exclude_characters="@\x85\u180e\u200b"),
                    min_size=1, max_size=30).filter(is_word)
#: Text that is one machine word (ids, slugs, CSS selectors as the tracker writes them).
words = any_words.filter(is_machine_word) | st.from_regex(
    r"[a-z0-9][a-z0-9_-]{0,20}|[A-Z][A-Za-z_-]{0,8}[0-9][A-Za-z0-9_-]{0,8}", fullmatch=True)
#: A first name or surname alone, as people write them: capitalised, all capitals, with an
#: apostrophe or a hyphen, or with letters beyond ASCII (any case).
_LOWER = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=1, max_size=12)
names = (st.builds(lambda first, rest: first + rest, st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
                   _LOWER)
         | st.from_regex(r"[A-Z]{2,12}|[A-Z]'[A-Z][a-z]{1,10}|[A-Z][a-z]+-[A-Z][a-z]+|"
                         r"[a-z]{1,4}'[a-z]{2,8}", fullmatch=True)
         | st.builds(lambda a, accent, b: a + accent + b, _LOWER | st.just(""),
                     st.sampled_from("éüøłñçåßžőæ"), _LOWER | st.just(""))
         | st.builds(lambda prefix, first, rest: prefix + first + rest,
                     st.from_regex(r"[a-z0-9_.#>-]{1,6}[_.#>-]", fullmatch=True).filter(
                         lambda p: not any(c.isdigit() for c in p)),
                     st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), _LOWER)
         | st.sampled_from(["Alice", "Okonkwo", "Zoë", "José", "Müller", "O'Brien", "ALICE",
                            "Jean-Luc", "Łukasz", "山田", "s-Okonkwo", "div.Alice"]))
#: Text with whitespace in it: a full name, free text.
phrases = st.builds(lambda a, gap, b: f"{a}{gap}{b}", any_words,
                    st.sampled_from([" ", "  ", "\t", "\u00a0", "\n"]), any_words)
texts = words | names | phrases


@settings(max_examples=400, deadline=None)
@given(names)
def test_a_one_word_name_is_never_a_machine_word(name: str) -> None:
    assert not is_machine_word(name)
    token = opaque(name, NAMES)
    assert TOKEN.fullmatch(token) and name not in token


@settings(max_examples=400, deadline=None)
@given(words)
def test_machine_words_pass_as_sent(word: str) -> None:
    assert is_machine_word(word) and opaque(word, NAMES) == word


@settings(max_examples=300, deadline=None)
@given(any_words)
def test_the_rule_is_exactly_what_the_readme_says(word: str) -> None:
    """README: kept when ASCII without an apostrophe, and it holds a digit or none of its
    runs of letters starts with a capital."""
    runs = re.findall(r"[A-Za-z]+", word)
    expected = word.isascii() and "'" not in word and (
        any(c.isdigit() for c in word) or not any(run[0].isupper() for run in runs))
    assert is_machine_word(word) is expected


@settings(max_examples=300, deadline=None)
@given(texts, texts)
def test_opaque_keeps_words_tokenizes_the_rest_and_keeps_equality(a: str, b: str) -> None:
    out_a, out_b = opaque(a, NAMES), opaque(b, NAMES)
    assert out_a == a if is_machine_word(a) else TOKEN.fullmatch(out_a)
    assert is_machine_word(out_a)
    assert (out_a == out_b) is (a == b)
    assert opaque(out_a, NAMES) == out_a  # idempotent: a token is a word


@settings(max_examples=200, deadline=None)
@given(phrases)
def test_the_vocabulary_passes_as_sent(phrase: str) -> None:
    assert opaque(phrase, NAMES, vocabulary={phrase}) == phrase
    assert opaque(phrase, NAMES, vocabulary={phrase + "x"}) != phrase


@settings(max_examples=200, deadline=None)
@given(st.lists(texts, min_size=1, max_size=4), st.lists(texts, max_size=2))
@example(segments=["0AA"], values=["AA"])
def test_urls_keep_word_segments_and_no_phrase(segments: list[str], values: list[str]) -> None:
    from urllib.parse import quote, urlencode

    path = "/" + "/".join(quote(s, safe="") for s in segments)
    query = urlencode([(f"utm_{i}", v) for i, v in enumerate(values)])
    url = opaque_url(f"https://shop.example{path}?{query}", NAMES)
    parts = urlsplit(url)
    assert parts.netloc == "shop.example"
    kept = [unquote(s) for s in parts.path.split("/")[1:]]
    assert len(kept) == len(segments)
    for sent, out in zip(segments, kept, strict=True):
        assert out == sent if is_machine_word(sent) else out == opaque(sent, NAMES)
    assert all(is_machine_word(unquote(s)) for s in parts.path.split("/"))
    # No phrase is left as a segment or a query value (a kept machine word may contain one
    # as a substring: "0AA" is kept, "AA" alone is not; hypothesis drew exactly that).
    from urllib.parse import parse_qsl

    components = {*kept, *(v for _, v in parse_qsl(parts.query, keep_blank_values=True))}
    for phrase in (t for t in [*segments, *values] if not is_machine_word(t)):
        assert phrase not in components


def _event(value: str) -> dict[str, Any]:
    """A ClickEvent-shaped record with ``value`` in every word field."""
    return {
        "event_id": value, "event_type": "click", "visitor_id": value, "user_id": None,
        "session_hint": value, "event_time": 1,
        "page": {"url": f"https://shop.example/c/{value}/p?utm_campaign={value}",
                 "page_type": "product", "category": value, "product_id": value,
                 "referrer": None},
        "context": {"traffic_source": "direct", "campaign": value, "device": "desktop",
                    "country": None, "region": None, "timezone": None, "sector": "ecommerce",
                    "industry": value},
        "click": {"x": 1, "y": 2, "target": value, "interactive": True},
        "cart": {"product_id": value, "quantity": 1, "value": 1.0, "currency": "EUR"},
        "purchase": {"order_id": value, "value": 1.0, "currency": "EUR", "kind": "purchase"},
        "form": {"form_id": value, "field": value, "error": value},
        "custom": {"name": value, "properties": {"listing": value, "note": value}},
    }


@settings(max_examples=150, deadline=None)
@given(phrases | names.filter(lambda n: n not in json.dumps(_event("x"), ensure_ascii=False)))
def test_no_phrase_in_any_word_field_of_an_event_or_update(phrase: str) -> None:
    event = Minimiser(pseudonyms=NAMES).minimise("ClickEvent", _event(phrase))
    update = Minimiser(pseudonyms=NAMES).minimise("ProfileUpdate", {
        "update_id": phrase, "kind": "traits", "visitor_id": phrase, "user_id": None,
        "event_time": 1, "traits": {"industry": phrase, "plan": phrase, "group_id": phrase}})
    token = opaque(scrub_emails(phrase, NAMES, ids=True), NAMES)
    for record in (event, update):
        assert phrase not in json.dumps(record, ensure_ascii=False)
    assert event["visitor_id"] == event["event_id"] == event["form"]["form_id"] == token
    assert event["click"]["target"] == event["custom"]["name"] == token
    assert event["context"]["industry"] is None  # shown to visitors: dropped, not a token
    assert event["custom"]["properties"] == {"listing": opaque(phrase, NAMES)}
    assert update["traits"] == {"plan": opaque(phrase, NAMES), "group_id": opaque(phrase, NAMES)}
    assert update["visitor_id"] == stored_ids(phrase, NAMES)[0]


@settings(max_examples=150, deadline=None)
@given(words.filter(lambda w: "%" not in w and "/" not in w and "?" not in w
                    and "#" not in w and "&" not in w and "=" not in w))
def test_one_word_values_pass_unchanged(word: str) -> None:
    sent = _event(word)
    out = Minimiser(pseudonyms=NAMES).minimise("ClickEvent", copy.deepcopy(sent))
    for path in (("event_id",), ("visitor_id",), ("page", "category"), ("click", "target"),
                 ("form", "field"), ("custom", "name"), ("context", "industry"),
                 ("purchase", "order_id")):
        a, b = sent, out
        for part in path:
            a, b = a[part], b[part]
        assert b == a
    assert out["custom"]["properties"] == {"listing": word}


def test_a_multi_word_category_in_the_vocabulary_reaches_guardrails_as_sent() -> None:
    minimiser = Minimiser(pseudonyms=NAMES, vocabulary=frozenset({"Home & Garden"}))
    out = minimiser.minimise("ClickEvent", _event("Home & Garden"))
    assert out["page"]["category"] == "Home & Garden"
    assert out["context"]["industry"] == "Home & Garden"


@settings(max_examples=100, deadline=None)
@given(texts)
def test_stored_ids_name_the_collectors_record_under_every_key(sent: str) -> None:
    forms = stored_ids(sent, NAMES)
    for i, key in enumerate(NAMES.keys):
        one = Minimiser(pseudonyms=Pseudonyms((key,))).minimise("ClickEvent", _event(sent))
        assert one["visitor_id"] in forms
        if i == 0:
            assert forms[0] == one["visitor_id"]
    # one form per key; a one-word name also as sent (what the earlier one-word rule kept)
    assert len(forms) == (1 if is_machine_word(sent) else 3 if is_word(sent) else 2)


def test_the_config_files_vocabulary_reaches_the_collector(tmp_path: Path) -> None:
    """``privacy.vocabulary`` in the file given to ``rtp collector --config`` (and
    ``RTP_COLLECTOR_VOCABULARY``) is what the collector keeps as sent."""
    from pipeline.collector.ingest import Ingestor
    from pipeline.commands.collector import collector_options
    from pipeline.serde import Codec

    config = tmp_path / "rtp.yaml"
    config.write_text('privacy:\n  vocabulary: ["Home & Garden"]\n')
    options = collector_options(argparse.Namespace(config=config), {
        "RTP_COLLECTOR_WRITE_KEYS": "wk", "RTP_COLLECTOR_VOCABULARY": "Real Estate"})
    # and the categories the compliance zones name (the default zones here)
    assert options.vocabulary == {"Home & Garden", "Real Estate", "health", "pharmacy",
                                  "medical"}
    ingestor = Ingestor(options, Codec.default(), wall=lambda: 1_800_000_000.0, pseudonyms=NAMES)
    body = {"writeKey": "wk", "visitor": "v1",
            "page": {"url": "https://shop.example/c/x", "category": "Home & Garden"},
            "context": {"industry": "Real Estate"},
            "events": [{"id": "e1", "type": "page_view", "time": 1_800_000_000_000},
                       {"id": "e2", "type": "custom", "time": 1_800_000_000_000,
                        "name": "Ann Example"}]}
    view, custom = (m.record for m in ingestor.native(json.dumps(body).encode(), None).messages)
    assert view["page"]["category"] == "Home & Garden"
    assert view["context"]["industry"] == "Real Estate"
    assert custom["custom"]["name"] == opaque("Ann Example", NAMES)  # not listed: a token


def _strings(value: Any) -> set[str]:
    """Every string in a record, and every path segment and query value of its URLs."""
    if isinstance(value, dict):
        return set().union(*(_strings(v) | _strings(k) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value))
    if not isinstance(value, str):
        return set()
    out = {value}
    if value.startswith(("http://", "https://", "/")):
        parts = urlsplit(value)
        out |= {unquote(seg) for seg in parts.path.split("/")}
        out |= {unquote(p) for kv in parts.query.split("&") for p in kv.split("=")}
    return out


def _demo_records() -> list[tuple[str, dict[str, Any]]]:
    """What the simulator, the four stories and the demo shop's pages send (mapped as the
    collector maps them)."""
    from pipeline.collector.native import map_native
    from pipeline.sim import Simulator, SimulatorOptions
    from pipeline.stories.script import STORIES, native_batch

    at = 1_800_000_000_000
    sim = Simulator(SimulatorOptions(seed=3))
    sim.start(at)
    records = [("ClickEvent", e) for step in range(1, 301)
               for e in sim.next_events(at + step * 1000)]
    for story in STORIES.values():
        for i, step in enumerate(story.steps):
            body = native_batch(step, origin="http://127.0.0.1:8080", visitor="v-1f3a",
                                session="s-1", event_id=f"e{i}", time_ms=at, write_key="k",
                                sector=story.sector)
            records += [(m.name, m.record) for m in map_native(
                body, received_ms=at, sector=story.sector, max_batch=100)]
    shop = {  # shop.js, calculator.js, search.js and rtp.js's own clicks and form events
        "writeKey": "k", "visitor": "3f1c2a4e-9b7d-4c1e-8f2a-1b2c3d4e5f60", "session": "s-x1",
        "page": {"url": "http://h/shop/p/nc700.html", "type": "product", "product": "nc700",
                 "category": "audio"},
        "events": [
            {"id": "a1", "type": "add_to_cart", "time": at, "product": "speaker-s1",
             "quantity": 1, "value": 149},
            {"id": "a2", "type": "custom", "time": at, "name": "calculator_change",
             "props": {"calculator": "mortgage", "input": "amount"}},
            {"id": "a3", "type": "custom", "time": at, "name": "listing_refresh",
             "props": {"listing": "hotel-abbesses", "rooms_left": "4"}},
            {"id": "a4", "type": "click", "time": at, "x": 1, "y": 2,
             "target": "button#add-to-cart", "interactive": True},
            {"id": "a5", "type": "rage_click", "time": at, "x": 1, "y": 2,
             "target": "div.card.hero>a.btn", "clicks": 4},
            {"id": "a6", "type": "form_error", "time": at, "form": "eligibility-tab",
             "field": "amount", "error": "valueMissing"},
            {"id": "a7", "type": "form_submit", "time": at, "form": "return-request"}]}
    records += [(m.name, m.record) for m in map_native(shop, received_ms=at,
                                                       sector="ecommerce", max_batch=100)]
    return records


def test_what_the_simulator_the_stories_and_the_demo_send_passes_as_sent() -> None:
    """Their vocabulary (categories, products, campaigns, custom events and properties, CSS
    targets, form ids and codes, URL paths, utm values) is made of machine words: the rule
    turns none of it into a token (a record minimised as the collector does equals the same
    record minimised with every one of its strings in the vocabulary)."""
    records = _demo_records()
    assert len(records) > 1000 and {n for n, _ in records} >= {"ClickEvent"}
    for name, record in records:
        plain = Minimiser(pseudonyms=NAMES).minimise(name, copy.deepcopy(record))
        listed = Minimiser(pseudonyms=NAMES, vocabulary=frozenset(_strings(record))).minimise(
            name, copy.deepcopy(record))
        assert plain == listed, (name, record)
    capitalised = copy.deepcopy(records[0][1])  # the check can fail: a capitalised category
    capitalised["page"]["category"] = "Audio"
    assert Minimiser(pseudonyms=NAMES).minimise("ClickEvent", copy.deepcopy(capitalised)) != \
        Minimiser(pseudonyms=NAMES, vocabulary=frozenset({"Audio"})).minimise(
            "ClickEvent", copy.deepcopy(capitalised))
